"""Spillback: work queued on a node whose resources are all taken moves to a node with room.

Dask sends a resource-restricted task to a worker at once (it skips the scheduler's queue), and
judges a worker's load by its threads: a raylike node has 256 threads and its resources limit
what runs, so a node with every CPU taken never looks busy, nothing is stolen from it, and a
task queued there waits while another node sits idle (a task whose argument lives there, work
submitted before a node joined, an actor behind a busy node, a lease request). Ray's raylet
spills such a task back to a node with the resources free.

Every ``PERIOD`` seconds this plugin counts, per running worker, the resources of the tasks
Dask has assigned to it (``processing``; the worker's own count is not sent to the scheduler).
Where that exceeds the node's resources (tasks wait there) while another worker able to run one
of the waiting tasks has those resources free, the task moves there through Dask's work
stealing handshake (``move_task_request``: the worker gives the task up only if it has not
started it; one that has is remembered and not asked for again). Only the excess moves, the
task that would run next first, and only to free room, so nothing moves back and forth. A task
blocked in ``get`` gave its CPU back on its node, which the scheduler does not see: the tasks
queued behind it may move to an idle node, which is where they would run soonest anyway.
"""
from __future__ import annotations

import heapq
import logging
from collections import defaultdict
from typing import Any

from distributed.diagnostics.plugin import SchedulerPlugin
from tornado.ioloop import PeriodicCallback

SPILLBACK_PLUGIN = "raylike-spillback"
PERIOD = 0.1  # seconds between two looks at the workers' queues
MAX_MOVES = 64  # moves asked for in one look, at most
EPS = 1e-6
logger = logging.getLogger("raylike.spillback")


class SpillbackPlugin(SchedulerPlugin):
    """Moves tasks queued behind a node's taken resources to nodes with them free."""

    name = SPILLBACK_PLUGIN
    idempotent = True

    async def start(self, scheduler: Any) -> None:
        self.scheduler = scheduler
        self.started: dict[str, str] = {}  # key -> the worker that refused to give it up
        self.moving: dict[Any, Any] = {}  # task -> (victim, thief) of a move asked for
        callback = PeriodicCallback(self.look, PERIOD * 1000)
        scheduler.periodic_callbacks[SPILLBACK_PLUGIN] = callback
        callback.start()

    def look(self) -> None:
        """One look at the workers' queues: ask for the moves that spill work back."""
        try:
            self._look()
        except Exception:  # never let a look break the scheduler's loop
            logger.debug("spillback look failed", exc_info=True)

    def _look(self) -> None:
        scheduler = self.scheduler
        stealing = scheduler.extensions.get("stealing")
        workers = [ws for ws in scheduler.running if ws.resources]
        if stealing is None or len(workers) < 2:
            return
        self._settle(stealing)
        used = {ws: _used(ws) for ws in workers}
        for ts, (victim, thief) in self.moving.items():  # on its way: counted at the thief
            if victim in used and thief in used:
                _add(used[victim], ts.resource_restrictions, -1)
                _add(used[thief], ts.resource_restrictions, 1)
        free = {ws: room for ws in workers if (room := _room(ws, used[ws]))}
        if not free:
            return
        over = [ws for ws in workers if _over(ws, used[ws])]
        moves = 0
        for victim in over:
            for ts in self._waiting(victim, stealing):
                if moves >= MAX_MOVES or not free or not _over(victim, used[victim]):
                    break
                thief = self._thief(ts, victim, free)
                if thief is None:
                    continue
                if stealing.move_task_request(ts, victim, thief) in ("in-flight",
                                                                      "comm-closed"):
                    continue
                moves += 1
                self.moving[ts] = (victim, thief)
                rr = ts.resource_restrictions
                _add(used[victim], rr, -1)
                _add(used[thief], rr, 1)
                room = _room(thief, used[thief])
                if room:
                    free[thief] = room
                else:
                    free.pop(thief, None)

    def _settle(self, stealing: Any) -> None:
        """Forget the moves that ended; a task still on its victim refused: it had started."""
        for ts, (victim, _thief) in list(self.moving.items()):
            if ts in stealing.in_flight:
                continue
            del self.moving[ts]
            if ts.processing_on is victim:
                self.started[ts.key] = victim.address
        tasks = self.scheduler.tasks
        for key, address in list(self.started.items()):
            ts = tasks.get(key)
            if ts is None or ts.processing_on is None or ts.processing_on.address != address:
                del self.started[key]

    def _waiting(self, victim: Any, stealing: Any) -> list[Any]:
        """The tasks of ``victim`` that may be waiting there, the next to run first."""
        started = self.started
        candidates = [ts for ts in victim.processing
                      if ts.resource_restrictions and ts not in victim.long_running
                      and ts.key not in started and ts not in stealing.in_flight]
        return heapq.nsmallest(MAX_MOVES, candidates, key=lambda ts: ts.priority)

    def _thief(self, ts: Any, victim: Any, free: dict[Any, dict[str, float]]) -> Any:
        """The free worker that can run ``ts`` now with the most room, or ``None``."""
        rr = ts.resource_restrictions
        valid = self.scheduler.valid_workers(ts)
        best, best_room = None, -1.0
        for ws, room in free.items():
            if ws is victim or (valid is not None and ws not in valid):
                continue
            if all(room.get(r, 0.0) + EPS >= need for r, need in rr.items()):
                spare = min((room.get(r, 0.0) - need for r, need in rr.items()), default=0.0)
                if spare > best_room:
                    best, best_room = ws, spare
        return best


def _used(ws: Any) -> dict[str, float]:
    used: dict[str, float] = defaultdict(float)
    for ts in ws.processing:
        rr = ts.resource_restrictions
        if rr:
            for r, need in rr.items():
                used[r] += need
    return used


def _add(used: dict[str, float], rr: dict[str, float] | None, sign: int) -> None:
    for r, need in (rr or {}).items():
        used[r] = used.get(r, 0.0) + sign * need


def _room(ws: Any, used: dict[str, float]) -> dict[str, float]:
    """What ``ws`` has free, per resource (empty when nothing is)."""
    room = {r: total - used.get(r, 0.0) for r, total in ws.resources.items()}
    return room if any(v > EPS for v in room.values()) else {}


def _over(ws: Any, used: dict[str, float]) -> bool:
    """Whether the tasks assigned to ``ws`` ask for more than it has (some wait there)."""
    totals = ws.resources
    return any(need > totals.get(r, 0.0) + EPS for r, need in used.items())
