"""A node's pool of task processes keeps idle ones beyond its limit for a while, as Ray's
worker pool does (``idle_worker_killing_time_threshold_ms``): a second burst of blocked tasks
reuses them instead of forking anew; the surplus ends once idle that long."""
from __future__ import annotations

import itertools
import time
from typing import Any

import pytest

from raylike._process import pool as _pool

pytestmark = pytest.mark.timeout(60)
_pids = itertools.count(1000)


class _FakeChild:
    """What the pool uses of a child: no process behind it."""

    def __init__(self) -> None:
        self.pid = next(_pids)
        self.env_key = ""
        self.job_id = ""
        self.idle_since = 0.0
        self.killed = False

    def alive(self) -> bool:
        return not self.killed

    def kill(self) -> None:
        self.killed = True


def _pool_of(max_idle: int, idle_s: float, started: list[Any]) -> _pool.Pool:
    pool = _pool.Pool(max_idle=max_idle, idle_s=idle_s)

    def start_child(setup: Any = None) -> Any:
        child = _FakeChild()
        pool._all[child.pid] = child  # type: ignore[assignment]
        started.append(child)
        return child
    pool.start_child = start_child  # type: ignore[method-assign]
    return pool


def _wait_for(check: Any, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "the pool never reached the state waited for"
        time.sleep(0.02)


def test_surplus_idle_children_are_reused_then_ended_once_idle_long_enough() -> None:
    started: list[Any] = []
    pool = _pool_of(2, 1.0, started)
    try:
        first = [pool.acquire(job_id="j") for _ in range(5)]
        for child in first:
            pool.release(child)
        assert not any(c.killed for c in first)  # 3 beyond the limit, kept for now
        second = [pool.acquire(job_id="j") for _ in range(5)]
        assert len(started) == 5 and {c.pid for c in second} == {c.pid for c in first}
        for child in second:
            pool.release(child)
        _wait_for(lambda: len(pool._idle) == 2)
        killed = [c for c in started if c.killed]
        assert len(killed) == 3
        # the least recently given back went first; the two kept still serve
        assert {c.pid for c in killed} == {c.pid for c in second[:3]}
        assert pool.acquire(job_id="j").pid in {c.pid for c in second[3:]}
        assert len(started) == 5
    finally:
        pool.close()
    assert all(c.killed for c in started if c not in pool._idle)


def test_with_no_idle_time_the_surplus_ends_at_once() -> None:
    started: list[Any] = []
    pool = _pool_of(1, 0.0, started)
    try:
        children = [pool.acquire() for _ in range(3)]
        for child in children:
            pool.release(child)
        assert [c.killed for c in children] == [True, True, False]
        assert pool._idle == [children[2]]
    finally:
        pool.close()


def test_the_idle_time_comes_from_rays_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAY_idle_worker_killing_time_threshold_ms", "250")
    assert _pool.idle_kill_s() == 0.25
    monkeypatch.delenv("RAY_idle_worker_killing_time_threshold_ms")
    assert _pool.idle_kill_s() == 1.0
