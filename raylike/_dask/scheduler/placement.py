"""Placement: work that needs resources goes to a node where they are free now, if there is one.

Dask sends a resource-restricted task to a worker as soon as it is submitted, chosen among
the workers that *declare* the resources (their totals) by its estimate of the earliest
start (thread occupancy, data transfer). A raylike node has many threads and its resources
limit what runs, so Dask would send a one-GPU actor to a node whose GPUs are all taken while
another node has one free, and there it would wait for ever (nothing moves an actor that
waits). Ray's raylet picks a node with the resources available.

So the scheduler's ``decide_worker_non_rootish`` (the choice for every task with
restrictions) is wrapped: when Dask's choice has the task's resources free, it stands (one
check, the common case); else the workers allowed to run it that have them free are looked
at, and the best of those by Dask's own objective is taken. With none free, the task goes
where what the node's actors and reservations hold (its seceded tasks) leaves room for it,
Dask's choice first: a two-GPU task sent to a node where an actor holds one of its two GPUs
would wait there for ever. Else Dask's choice stands.

"Free" counts what the node's assigned tasks really hold: Dask's running sum of their
requests is exact while it fits the node; when it exceeds the node (some tasks wait there),
the node's tasks are replayed in the order the node starts them (the seceded ones, actors
and reservations, hold theirs; the others take theirs only if they fit, as the node's queue
lets a fitting task pass one that waits, see ``_dask.worker.lookahead``), so an actor that
waits for two GPUs does not hide the one GPU free beside it. Dask's count is zeroed when a
worker's resources change (``set_resources``: a placement group's bundle adds its names) while
its tasks still hold theirs; the wrapped ``add_resources`` counts them again.
"""
from __future__ import annotations

from functools import partial
from typing import Any

from distributed.diagnostics.plugin import SchedulerPlugin
from distributed.scheduler import Scheduler, SchedulerState

from raylike._dask import internals

PLACEMENT_PLUGIN = "raylike-placement"
EPS = 1e-6
REPLAY_LIMIT = 256  # a node with more tasks queued than this counts as having nothing free

_installed = False


class PlacementPlugin(SchedulerPlugin):
    """Installs the resource-aware choice of a worker (once per scheduler process)."""

    name = PLACEMENT_PLUGIN
    idempotent = True

    async def start(self, scheduler: Any) -> None:
        install()
        # the handler table holds the method bound before it was wrapped
        internals.add_scheduler_handlers(scheduler, {"set_resources": scheduler.add_resources})


def install() -> None:
    global _installed
    if _installed:
        return
    original = SchedulerState.decide_worker_non_rootish

    def decide_worker_non_rootish(state: SchedulerState, ts: Any) -> Any:
        ws = original(state, ts)
        if (ws is None or not ts.resource_restrictions or len(state.running) < 2
                or fits(ts, ws)):
            return ws
        return _free_worker(state, ts, ws)

    SchedulerState.decide_worker_non_rootish = decide_worker_non_rootish  # type: ignore[method-assign, assignment]
    add_resources = Scheduler.add_resources

    def add_resources_counted(scheduler: Scheduler, worker: str,
                              resources: dict[str, Any] | None = None) -> Any:
        answer = add_resources(scheduler, worker, resources)
        ws = scheduler.workers[worker]
        for task in ws.processing:  # Dask zeroes the count of what they hold: count it again
            for name, need in (task.resource_restrictions or {}).items():
                ws.used_resources[name] = ws.used_resources.get(name, 0.0) + need
        return answer

    Scheduler.add_resources = add_resources_counted  # type: ignore[method-assign, assignment]
    _installed = True


def _free_worker(state: SchedulerState, ts: Any, chosen: Any) -> Any:
    """The best worker by Dask's objective among those allowed to run ``ts`` that have its
    resources free now; else ``chosen`` (Dask's choice) if what its actors and reservations
    hold leaves room for ``ts`` some day; else the best of the workers where that is so;
    else ``chosen``."""
    valid = state.valid_workers(ts)
    pool = [ws for ws in (valid if valid is not None else state.running) if ws in state.running]
    objective = partial(state.worker_objective, ts)
    free = [ws for ws in pool if fits(ts, ws)]
    if free:
        return free[0] if len(free) == 1 else min(free, key=objective)
    if fits_some_day(ts, chosen):
        return chosen
    later = [ws for ws in pool if fits_some_day(ts, ws)]
    if later:
        return later[0] if len(later) == 1 else min(later, key=objective)
    return chosen


def fits(ts: Any, ws: Any) -> bool:
    """Whether ``ws`` has the resources ``ts`` asks for free now (``ts`` not yet counted)."""
    wanted = ts.resource_restrictions
    totals = ws.resources
    used = ws.used_resources
    over = False
    for name, need in wanted.items():
        total = totals.get(name, 0.0)
        taken = used.get(name, 0.0)
        if ts in ws.processing:
            taken -= need
        if total - taken + EPS >= need:
            continue
        if taken <= total + EPS:  # all its tasks fit: it is simply full
            return False
        over = True
    if not over:
        return True
    held = held_now(ws, exclude=ts)
    if held is None:
        return False
    return all(totals.get(name, 0.0) - held.get(name, 0.0) + EPS >= need
               for name, need in wanted.items())


def fits_some_day(ts: Any, ws: Any) -> bool:
    """Whether ``ts`` fits ``ws`` beside what its seceded tasks (actors, placement-group
    reservations, leases) hold: they hold it until they end, which an actor may never do."""
    held: dict[str, float] = {}
    for task in ws.long_running:
        if task is not ts:
            for name, need in (task.resource_restrictions or {}).items():
                held[name] = held.get(name, 0.0) + need
    totals = ws.resources
    return all(totals.get(name, 0.0) - held.get(name, 0.0) + EPS >= need
               for name, need in ts.resource_restrictions.items())


def held_now(ws: Any, exclude: Any = None) -> dict[str, float] | None:
    """What the tasks assigned to ``ws`` hold now, replayed in the order the node starts
    them; ``None`` when too many are queued there to replay."""
    if len(ws.processing) > REPLAY_LIMIT:
        return None
    totals = ws.resources
    held: dict[str, float] = {}
    waiting = []
    for task in ws.processing:
        if task is exclude or not task.resource_restrictions:
            continue
        if task in ws.long_running:
            for name, need in task.resource_restrictions.items():
                held[name] = held.get(name, 0.0) + need
        else:
            waiting.append(task)
    waiting.sort(key=lambda task: task.priority)
    for task in waiting:
        wanted = task.resource_restrictions
        if all(held.get(name, 0.0) + need <= totals.get(name, 0.0) + EPS
               for name, need in wanted.items()):
            for name, need in wanted.items():
                held[name] = held.get(name, 0.0) + need
    return held


def set_resources(scheduler: Any, worker: str, resources: dict[str, float]) -> None:
    """Set some of ``worker``'s resource totals (the others stay); a name set to 0 is
    forgotten, so that the names of placement groups long removed do not pile up (Dask's
    own ``set_resources`` replaces them all and zeroes what the worker's tasks hold)."""
    ws = scheduler.workers[worker]
    for name, value in resources.items():
        if value > EPS:
            ws.resources[name] = value
            ws.used_resources.setdefault(name, 0.0)
            scheduler.resources.setdefault(name, {})[worker] = value
            continue
        ws.resources.pop(name, None)
        supply = scheduler.resources.get(name)
        if supply is not None:
            supply.pop(worker, None)
            if not supply:
                del scheduler.resources[name]
