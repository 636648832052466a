"""The call queue of an actor's host (``raylike._dask.worker.actor_calls.CallQueue``), without a
cluster:
per-caller order, gaps, top-level refs, death and restarts."""
from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Coroutine
from typing import Any

import pytest

from raylike._api.actor_spec import ActorCall, ActorMeta
from raylike._api.serialization import dumps, loads
from raylike._dask.worker.actor_calls import CallQueue
from raylike.exceptions import ActorDiedError, RayActorError

META = ActorMeta(actor_id="a1", class_name="Thing", methods={})


def on_loop(test: Callable[..., Coroutine[Any, Any, None]]) -> Callable[..., None]:
    """Run an ``async def`` test on a fresh event loop (no pytest plugin needed)."""
    @functools.wraps(test)
    def run(*args: Any, **kwargs: Any) -> None:
        asyncio.run(asyncio.wait_for(test(*args, **kwargs), 30))
    return run


class FakeLink:
    """Records what the queue sends and answers each call with its sequence number."""

    def __init__(self, queue: CallQueue, answer: bool = True) -> None:
        self.queue = queue
        self.sent: list[tuple[str, int]] = []
        self.cancels: list[int] = []
        self.answer = answer

    def send_cancel(self, call_id: int, recursive: bool = True) -> None:
        self.cancels.append(call_id)

    def send_call(self, call_id: int, entry: Any) -> None:
        self.sent.append((entry.call.caller, entry.call.seq))
        if self.answer:
            values = entry.values or []
            self.queue.loop.call_soon(self.queue.on_result, call_id, "ok",
                                      dumps((entry.call.seq, values)))

    def send_calls(self, calls: list[tuple[int, Any]]) -> None:
        for call_id, entry in calls:  # the calls of one turn, in order
            self.send_call(call_id, entry)


def _call(seq: int, caller: str = "c1", deps: list[str] | None = None,
          retries: int = 0) -> ActorCall:
    return ActorCall(key=f"k{seq}", name="Thing.f", actor_id="a1", method="f", caller=caller,
                     seq=seq, args=b"", dep_keys=deps or [], max_task_retries=retries)


async def _no_deps(keys: list[str]) -> list[Any]:
    raise AssertionError("no refs expected")


def _queue(resolve: Any = _no_deps) -> CallQueue:
    return CallQueue(asyncio.get_running_loop(), META, resolve)


@on_loop
async def test_calls_run_in_sequence_order_whatever_the_arrival_order() -> None:
    queue = _queue()
    link = FakeLink(queue)
    queue.alive(link)
    order = [3, 0, 4, 1, 2]
    results = await asyncio.gather(*(queue.submit(_call(s)) for s in order))
    assert [s for _, s in link.sent] == [0, 1, 2, 3, 4]
    assert [loads(p)[0] for _, p in results] == order


@on_loop
async def test_callers_do_not_wait_for_each_other() -> None:
    queue = _queue()
    link = FakeLink(queue)
    queue.alive(link)
    waiting = asyncio.ensure_future(queue.submit(_call(1, "slow")))  # seq 0 never comes
    assert loads((await queue.submit(_call(0, "fast")))[1])[0] == 0
    assert not waiting.done()
    waiting.cancel()


@on_loop
async def test_a_missing_call_is_skipped_after_the_gap_timeout(monkeypatch: Any) -> None:
    monkeypatch.setenv("RAYLIKE_ACTOR_GAP_TIMEOUT", "0.05")
    queue = _queue()
    link = FakeLink(queue)
    queue.alive(link)
    results = await asyncio.wait_for(
        asyncio.gather(queue.submit(_call(2)), queue.submit(_call(0))), 5)
    assert [s for _, s in link.sent] == [0, 2]
    assert [loads(p)[0] for _, p in results] == [2, 0]
    # the missing call, arriving late, still runs
    assert loads((await queue.submit(_call(1)))[1])[0] == 1


