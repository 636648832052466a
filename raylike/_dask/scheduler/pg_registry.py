"""The placement group registry: a scheduler plugin that knows every placement group.

For each group: its bundles, strategy, name, state (``PENDING`` until every bundle's reservation
task runs, ``CREATED``, ``REMOVED``) and the node holding each bundle. It chooses the workers
for a group's bundles (:func:`assign`, by the group's strategy and what the workers declare),
waits with callers for a group to be created, and on removal ends the reservation tasks: queued
ones are released (Dask forgets them), running ones are told through their worker's
``raylike_pg_release`` handler (``raylike._dask.worker.pg_host``).
"""
from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from distributed.diagnostics.plugin import SchedulerPlugin

from raylike._dask import internals
from raylike._dask.scheduler.placement import set_resources

PG_PLUGIN = "raylike-placement-groups"
MISSING_GRACE = 2.0  # seconds ``wait`` waits for a group not known yet
CREATED_TOPIC = "raylike-pg-created"  # each group created, for the clients that watch
GROUP_MARK = "_group_"  # in every resource a bundle declares (Ray's names)
logger = logging.getLogger("raylike.placement_groups")


@dataclass(eq=False)
class _Group:
    """What the registry knows about one placement group."""

    pg_id: str
    name: str
    namespace: str | None
    bundles: list[dict[str, float]]
    strategy: str
    detached: bool
    job_id: str
    state: str = "PENDING"
    selectors: list[dict[str, str]] | None = None  # ``bundle_label_selector``
    workers: list[str | None] = field(default_factory=list)  # assigned worker per bundle
    nodes: dict[int, str] = field(default_factory=dict)  # bundle index -> node id, once held
    reservations: list[str] = field(default_factory=list)
    created_at: float = field(default_factory=time.monotonic)
    latency_ms: float = 0.0
    # why a try to place it failed, as Ray's ``scheduling_state``: ``NO_RESOURCES`` (no room
    # now), ``INFEASIBLE`` (a bundle no node could ever hold); "" before any try
    short: str = ""
    created: asyncio.Event = field(default_factory=asyncio.Event)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def row(self) -> dict[str, Any]:
        """The group as ``placement_group_table`` shows it (Ray's keys)."""
        return {
            "placement_group_id": self.pg_id, "name": self.name,
            "bundles": {i: dict(b) for i, b in enumerate(self.bundles)},
            "bundles_to_node_id": {i: self.nodes.get(i, "") for i in range(len(self.bundles))},
            "strategy": self.strategy, "state": self.state,
            "stats": {"end_to_end_creation_latency_ms": self.latency_ms,
                      "scheduling_latency_ms": self.latency_ms,
                      "scheduling_attempt": 1, "highest_retry_delay_ms": 0.0,
                      "scheduling_state": {"CREATED": "FINISHED", "REMOVED": "REMOVED"}.get(
                          self.state, self.short or "QUEUED")},
        }


