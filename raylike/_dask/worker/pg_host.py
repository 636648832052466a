"""A placement group's bundles on their worker (see ``raylike._api.placement_groups``).

:func:`hold_bundle` is a bundle's *reservation task*: an ordinary Dask task, pinned to its
worker with the bundle's resources as restrictions. It is a coroutine on the worker's event
loop (a thousand groups are a thousand waits, not a thousand threads) that gives its thread
slot back (so it holds none but keeps its resources, as an actor's reservation does), adds the
group's resources to its worker (``GroupResources``, then the scheduler's copy, one message on
the worker's stream that also tells the registry the bundle is held) and waits until the
group is removed: the registry then calls the worker's ``raylike_pg_release`` handler, which
kills the group's actors and running tasks on this worker. The bundle's names are then
taken off again (to 0: Dask keeps a resource name it once knew) and the task ends, which frees
the resources.
"""
from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Any

from distributed import get_worker
from distributed.worker_state_machine import WorkerState

from raylike._dask import internals
from raylike._dask.internals import StateMachineEvent

logger = logging.getLogger("raylike.placement_groups")
HOLD_SLICE = 5.0  # seconds between two looks at whether the worker still runs
REMOVED_REASON = "The actor was killed because its placement group was removed."


@dataclass
class GroupResources(StateMachineEvent):
    """Worker stimulus: add ``delta`` to the worker's total and available resources (names
    new to it included), then start what fits."""

    __slots__ = ("delta",)
    delta: dict[str, float]


def _on_group_resources(state: WorkerState, ev: GroupResources) -> Any:
    for name, value in ev.delta.items():
        state.total_resources[name] = round(state.total_resources.get(name, 0.0) + value, 6)
        state.available_resources[name] = round(
            state.available_resources.get(name, 0.0) + value, 6)
    return internals.ensure_computing(state)


_registered = False
_holders: dict[str, list[asyncio.Event]] = {}  # group id -> its bundles held here (loop only)


def _register(worker: Any) -> None:
    global _registered
    if not _registered:
        internals.on_worker_event(GroupResources, _on_group_resources)
        _registered = True

    async def raylike_pg_release(pg_id: str, **_: Any) -> str:
        return await _release(worker, pg_id)

    worker.handlers["raylike_pg_release"] = raylike_pg_release


def _change(worker: Any, delta: dict[str, float], held: dict[str, Any] | None = None) -> None:
    """Apply ``delta`` on the worker, then send the scheduler the new totals of its names on
    the worker's stream (in order: the scheduler never gets an older total after a newer one), with
    ``held``, the bundle now held, for the registry. On the worker's event loop."""
    internals.stimulate(worker, GroupResources(delta=delta,
                                               stimulus_id=f"raylike-pg-{time.time()}"))
    totals = worker.state.total_resources
    internals.send_from_worker(worker, {"op": "raylike-pg-resources", "held": held,
                                        "resources": {name: totals[name] for name in delta}})


async def hold_bundle(pg_id: str, index: int, declares: dict[str, float], key: str) -> None:
    """The reservation task of bundle ``index`` of group ``pg_id`` (see the module doc)."""
    from raylike._dask.worker.node import current_node

    worker = get_worker()
    internals.secede_soon(worker, key, f"raylike-pg-hold-{time.time()}")
    node = current_node()
    _register(worker)
    released = asyncio.Event()
    _holders.setdefault(pg_id, []).append(released)
    try:
        _change(worker, declares, {"pg_id": pg_id, "index": index, "node_id": node.node_id,
                                   "reservation": key})
        while True:
            try:
                await asyncio.wait_for(released.wait(), HOLD_SLICE)
                return
            except asyncio.TimeoutError:
                if worker.status.name not in ("running", "paused"):
                    return  # the worker closes: its tasks and actors end with it
    finally:
        held = _holders.get(pg_id, [])
        if released in held:
            held.remove(released)
        if not held:
            _holders.pop(pg_id, None)
        if worker.status.name in ("running", "paused"):
            _change(worker, {k: -v for k, v in declares.items()})


async def _release(worker: Any, pg_id: str) -> str:
    """The registry removed group ``pg_id``: end what runs in it here, then its bundles."""
    from raylike._dask.worker.node import PLUGIN_NAME

    node = worker.plugins.get(PLUGIN_NAME)
    if node is not None:
        _end_members(node, pg_id)
    for event in list(_holders.get(pg_id, [])):
        event.set()
    return "ok"


def _end_members(node: Any, pg_id: str) -> None:
    """Kill the group's actors on this worker and its running tasks (as Ray does: their
    callers get ``WorkerCrashedError``)."""
    from raylike._api.actor_spec import died_of
    from raylike._api.serialization import dumps

    for host in list(node.actors.values()):
        placement = getattr(host.spec, "placement", None)
        if placement is not None and placement.pg_id == pg_id:
            dead = dumps(died_of(host.meta, REMOVED_REASON))
            host.loop.call_soon_threadsafe(host.kill, True, dead)
    mark = f"_group_{pg_id}"
    for key in list(node.running):
        ts = node.worker.state.tasks.get(key)
        restrictions = getattr(ts, "resource_restrictions", None) or {}
        if any(name.endswith(mark) for name in restrictions):
            node.end_with_group(key)


async def ready(group: Any, key: str) -> Any:
    """What ``pg.ready()`` runs (on a worker's event loop): the group, once it is created."""
    from raylike.exceptions import RaySystemError, TaskPlacementGroupRemoved

    worker = get_worker()
    # an awaiting async task counts as executing: give the slot back, as secede() would
    internals.secede_soon(worker, key, f"raylike-pg-ready-{time.time()}")
    pg_id = group.id.hex()
    while True:
        state = await worker.scheduler.raylike_pg_wait(pg_id=pg_id, timeout=HOLD_SLICE)
        if state == "CREATED":
            return group
        if state == "REMOVED":  # Ray's error for a task whose group was removed
            raise TaskPlacementGroupRemoved(f"Placement group PlacementGroupID({pg_id}) was "
                                            "removed before it was created.")
        if state == "MISSING":
            raise RaySystemError(f"Placement group PlacementGroupID({pg_id}) does not exist.")
