"""A placement group's bundles on their worker (see ``raylike._api.placement_groups``).

:func:`hold_bundle` is a bundle's *reservation task*: an ordinary Dask task, pinned to its
worker with the bundle's resources as restrictions, that secedes (so it holds no thread slot
but keeps its resources, as an actor's reservation does), adds the group's resources to its
worker (``GroupResources``, then the scheduler's copy) and blocks until the group is removed:
the registry then calls the worker's ``raylike_pg_release`` handler, which kills the group's
actors and cancels its tasks on this worker. The bundle's names are then taken off again (to 0:
Dask keeps a resource name it once knew) and the task ends, which frees the resources.
"""
from __future__ import annotations

import asyncio
import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

from distributed import get_worker, secede
from distributed.utils import sync
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
_holders: dict[str, list[threading.Event]] = {}  # group id -> its bundles held here
_holders_lock = threading.Lock()
_locks: dict[int, asyncio.Lock] = {}


def _register(worker: Any) -> None:
    global _registered
    if not _registered:
        internals.on_worker_event(GroupResources, _on_group_resources)
        _registered = True
    async def raylike_pg_release(pg_id: str, **_: Any) -> str:
        return await _release(worker, pg_id)

    worker.handlers["raylike_pg_release"] = raylike_pg_release


async def _change(worker: Any, delta: dict[str, float]) -> None:
    """Apply ``delta`` on the worker, then give the scheduler its new totals (one change at
    a time, so the scheduler never gets an older total after a newer one)."""
    lock = _locks.setdefault(id(worker), asyncio.Lock())
    async with lock:
        internals.stimulate(worker, GroupResources(delta=delta,
                                                   stimulus_id=f"raylike-pg-{time.time()}"))
        await worker.scheduler.set_resources(resources=dict(worker.state.total_resources),
                                             worker=worker.contact_address)
        try:  # Dask re-examines waiting tasks only when a worker joins
            await worker.scheduler.raylike_resources_changed(worker=worker.address)
        except Exception:
            logger.debug("could not ask the scheduler to re-place tasks", exc_info=True)


def hold_bundle(pg_id: str, index: int, declares: dict[str, float], key: str) -> None:
    """The reservation task of bundle ``index`` of group ``pg_id`` (see the module doc)."""
    from raylike._dask.worker.node import current_node

    secede()
    node = current_node()
    worker = node.worker
    _register(worker)
    released = threading.Event()
    with _holders_lock:
        _holders.setdefault(pg_id, []).append(released)
    sync(worker.loop, _change, worker, declares)
    try:
        reply = node.backend().scheduler_call("raylike_pg_placed", pg_id=pg_id, index=index,
                                              node_id=node.node_id, reservation=key)
        if reply == "removed":
            _end_members(node, pg_id)
        else:
            while not released.wait(HOLD_SLICE):
                if worker.status.name not in ("running", "paused"):
                    return  # the worker closes: its tasks and actors end with it
    finally:
        with _holders_lock:
            held = _holders.get(pg_id, [])
            if released in held:
                held.remove(released)
            if not held:
                _holders.pop(pg_id, None)
        if worker.status.name in ("running", "paused"):
            sync(worker.loop, _change, worker, {k: -v for k, v in declares.items()})


async def _release(worker: Any, pg_id: str) -> str:
    """The registry removed group ``pg_id``: end what runs in it here, then its bundles."""
    from raylike._dask.worker.node import PLUGIN_NAME

    node = worker.plugins.get(PLUGIN_NAME)
    if node is not None:
        _end_members(node, pg_id)
    with _holders_lock:
        events = list(_holders.get(pg_id, []))
    for event in events:
        event.set()
    return "ok"


def _end_members(node: Any, pg_id: str) -> None:
    """Kill the group's actors on this worker and cancel its running tasks (as Ray does)."""
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
            threading.Thread(target=node.interrupt, args=(key, True, False), daemon=True).start()


async def ready(group: Any, key: str) -> Any:
    """What ``pg.ready()`` runs (on a worker's event loop): the group, once it is created."""
    from raylike.exceptions import RaySystemError

    worker = get_worker()
    # an awaiting async task counts as executing: give the slot back, as secede() would
    internals.secede_soon(worker, key, f"raylike-pg-ready-{time.time()}")
    pg_id = group.id.hex()
    while True:
        state = await worker.scheduler.raylike_pg_wait(pg_id=pg_id, timeout=HOLD_SLICE)
        if state == "CREATED":
            return group
        if state in ("REMOVED", "MISSING"):
            raise RaySystemError(f"Placement group PlacementGroupID({pg_id}) was removed "
                                 "before it was created.")