@on_loop
async def test_later_calls_wait_for_the_refs_of_an_earlier_one() -> None:
    release = asyncio.Event()

    async def resolve(keys: list[str]) -> list[Any]:
        await release.wait()
        return [f"value-of-{k}" for k in keys]

    queue = _queue(resolve)
    link = FakeLink(queue)
    queue.alive(link)
    first = asyncio.ensure_future(queue.submit(_call(0, deps=["r"])))
    second = asyncio.ensure_future(queue.submit(_call(1)))
    await asyncio.sleep(0.05)
    assert link.sent == []  # 1 waits for 0, whose ref is not ready
    release.set()
    assert loads((await first)[1]) == (0, ["value-of-r"])
    assert loads((await second)[1])[0] == 1
    assert [s for _, s in link.sent] == [0, 1]


@on_loop
async def test_a_failed_ref_fails_its_call_only() -> None:
    async def resolve(keys: list[str]) -> list[Any]:
        raise ValueError("upstream failed")

    queue = _queue(resolve)
    link = FakeLink(queue)
    queue.alive(link)
    status, payload = await queue.submit(_call(0, deps=["bad"]))
    assert status == "err" and isinstance(loads(payload), ValueError)
    assert loads((await queue.submit(_call(1)))[1])[0] == 1
    assert [s for _, s in link.sent] == [1]


@on_loop
async def test_calls_wait_while_the_actor_starts() -> None:
    queue = _queue()
    pending = [asyncio.ensure_future(queue.submit(_call(s))) for s in range(3)]
    await asyncio.sleep(0.01)
    link = FakeLink(queue)
    queue.alive(link)
    assert [loads((await p)[1])[0] for p in pending] == [0, 1, 2]


@on_loop
async def test_death_fails_running_waiting_and_later_calls() -> None:
    queue = _queue()
    link = FakeLink(queue, answer=False)
    queue.alive(link)
    running = asyncio.ensure_future(queue.submit(_call(0)))
    waiting = asyncio.ensure_future(queue.submit(_call(2)))
    await asyncio.sleep(0.01)
    queue.die(dumps(ActorDiedError(error_msg="gone")))
    for fut in (running, waiting):
        status, payload = await fut
        assert status == "err" and isinstance(loads(payload), ActorDiedError)
    status, payload = await queue.submit(_call(3))
    assert status == "err" and isinstance(loads(payload), ActorDiedError)


@pytest.mark.parametrize("retries, expect_retry", [(0, False), (1, True), (-1, True)])
@on_loop
async def test_a_crash_retries_running_calls_only_as_allowed(retries: int,
                                                            expect_retry: bool) -> None:
    queue = _queue()
    dead_link = FakeLink(queue, answer=False)
    queue.alive(dead_link)
    running = asyncio.ensure_future(queue.submit(_call(0, retries=retries)))
    await asyncio.sleep(0.01)
    queue.lost(RayActorError("restarting"))
    new_link = FakeLink(queue)
    queue.alive(new_link)
    status, payload = await running
    if expect_retry:
        assert status == "ok" and new_link.sent == [("c1", 0)]
    else:
        assert status == "err" and isinstance(loads(payload), RayActorError)


@on_loop
async def test_a_replacement_host_adopts_each_callers_sequence() -> None:
    queue = _queue()
    queue.adopt = True  # the actor's first worker died: callers are far past seq 0
    link = FakeLink(queue)
    queue.alive(link)
    assert loads((await queue.submit(_call(41)))[1])[0] == 41
    assert loads((await queue.submit(_call(42)))[1])[0] == 42


