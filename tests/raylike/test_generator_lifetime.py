"""Generators' objects and state are freed (raylike's mapping onto Dask: ``_stream_registry``):
items taken and dropped, items never taken, dropped generators, a paused producer whose consumer
is gone."""
from __future__ import annotations

import gc
import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

import raylike as ray
from raylike._api import runtime as _runtime

pytestmark = pytest.mark.timeout(90)


def _scheduler_state(dask_scheduler: Any) -> dict[str, Any]:
    streams = dask_scheduler.plugins["raylike-streams"].streams
    return {"items": sorted(k for k in dask_scheduler.tasks
                            if isinstance(k, str) and "/gen/" in k),
            "streams": len(streams)}


def _settles(expected: dict[str, Any], timeout: float = 30.0) -> dict[str, Any]:
    client = _runtime.driver().backend.client  # type: ignore[union-attr]
    deadline = time.monotonic() + timeout
    while True:
        gc.collect()
        state = client.run_on_scheduler(_scheduler_state)
        if state == expected or time.monotonic() > deadline:
            return state
        time.sleep(0.1)


@ray.remote
def _arrays(n: int) -> Iterator[np.ndarray]:
    for i in range(n):
        yield np.full(100_000, i)


@ray.remote
class _Counter:
    def __init__(self) -> None:
        self.n = 0

    def incr(self) -> int:
        self.n += 1
        return self.n

    def value(self) -> int:
        return self.n


def test_taken_items_live_while_their_refs_do(cluster: None) -> None:
    gen = _arrays.remote(3)
    refs = list(gen)
    del gen
    state = _settles({"items": sorted(r._key for r in refs), "streams": 1})
    assert state["items"] == sorted(r._key for r in refs)  # held by the refs alone
    assert [int(ray.get(r)[0]) for r in refs] == [0, 1, 2]
    del refs
    assert _settles({"items": [], "streams": 0}) == {"items": [], "streams": 0}


def test_items_never_taken_are_freed_with_the_generator(cluster: None) -> None:
    gen = _arrays.remote(4)
    first = next(gen)
    ray.wait([gen.completed()], timeout=30)
    del gen
    assert _settles({"items": [first._key], "streams": 1})["items"] == [first._key]
    del first
    assert _settles({"items": [], "streams": 0}) == {"items": [], "streams": 0}


def test_a_paused_producer_goes_on_once_its_generator_is_dropped(cluster: None) -> None:
    counter = _Counter.remote()

    @ray.remote(_generator_backpressure_num_objects=1)
    def paused(counter: Any) -> Iterator[int]:
        for i in range(5):
            ray.get(counter.incr.remote())
            yield i

    gen = paused.remote(counter)
    done = gen.completed()
    assert ray.get(next(gen)) == 0
    del gen
    assert ray.get(done, timeout=30) is None  # ran to its end, as Ray does
    assert ray.get(counter.value.remote()) == 5
    del done
    assert _settles({"items": [], "streams": 0}) == {"items": [], "streams": 0}


def test_next_with_a_timeout_returns_a_nil_ref(cluster: None) -> None:
    @ray.remote
    def slow() -> Iterator[int]:
        time.sleep(2)
        yield 1

    gen = slow.remote()
    assert gen._next_sync(0.1).is_nil()
    assert ray.get(gen._next_sync(30)) == 1
    with pytest.raises(StopIteration):
        gen._next_sync(30)


def test_a_generator_asked_before_its_task_reaches_the_scheduler_is_not_empty(
        cluster: None) -> None:
    # The consumer's first ask (an RPC) can reach the scheduler before the task's submission
    # (on the client's batched stream): "gone" then means "not there yet", even when the task
    # has run and ended by the time the answer comes back. Seen as an empty stream about once
    # in 50-100 calls before the fix; the loop makes it all but certain to show.
    @ray.remote
    def one(i: int) -> Iterator[int]:
        yield i

    empty: list[int] = []
    deadline = time.monotonic() + 6.0
    i = 0
    while i < 400 and time.monotonic() < deadline:
        if [ray.get(r) for r in one.remote(i)] != [i]:
            empty.append(i)
        i += 1
    assert i >= 100
    assert empty == []