class PlacementGroupRegistry(SchedulerPlugin):
    """Scheduler-side state of the cluster's placement groups, served through RPC handlers."""

    name = PG_PLUGIN
    idempotent = True

    async def start(self, scheduler: Any) -> None:
        self.scheduler = scheduler
        self.groups: dict[str, _Group] = {}
        self.live: dict[str, _Group] = {}  # the groups not removed (what holds room)
        self.names: dict[tuple[str | None, str], str] = {}
        self.workers_changed = asyncio.Event()
        self.appeared = asyncio.Event()  # set (and replaced) when a group is recorded
        for op in ("create", "place", "place_many", "placed", "wait", "remove", "remove_job",
                   "table", "lookup"):
            internals.add_scheduler_handlers(scheduler, {f"raylike_pg_{op}": getattr(self, op)})
        internals.add_scheduler_handlers(scheduler, {}, {"raylike-pg-resources": self.resources})
        self._releasing: set[asyncio.Task[None]] = set()

    def add_worker(self, scheduler: Any, worker: str) -> None:
        self._room_changed()

    def _room_changed(self) -> None:
        """Wake every pending ``place``: a worker joined or a group gave its room back. (A
        fresh event each time: a waiter holds the one it saw before its last look.)"""
        self.workers_changed.set()
        self.workers_changed = asyncio.Event()

    # -- handlers ----------------------------------------------------------------------------
    async def create(self, pg_id: str, name: str, namespace: str | None,
                     bundles: list[dict[str, float]], strategy: str, detached: bool,
                     job_id: str, selectors: list[dict[str, str]] | None = None,
                     **_: Any) -> dict[str, Any]:
        """Record the group and try to place it now (one round trip for the creator): the
        answer of :meth:`place` with no wait, or ``{"status": "taken"}`` (its name is)."""
        if name and (namespace, name) in self.names:
            return {"status": "taken"}
        group = _Group(pg_id, name, namespace, bundles, strategy, detached, job_id,
                       selectors=selectors or None)
        self.groups[pg_id] = self.live[pg_id] = group
        self.appeared.set()
        self.appeared = asyncio.Event()
        if name:
            self.names[(namespace, name)] = pg_id
        return await self.place(pg_id, 0.0)

    async def place(self, pg_id: str, timeout: float = 0.0, **_: Any) -> dict[str, Any]:
        """Workers for the group's bundles: ``{"status": "placed", "workers": [...]}``, or
        ``"pending"`` (the room not promised to other groups cannot hold them now; waits up
        to ``timeout`` for a worker to join or a group to go; ``feasible``: the workers'
        declared resources could), or ``"removed"``. As in Ray, a group is placed only where
        all its bundles fit now: one placed on a worker whose room another group holds would
        stay there, waiting, even after a new node joined."""
        return (await self.place_many([pg_id], timeout, pending=True))[pg_id]

    async def place_many(self, pg_ids: list[str], timeout: float = 0.0, pending: bool = False,
                         **_: Any) -> dict[str, dict[str, Any]]:
        """:meth:`place` for several groups, tried in the order given (their creation's):
        the answers of those placed or removed, once there is one or ``timeout`` passed (and
        of those still pending too with ``pending``). One request waits for all the pending
        groups of a process, so a thousand of them are not a thousand requests."""
        deadline = time.monotonic() + timeout
        while True:
            changed = self.workers_changed
            capacity = self._capacity()
            answers = {pg_id: self._try_place(pg_id, capacity) for pg_id in pg_ids}
            done = {k: v for k, v in answers.items() if v["status"] != "pending"}
            left = deadline - time.monotonic()
            if done and not pending or len(done) == len(answers) or left <= 0:
                return answers if pending else done
            try:
                await asyncio.wait_for(changed.wait(), left)
            except asyncio.TimeoutError:
                pass

    def _try_place(self, pg_id: str, capacity: list[tuple[str, dict[str, float],
                                                             dict[str, float]]]) -> dict[str, Any]:
        """Place the group if its bundles fit the room in ``capacity`` (taken from it)."""
        group = self.groups.get(pg_id)
        if group is None or group.state == "REMOVED":
            return {"status": "removed"}
        if group.workers:
            return {"status": "placed", "workers": group.workers}
        allowed = self._matching(group.selectors)
        workers = assign(group.bundles, group.strategy,
                         [(address, free, free) for address, _, free in capacity], allowed)
        if workers is not None and not _room_for(group.bundles, workers, capacity):
            workers = None  # each bundle fits a worker's room, but not all of them at once
        if workers is not None:
            group.workers = list(workers)
            rooms = {address: free for address, _, free in capacity}
            for address, bundle in zip(workers, group.bundles):
                _add(rooms[address], bundle, -1.0)
            return {"status": "placed", "workers": group.workers}
        group.short = "INFEASIBLE" if any(
            not any(_fits(total, bundle) for _, total, _ in capacity)
            for bundle in group.bundles) else "NO_RESOURCES"
        fit = assign(group.bundles, group.strategy, capacity, allowed)
        whole = [(address, total, total) for address, total, _ in capacity]
        return {"status": "pending",
                "feasible": fit is not None and _room_for(group.bundles, fit, whole)}

    def resources(self, worker: str, resources: dict[str, float],
                  held: dict[str, Any] | None = None, **_: Any) -> None:
        """A worker's new resource totals (a bundle's names added or taken off), on its stream
        (in order with its other messages; no round trip): recorded, the tasks waiting for
        them looked at again (Dask does it only when a worker joins), and ``held``, the
        bundle now held there, noted as :meth:`placed` does; a bundle of a removed group is
        told to end."""
        if worker not in self.scheduler.workers:
            return
        set_resources(self.scheduler, worker, resources)
        if held is None:
            self._room_changed()
            return
        internals.reschedule_unrunnable(self.scheduler, worker, f"raylike-pg-{time.time()}")
        if self.placed(**held) == "removed":
            self._spawn(self._release_one(worker, held["pg_id"]))

    def placed(self, pg_id: str, index: int, node_id: str, reservation: str,
               **_: Any) -> str:
        """Bundle ``index``'s reservation task runs: ``"ok"``, or ``"removed"`` (end it)."""
        group = self.groups.get(pg_id)
        if group is None or group.state == "REMOVED":
            return "removed"
        group.nodes[index] = node_id
        if reservation not in group.reservations:
            group.reservations.append(reservation)
        if len(group.nodes) == len(group.bundles) and group.state == "PENDING":
            group.state = "CREATED"
            group.latency_ms = (time.monotonic() - group.created_at) * 1000.0
            group.created.set()
            # the clients that watch learn it with no request (``pg.wait()`` asks no more)
            self.scheduler.log_event(CREATED_TOPIC, pg_id)
            internals.forget_topic_events(self.scheduler, CREATED_TOPIC)
        return "ok"

    async def wait(self, pg_id: str, timeout: float, **_: Any) -> str:
        """The group's state once it is created, removed, or ``timeout`` passed. A group not
        known yet is waited for a little (``MISSING_GRACE``): its creator does not wait for
        the registry's answer, and may have handed the group to a task already."""
        group = self.groups.get(pg_id)
        deadline = time.monotonic() + min(timeout, MISSING_GRACE)
        while group is None and (left := deadline - time.monotonic()) > 0:
            appeared = self.appeared
            try:
                await asyncio.wait_for(appeared.wait(), left)
            except asyncio.TimeoutError:
                pass
            group = self.groups.get(pg_id)
        if group is None:
            return "MISSING"
        if group.state == "PENDING":
            try:
                await asyncio.wait_for(_first(group.created, group.changed), max(0.0, timeout))
            except asyncio.TimeoutError:
                pass
        return group.state

    async def remove(self, pg_id: str, wait: bool = False, **_: Any) -> str:
        """Mark the group removed and end its bundles (``wait``: before answering)."""
        group = self.groups.get(pg_id)
        if group is None or group.state == "REMOVED":
            return "missing"
        group.state = "REMOVED"
        self.live.pop(pg_id, None)
        group.changed.set()
        if group.name and self.names.get((group.namespace, group.name)) == pg_id:
            del self.names[(group.namespace, group.name)]
        keys = [k for k in _reservation_keys(pg_id, len(group.bundles))
                if k in self.scheduler.tasks]
        if keys and "fire-and-forget" in self.scheduler.clients:
            self.scheduler.client_releases_keys(keys=keys, client="fire-and-forget",
                                                stimulus_id=f"raylike-pg-remove-{time.time()}")
        # as in Ray, removal is answered at once; the bundles end on their workers after
        if wait:
            await self._release_on_workers(group)
        else:
            self._spawn(self._release_on_workers(group))
        self._room_changed()
        return "ok"

    async def remove_job(self, job_id: str, **_: Any) -> int:
        """Remove the job's groups that are not detached (its driver shut down)."""
        ids = [g.pg_id for g in self.live.values() if g.job_id == job_id and not g.detached]
        await asyncio.gather(*(self.remove(pg_id, wait=True) for pg_id in ids))
        return len(ids)

    def table(self, pg_id: str | None = None, **_: Any) -> Any:
        if pg_id is not None:
            group = self.groups.get(pg_id)
            return group.row() if group is not None else {}
        return {g.pg_id: g.row() for g in self.groups.values()}

    def lookup(self, name: str, namespace: str | None, **_: Any) -> dict[str, Any] | None:
        pg_id = self.names.get((namespace, name))
        group = self.groups.get(pg_id) if pg_id else None
        return None if group is None else {"pg_id": pg_id, "bundles": group.bundles}

    # -- helpers -----------------------------------------------------------------------------
    def _spawn(self, work: Any) -> None:
        task = asyncio.ensure_future(work)
        self._releasing.add(task)
        task.add_done_callback(self._releasing.discard)

    async def _release_on_workers(self, group: _Group) -> None:
        """Tell every worker that may hold one of the group's bundles to end it."""
        addresses = {a for a in group.workers if a}  # none: never placed, nothing held
        await asyncio.gather(*(self._release_one(a, group.pg_id) for a in addresses))

    async def _release_one(self, address: str, pg_id: str) -> None:
        if address not in self.scheduler.workers:
            return
        try:
            await asyncio.wait_for(self.scheduler.rpc(address).raylike_pg_release(pg_id=pg_id),
                                   10.0)
        except Exception:  # a worker without a bundle of it yet, or gone
            logger.debug("release of %s on %s failed", pg_id, address, exc_info=True)

    def _matching(self, selectors: list[dict[str, str]] | None) -> list[set[str]] | None:
        """For each bundle, the workers whose labels match its selector (None: any)."""
        if not selectors:
            return None
        from raylike._api import labels as _labels

        labels = {a: _labels.node_labels(a, {"resources": ws.resources, **(ws.extra or {})})
                  for a, ws in self.scheduler.workers.items()}
        return [{a for a, found in labels.items()
                 if _labels.matches(found, _labels.conditions(selector))}
                for selector in selectors]

    def _capacity(self) -> list[tuple[str, dict[str, float], dict[str, float]]]:
        """Each running worker: its address, its declared resources (without the groups'),
        and what is not yet promised to placement groups."""
        promised: dict[str, dict[str, float]] = {}
        for group in self.live.values():
            for address, bundle in zip(group.workers, group.bundles):
                if address:
                    _add(promised.setdefault(address, {}), bundle, 1.0)
        out = []
        for address, ws in self.scheduler.workers.items():
            total = {k: float(v) for k, v in ws.resources.items() if GROUP_MARK not in k}
            free = dict(total)
            _add(free, promised.get(address, {}), -1.0)
            out.append((address, total, free))
        return out