@on_loop
async def test_the_process_gets_no_more_calls_than_it_runs_and_cancelled_ones_never() -> None:
    cancelled = {"k1"}
    queue = CallQueue(asyncio.get_running_loop(), META, _no_deps,
                      cancelled=lambda key: key in cancelled, window=1, prefetch=0)
    link = FakeLink(queue, answer=False)
    queue.alive(link)
    calls = [asyncio.ensure_future(queue.submit(_call(s))) for s in range(3)]
    await asyncio.sleep(0.01)
    assert link.sent == [("c1", 0)]  # 1 and 2 wait in the queue, not in the process
    queue.on_result(0, "ok", dumps("zero"))
    await asyncio.sleep(0.01)
    assert link.sent == [("c1", 0), ("c1", 2)]  # 1 was cancelled while it waited
    status, payload = await calls[1]
    assert status == "err" and type(loads(payload)).__name__ == "TaskCancelledError"
    queue.on_result(1, "ok", dumps("two"))
    assert [loads((await c)[1]) for c in (calls[0], calls[2])] == ["zero", "two"]


@on_loop
async def test_calls_prefetched_by_the_process_can_still_be_cancelled() -> None:
    queue = CallQueue(asyncio.get_running_loop(), META, _no_deps, window=1, prefetch=1)
    link = FakeLink(queue, answer=False)
    queue.alive(link)
    calls = [asyncio.ensure_future(queue.submit(_call(s))) for s in range(3)]
    await asyncio.sleep(0.01)
    assert link.sent == [("c1", 0), ("c1", 1)]  # one running, one held ahead by the process
    assert queue.cancel("k1")[0] and link.cancels == [1]
    assert not queue.cancel("no-such-key")[0]
    queue.on_result(1, "cancelled", None)  # the process dropped it before it started
    status, payload = await calls[1]
    assert status == "err" and type(loads(payload)).__name__ == "TaskCancelledError"
    queue.on_result(0, "ok", dumps("zero"))
    await asyncio.sleep(0.01)
    assert link.sent[-1] == ("c1", 2)


@on_loop
async def test_a_call_cancelled_in_the_queue_ends_at_once() -> None:
    queue = CallQueue(asyncio.get_running_loop(), META, _no_deps, window=1, prefetch=0)
    link = FakeLink(queue, answer=False)
    queue.alive(link)
    calls = [asyncio.ensure_future(queue.submit(_call(s))) for s in range(3)]
    await asyncio.sleep(0.01)
    assert queue.cancel("k1")[0] and link.cancels == []  # never sent: no message to the process
    status, payload = await asyncio.wait_for(calls[1], 5)  # before call 0 has ended
    assert status == "err" and type(loads(payload)).__name__ == "TaskCancelledError"
    queue.on_result(0, "ok", dumps("zero"))
    await asyncio.sleep(0.01)
    assert link.sent == [("c1", 0), ("c1", 2)]


def _grouped(seq: int, group: str) -> ActorCall:
    call = _call(seq)
    call.concurrency_group = group
    return call


@on_loop
async def test_a_full_concurrency_group_does_not_hold_back_the_others() -> None:
    queue = CallQueue(asyncio.get_running_loop(), META, _no_deps, window=1, prefetch=0,
                      groups={"io": 1, "compute": 2})
    link = FakeLink(queue, answer=False)
    queue.alive(link)
    groups = ["io", "io", "io", "", "compute", "", "compute", "compute"]
    calls = [asyncio.ensure_future(queue.submit(_grouped(s, g))) for s, g in enumerate(groups)]
    await asyncio.sleep(0.01)
    # io: 1 at a time; the default group: 1; compute: 2
    assert sorted(seq for _, seq in link.sent) == [0, 3, 4, 6]
    queue.on_result(0, "ok", dumps("io done"))  # io's next call may go
    queue.on_result(1, "ok", dumps("default done"))  # and the default group's
    await asyncio.sleep(0.01)
    assert sorted(seq for _, seq in link.sent) == [0, 1, 3, 4, 5, 6]
    assert [loads((await c)[1]) for c in (calls[0], calls[3])] == ["io done", "default done"]
