"""The actor registry: a scheduler plugin that knows every actor of the cluster.

For each actor: the worker that hosts it, its state (``PENDING`` until its constructor ran,
``ALIVE``, ``RESTARTING``, ``DEAD`` with the error its calls raise), its restarts, and its name.
Callers ask it where an actor lives (``raylike_actor_where`` waits until the actor is placed);
``ray.kill``, ``get_actor`` and named creation go through it. It also ends actors whose handles
are all gone (their reservation task is forgotten), actors of a driver that shuts down, and
notices actors lost with their worker.
"""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

from distributed.diagnostics.plugin import SchedulerPlugin

from raylike._api import ids as _ids
from raylike._api.actor_spec import (
    CRASHED,
    OUT_OF_SCOPE,
    OWNER_ACTOR_DIED,
    OWNER_DIED,
    UNKNOWN,
    died,
    node_died,
)
from raylike._api.serialization import dumps
from raylike._dask import internals

REGISTRY_PLUGIN = "raylike-actors"
KILL_TIMEOUT = 10.0
# how long a name lookup waits for the named actor's creator to submit its reservation task
SUBMIT_WAIT = 30.0
logger = logging.getLogger("raylike.actors")


@dataclass(eq=False)
class _Record:
    """What the registry knows about one actor."""

    actor_id: str
    class_name: str
    name: str | None
    namespace: str | None
    detached: bool
    job_id: str
    reservation: str
    max_restarts: int
    handle: bytes
    state: str = "PENDING"
    address: str | None = None
    started: bool = False
    constructed: bool = False  # its constructor returned once (its creation task FINISHED)
    restarts: int = 0
    dead: bytes | None = None
    placed: asyncio.Event = field(default_factory=asyncio.Event)
    # its reservation task reached the scheduler (the creator registers the name first)
    submitted: asyncio.Event = field(default_factory=asyncio.Event)
    owner: str | None = None  # the actor that created it, if an actor did
    repr_name: str = ""  # the instance's own ``__repr__`` (Ray's ``repr_name``), if it has one

    def error(self, reason: str) -> bytes:
        return dumps(died(reason, class_name=self.class_name, actor_id=self.actor_id,
                          name=self.name, namespace=self.namespace))