def _reservation_keys(pg_id: str, count: int) -> list[str]:
    """The keys of a group's reservation tasks (``_dask.client.placement_groups._reserve``)."""
    return [f"placement_group.{pg_id}-{index}" for index in range(count)]


async def _first(*events: asyncio.Event) -> None:
    waiters = [asyncio.ensure_future(e.wait()) for e in events]
    try:
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waiters:
            w.cancel()


def _add(total: dict[str, float], more: dict[str, float], sign: float) -> None:
    for name, value in more.items():
        total[name] = total.get(name, 0.0) + sign * float(value)


def _fits(room: dict[str, float], bundle: dict[str, float]) -> bool:
    return all(room.get(k, 0.0) + 1e-9 >= v for k, v in bundle.items() if v > 0)


def _room_for(bundles: list[dict[str, float]], workers: list[str],
              capacity: list[tuple[str, dict[str, float], dict[str, float]]]) -> bool:
    """Whether the bundles given to each worker fit its room not yet promised, together."""
    room = {address: free for address, _, free in capacity}
    given: dict[str, dict[str, float]] = {}
    for address, bundle in zip(workers, bundles):
        _add(given.setdefault(address, {}), bundle, 1.0)
    return all(_fits(room.get(address, {}), need) for address, need in given.items())


