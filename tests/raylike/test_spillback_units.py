"""Units of spillback: the lease desk giving queued tasks back, the scheduler plugin's counts."""
from __future__ import annotations

import threading
from types import SimpleNamespace
from typing import Any

from raylike._dask.scheduler import spillback
from raylike._dask.worker.leases import LeaseDesk, _Queue


class _Peer:
    def __init__(self) -> None:
        self.answers: list[tuple[int, str, Any]] = []

    def answer(self, rid: int, status: str, payload: Any) -> None:
        self.answers.append((rid, status, payload))


def _call(key: str) -> Any:
    return SimpleNamespace(key=key)


def test_reclaim_gives_back_the_last_queued_tasks_not_started():
    desk = LeaseDesk(node=None)  # type: ignore[arg-type]
    peer = _Peer()
    queue = _Queue(threading.Condition(desk.lock), leases=1)
    queue.items.extend((rid, _call(f"k{rid}"), []) for rid in (1, 2, 3))
    desk.queues[(id(peer), "cpu")] = queue
    desk.reclaim(peer, 99, "cpu", 2)
    assert peer.answers == [(3, "back", None), (2, "back", None), (99, "ok", 2)]
    assert [rid for rid, _, _ in queue.items] == [1]
    desk.reclaim(peer, 100, "other-shape", 5)  # nothing queued of that shape
    assert peer.answers[-1] == (100, "ok", 0)


def _ts(cpu: float, priority: int = 0) -> Any:
    return SimpleNamespace(resource_restrictions={"CPU": cpu}, priority=(priority,))


def test_counts_of_assigned_resources():
    busy = SimpleNamespace(resources={"CPU": 1.0}, processing=[_ts(1), _ts(1)])
    idle = SimpleNamespace(resources={"CPU": 1.0}, processing=[])
    used_busy, used_idle = spillback._used(busy), spillback._used(idle)
    assert spillback._over(busy, used_busy) and not spillback._over(idle, used_idle)
    assert spillback._room(busy, used_busy) == {}
    assert spillback._room(idle, used_idle) == {"CPU": 1.0}
    half = SimpleNamespace(resources={"CPU": 1.0}, processing=[_ts(0.5)])
    assert spillback._room(half, spillback._used(half)) == {"CPU": 0.5}