class ActorRegistry(SchedulerPlugin):
    """Scheduler-side state of the cluster's actors, served through RPC handlers."""

    name = REGISTRY_PLUGIN
    idempotent = True  # a second driver must not wipe the registry of a shared cluster

    async def start(self, scheduler: Any) -> None:
        self.scheduler = scheduler
        self.actors: dict[str, _Record] = {}
        self.names: dict[tuple[str | None, str], str] = {}
        self.reservations: dict[str, str] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        for op in ("create", "host", "update", "where", "kill", "named", "list_named",
                   "shutdown_job"):
            internals.add_scheduler_handlers(scheduler, {f"raylike_actor_{op}": getattr(self, op)})

    # -- handlers -----------------------------------------------------------------------------
    async def create(self, actor_id: str, class_name: str, name: str | None,
                     namespace: str | None, detached: bool, job_id: str, reservation: str,
                     max_restarts: int, handle: bytes, get_if_exists: bool,
                     owner: str | None = None) -> dict[str, Any]:
        """Record a new actor; a taken name answers ``exists`` (with the handle) or ``taken``."""
        if name is not None:
            existing = self.names.get((namespace, name))
            if existing is not None:
                if get_if_exists:
                    record = self.actors[existing]
                    await self._submitted(record)
                    return {"status": "exists", "handle": record.handle}
                return {"status": "taken"}
            self.names[(namespace, name)] = actor_id
        self.actors[actor_id] = _Record(actor_id, class_name, name, namespace, detached, job_id,
                                        reservation, max_restarts, handle, owner=owner)
        self.reservations[reservation] = actor_id
        return {"status": "created"}

    def host(self, actor_id: str, address: str) -> dict[str, Any]:
        """A reservation task starts hosting the actor on the worker at ``address``."""
        record = self.actors.get(actor_id)
        if record is None:
            return {"dead": dumps(died(UNKNOWN, actor_id=actor_id))}
        if record.state == "DEAD":
            return {"dead": record.dead}
        restarted, record.started = record.started, True
        record.address = address
        record.placed.set()
        return {"restarts": record.restarts, "restarted": restarted}

    def update(self, actor_id: str, state: str, restarts: int | None = None,
               dead: bytes | None = None, repr_name: str | None = None) -> None:
        """The host reports a new state (``ALIVE``, ``RESTARTING`` or ``DEAD``)."""
        record = self.actors.get(actor_id)
        if record is None or record.state == "DEAD":
            return
        if repr_name is not None:
            record.repr_name = repr_name
        if restarts is not None:
            record.restarts = restarts
        if state == "DEAD":  # it crashed or exited: its handles keep its name (Ray)
            self._bury(record, dead or record.error(CRASHED), keep_name=True)
        else:
            record.state = state
            record.constructed = record.constructed or state == "ALIVE"
            if state == "RESTARTING":  # its process died: what it owned dies (as in Ray)
                self._orphaned(actor_id)

    async def where(self, actor_id: str) -> dict[str, Any]:
        """The address of the actor's worker, once it has one; ``dead`` if it is dead."""
        record = self.actors.get(actor_id)
        if record is None:
            return {"dead": dumps(died(UNKNOWN, actor_id=actor_id))}
        while record.state != "DEAD" and record.address is None:
            await record.placed.wait()
        if record.state == "DEAD":
            return {"dead": record.dead}
        return {"address": record.address}

    async def kill(self, actor_id: str, no_restart: bool, reason: str,
                   graceful: bool = False) -> dict[str, Any]:
        """Kill the actor's process (and bury it, with ``no_restart``). ``placed`` is false
        when no worker hosts it yet: the caller then cancels its reservation task."""
        record = self.actors.get(actor_id)
        if record is None:  # never created on this cluster: a handle of an earlier session
            return {"placed": True, "unknown": True}
        if record.state == "DEAD":
            self._free_name(record)  # ``ray.kill`` frees a dead actor's name at once (Ray)
            return {"placed": True}
        address, error = record.address, record.error(reason)
        if address is None and not no_restart and (
                record.max_restarts < 0 or record.restarts < record.max_restarts):
            # not started yet: as in Ray, the kill costs a restart and the actor starts anew
            record.restarts += 1
            record.started = True
            return {"placed": True}
        if no_restart or address is None:
            self._bury(record, error)
        if address is None:  # buried before it started: the caller drops its reservation
            return {"placed": False, "reservation": record.reservation}
        try:
            await asyncio.wait_for(self.scheduler.rpc(address).raylike_actor_kill(
                actor_id=actor_id, no_restart=no_restart, dead=error, graceful=graceful),
                KILL_TIMEOUT)
        except Exception:  # the worker is gone or slow: the registry has buried it anyway
            logger.info("could not reach the host of actor %s", actor_id, exc_info=True)
        # buried: its creator may drop what it kept for restarts
        return {"placed": True, "reservation": record.reservation} if no_restart \
            else {"placed": True}

    async def named(self, name: str, namespace: str | None) -> dict[str, Any]:
        """The pickled handle of the live actor called ``name``, if any."""
        actor_id = self.names.get((namespace, name))
        if actor_id is None:
            return {"handle": None}
        record = self.actors[actor_id]
        await self._submitted(record)
        return {"handle": record.handle}

    async def _submitted(self, record: _Record) -> None:
        """Wait until the creator of a named actor has submitted its reservation task (it
        claims the name first). A handle given out before would name a key the scheduler does
        not know yet; a process on the creator's worker, whose client is the creator's, would
        then hold a future of that key, and Dask's ``submit`` of a key its client already has
        a future of sends nothing: the actor would never be created."""
        if record.submitted.is_set() or record.state == "DEAD":
            return
        try:
            await asyncio.wait_for(record.submitted.wait(), SUBMIT_WAIT)
        except asyncio.TimeoutError:  # its creator died before submitting: give it anyway
            logger.warning("actor %s: its reservation task was not submitted in %.0f s",
                           record.actor_id, SUBMIT_WAIT)

    def list_named(self, namespace: str | None, all_namespaces: bool) -> list[list[Any]]:
        """``[namespace, name]`` of every live named actor (of ``namespace`` unless all)."""
        return [[ns, name] for (ns, name), actor_id in self.names.items()
                if (all_namespaces or ns == namespace)
                and self.actors[actor_id].state != "DEAD"]

    async def shutdown_job(self, job_id: str) -> None:
        """A driver shuts down: its actors that are not detached die."""
        for record in self.actors.values():
            if record.job_id == job_id and record.state == "DEAD":
                self._free_name(record)  # its owner is gone, so are its handles
        doomed = [r.actor_id for r in self.actors.values()
                  if r.job_id == job_id and not r.detached and r.state != "DEAD"]
        await asyncio.gather(*(self.kill(a, True, OWNER_DIED) for a in doomed))

    # -- scheduler events ---------------------------------------------------------------------
    def transition(self, key: Any, start: str, finish: str, *args: Any, **kwargs: Any) -> None:
        actor_id = self.reservations.get(key) if isinstance(key, str) else None
        if actor_id is None:
            return
        record = self.actors.get(actor_id)
        if record is not None:
            record.submitted.set()
        if finish not in ("forgotten", "erred"):
            return
        if record is not None and record.state == "DEAD":
            if finish == "forgotten":  # the last handle to a dead actor went: so does its name
                self._free_name(record)
            return
        # forgotten: no handle and no pending call refers to the actor any more
        reason = OUT_OF_SCOPE if finish == "forgotten" else CRASHED
        task = asyncio.ensure_future(self.kill(actor_id, True, reason, graceful=True))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def remove_worker(self, scheduler: Any, worker: str, **kwargs: Any) -> None:
        for record in self.actors.values():
            if record.address != worker or record.state == "DEAD":
                continue
            if record.max_restarts < 0 or record.restarts < record.max_restarts:
                # Dask runs the reservation task again elsewhere; calls wait for it
                internals.forgive_worker_losses(scheduler, record.reservation)
                record.restarts += 1
                record.state, record.address = "RESTARTING", None
                record.placed.clear()
                self._orphaned(record.actor_id)
            else:
                state = scheduler.plugins.get("raylike-state")
                expected = worker in getattr(state, "closing", ()) or \
                    getattr(state, "left", {}).get(worker, {}).get("expected", False)
                self._bury(record, record.error(node_died(_ids.node_id(worker), expected)),
                           keep_name=True)

    def _bury(self, record: _Record, dead: bytes, keep_name: bool = False) -> None:
        """The actor is dead. ``keep_name``: it died of itself (crash, exit, its node), not by
        ``ray.kill`` or for want of handles; as in Ray, a non-detached actor's name then stays
        taken (and ``get_actor`` finds it, dead) until its last handle goes."""
        record.state, record.dead = "DEAD", dead
        if not (keep_name and record.name is not None and not record.detached):
            self._free_name(record)
        record.placed.set()
        self._orphaned(record.actor_id)

    def _free_name(self, record: _Record) -> None:
        record.handle = b""
        if record.name is not None and self.names.get((record.namespace, record.name)) \
                == record.actor_id:
            del self.names[(record.namespace, record.name)]
        self.reservations.pop(record.reservation, None)

    def _orphaned(self, owner: str) -> None:
        """Kill the actors ``owner`` created, but not detached ones: they share its fate."""
        for record in list(self.actors.values()):
            if record.owner == owner and not record.detached and record.state != "DEAD":
                task = asyncio.ensure_future(self.kill(record.actor_id, True, OWNER_ACTOR_DIED))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
