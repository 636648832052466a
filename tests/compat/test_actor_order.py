"""Actor task execution order and concurrency, as Ray's "actor task execution order" and async
actor pages state them:

* a synchronous single-threaded actor runs the calls of one caller in submission order, even
  when an earlier call's argument is ready later than a later call's;
* threaded and async actors do not wait for an earlier call's arguments: a later call whose
  arguments are ready runs first;
* an async actor runs other calls while one awaits (an event, a sleep, a ref), so a call asking
  how many calls are waiting answers at once.
"""
from __future__ import annotations

import asyncio
import os
import time

import pytest
from compat_helpers import poll

pytestmark = pytest.mark.timeout(120)


def _make_gate(ray):
    """A task whose result is ready only once ``path`` exists: an argument that is late."""

    @ray.remote(num_cpus=0)
    def gate(path, value):
        deadline = time.time() + 60
        while not os.path.exists(path) and time.time() < deadline:
            time.sleep(0.01)
        return value

    return gate


def test_async_actor_answers_while_calls_await_an_event(ray_shared):
    ray = ray_shared

    @ray.remote
    class Waiters:
        def __init__(self):
            self.event = asyncio.Event()
            self.waiting = 0

        async def wait(self):
            self.waiting += 1
            await self.event.wait()
            return "released"

        async def count(self):
            return self.waiting

        async def release(self):
            self.event.set()

    actor = Waiters.remote()
    # submitted together with the waits: its answer must not wait for theirs
    refs = [actor.wait.remote() for _ in range(3)]
    first = actor.count.remote()
    assert ray.get(first, timeout=30) in (0, 1, 2, 3)
    poll(lambda: ray.get(actor.count.remote(), timeout=30), 3)
    ready, _ = ray.wait(refs, num_returns=3, timeout=0.2)
    assert ready == []
    ray.get(actor.release.remote(), timeout=30)
    assert ray.get(refs, timeout=30) == ["released"] * 3


def test_async_actor_answers_while_a_call_sleeps(ray_shared):
    ray = ray_shared

    @ray.remote
    class Sleeper:
        def __init__(self):
            self.started = 0

        async def nap(self, seconds):
            self.started += 1
            await asyncio.sleep(seconds)
            return seconds

        async def started_(self):
            return self.started

    actor = Sleeper.remote()
    long = actor.nap.remote(30)
    poll(lambda: ray.get(actor.started_.remote(), timeout=10), 1)
    t0 = time.monotonic()
    assert ray.get(actor.nap.remote(0), timeout=10) == 0
    assert time.monotonic() - t0 < 10  # not after the 30 s nap
    ray.cancel(long)


def test_async_actor_answers_while_a_call_awaits_a_ref(ray_shared, tmp_path):
    ray = ray_shared
    gate = _make_gate(ray)

    @ray.remote
    class Awaiter:
        def __init__(self):
            self.calls = 0

        async def await_it(self, boxed):
            self.calls += 1
            return await boxed[0]

        async def calls_(self):
            return self.calls

    actor = Awaiter.remote()
    opened = tmp_path / "open"
    ref = actor.await_it.remote([gate.remote(str(opened), "late")])
    poll(lambda: ray.get(actor.calls_.remote(), timeout=10), 1)
    opened.touch()
    assert ray.get(ref, timeout=60) == "late"


@pytest.mark.parametrize("kind", ["async", "threaded"])
def test_concurrent_actors_do_not_wait_for_an_earlier_calls_argument(ray_shared, tmp_path,
                                                                     kind):
    ray = ray_shared
    gate = _make_gate(ray)

    class Log:
        def __init__(self):
            self.items = []

        def items_(self):
            return list(self.items)

    if kind == "async":
        async def add(self, x):
            self.items.append(x)
            return x
    else:
        def add(self, x):
            self.items.append(x)
            return x
    Log.add = add
    actor = ray.remote(max_concurrency=4)(Log).remote() if kind == "threaded" \
        else ray.remote(Log).remote()
    opened = tmp_path / "open"
    late = actor.add.remote(gate.remote(str(opened), "late"))
    ready = actor.add.remote("ready")
    assert ray.get(ready, timeout=30) == "ready"  # ran before the earlier call
    assert ray.get(actor.items_.remote(), timeout=30) == ["ready"]
    opened.touch()
    assert ray.get(late, timeout=60) == "late"
    assert ray.get(actor.items_.remote(), timeout=30) == ["ready", "late"]


def test_sync_actor_keeps_submission_order_when_an_argument_is_late(ray_shared, tmp_path):
    ray = ray_shared
    gate = _make_gate(ray)

    @ray.remote
    class Log:
        def __init__(self):
            self.items = []

        def add(self, x):
            self.items.append(x)

        def items_(self):
            return list(self.items)

    log = Log.remote()
    opened = tmp_path / "open"
    log.add.remote(gate.remote(str(opened), "late"))
    log.add.remote("ready")
    later = log.items_.remote()
    time.sleep(1.0)
    ready, _ = ray.wait([later], timeout=0.1)
    assert ready == []  # the calls after the late one wait for it
    opened.touch()
    assert ray.get(later, timeout=60) == ["late", "ready"]


def test_calls_from_different_callers_may_interleave(ray_shared, tmp_path):
    """One caller's late argument does not hold back another caller's calls."""
    ray = ray_shared
    gate = _make_gate(ray)

    @ray.remote
    class Log:
        def __init__(self):
            self.items = []

        def add(self, x):
            self.items.append(x)
            return x

        def items_(self):
            return list(self.items)

    @ray.remote(num_cpus=0)
    def other_caller(log):
        return ray.get(log.add.remote("other"))

    log = Log.remote()
    ray.get(log.items_.remote(), timeout=30)
    opened = tmp_path / "open"
    late = log.add.remote(gate.remote(str(opened), "late"))
    assert ray.get(other_caller.remote(log), timeout=60) == "other"
    opened.touch()
    assert ray.get(late, timeout=60) == "late"
    assert ray.get(log.items_.remote(), timeout=30) == ["other", "late"]