def _summed(bundles: list[dict[str, float]]) -> dict[str, float]:
    total: dict[str, float] = {}
    for bundle in bundles:
        _add(total, bundle, 1.0)
    return total


def assign(bundles: list[dict[str, float]], strategy: str,
           workers: list[tuple[str, dict[str, float], dict[str, float]]],
           allowed: list[set[str]] | None = None) -> list[str] | None:
    """A worker address for each bundle, by ``strategy``; None if no choice fits the workers'
    declared resources. Among choices that fit, those with room not yet promised to other
    groups come first (a bundle on a busy worker waits there for its resources).
    ``allowed``: for each bundle, the only workers it may go to (its label selector)."""
    if strategy == "STRICT_PACK":
        need = _summed(bundles)
        for key in (2, 1):  # room not promised first, then what the worker declares
            for address, *rooms in workers:
                if _fits(rooms[key - 1], need) and all(address in a for a in allowed or ()):
                    return [address] * len(bundles)
        return None
    if strategy == "PACK":
        packed = assign(bundles, "STRICT_PACK", [w for w in workers if _fits(w[2], _summed(
            bundles))], allowed)
        if packed is not None:
            return packed
    distinct = strategy == "STRICT_SPREAD"
    spread = strategy in ("SPREAD", "STRICT_SPREAD")
    free = {address: dict(room) for address, _, room in workers}
    used: dict[str, int] = {address: 0 for address, _, _ in workers}
    chosen: list[str] = []
    order = sorted(range(len(bundles)), key=lambda i: -sum(bundles[i].values()))
    result: list[str | None] = [None] * len(bundles)
    for i in order:
        bundle = bundles[i]
        candidates = [(address, total) for address, total, _ in workers
                      if _fits(total, bundle) and not (distinct and address in chosen)
                      and (allowed is None or address in allowed[i])]
        if not candidates:
            return None
        # spreading: fewest bundles of this group first; packing: room not promised first,
        # then the workers holding most of the group
        candidates.sort(key=lambda c: (used[c[0]], not _fits(free[c[0]], bundle)) if spread
                        else (not _fits(free[c[0]], bundle), -used[c[0]]))
        address = candidates[0][0]
        result[i] = address
        chosen.append(address)
        used[address] += 1
        _add(free[address], bundle, -1.0)
    return [a for a in result if a is not None]
