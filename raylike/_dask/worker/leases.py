"""Task leases: an owner (a driver on this host, or this worker for its task and actor
processes) runs its tasks here without Dask's scheduler per task.

Ray's owners lease a worker once and push many tasks to it. Here a *lease* is a Dask task,
:func:`hold_lease`, that a driver submits with the resources of its tasks (``CPU: 1`` for a
default task): Dask places it and counts its resources while it runs, so the scheduler, the
dashboard and other clients see the slot taken. While it runs, its thread takes that driver's
tasks of that shape from a queue on this node and runs each as Dask would have run it
(``NodePlugin.run_task``: a process of the node's pool, retries, cancel, the CPU given back
while the task blocks); the driver pushes the tasks over its lane (``raylike._transport.lane``)
and each answer goes back on the lane. One queue per driver and shape is shared by all that
driver's leases here, so a task waits for whichever lease frees first. A lease ends when its
queue stays empty for ``IDLE`` seconds or the driver's lane closes; a task pushed to a queue
with no lease left is answered ``moved`` (the driver places it again), and one its driver
takes back (:meth:`reclaim`: a lease of its shape is free elsewhere) ``back``.

The driver registers each lease it asks for on all its lanes first (``expect``); the lease task
finds the registration where Dask placed it, or ends at once (``unserved``) on a worker that
has none (a driver on another host: its tasks keep Dask's path). This worker's own tasks (those
its task and actor processes submit) come through ``lease_lane.NodeLane``, in process.
"""
from __future__ import annotations

import ast
import collections
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from distributed import get_worker

from raylike._api.objects import _Borrowed
from raylike._api.serialization import dumps_error, loads_to_keep
from raylike._dask import internals
from raylike._dask.client.local_objects import keep_here
from raylike._dask.client.waiting import worker_values
from raylike._dask.worker import task_events as _task_events
from raylike._transport.lane import value_answer
from raylike.exceptions import RaySystemError

if TYPE_CHECKING:
    from raylike._dask.worker.lease_lane import NodeLane
    from raylike._dask.worker.node import NodePlugin

logger = logging.getLogger("raylike.leases")
IDLE = 0.05  # seconds a lease waits for a task before it ends
GRANT_WAIT = 2.0  # seconds a lease task waits for its driver's registration on the lane
KEPT_FOR = 60.0  # seconds a result holding refs stays held here at most for its driver


@dataclass
class _Queue:
    """One driver's pushed tasks of one shape on this node, and its leases here."""

    ready: threading.Condition  # on the desk's lock: a task was pushed, or the queue closed
    peer: Any = None  # its owner's lane (or this worker's ``NodeLane``)
    cpus: float = 0.0  # the CPUs of its shape
    items: collections.deque[tuple[int, Any, list[tuple[str, Any]]]] = field(
        default_factory=collections.deque)
    leases: int = 0
    closed: bool = False


class LeaseDesk:
    """The node's leases and their task queues. The lane calls :meth:`expect`, :meth:`forget`,
    :meth:`push` and :meth:`peer_closed` on the event loop; lease tasks call :meth:`hold`."""

    def __init__(self, node: NodePlugin) -> None:
        self.node = node
        self.lock = threading.Lock()
        self.registered = threading.Condition(self.lock)  # a lease was registered
        self.waiters: dict[str, tuple[Any, int, int, str]] = {}  # lease id -> its driver's
        self.queues: dict[tuple[int, str], _Queue] = {}  # (id of the driver's peer, shape)
        self.kept: dict[str, tuple[float, Any]] = {}  # results held for their driver
        self._own: NodeLane | None = None  # this worker's own lane (``own_lane``)

    def own_lane(self) -> NodeLane:
        """This worker's lane to this desk, for the tasks its processes submit."""
        from raylike._dask.worker.lease_lane import NodeLane

        with self.lock:
            if self._own is None:
                self._own = NodeLane(self.node)
            return self._own

    # -- on the event loop (the lane) -------------------------------------------------------
    def expect(self, peer: Any, grant: int, end: int, lease_id: str, shape: str) -> None:
        """The driver of ``peer`` asked for lease ``lease_id``: answer ``grant`` when it starts
        here and ``end`` when it ends."""
        with self.lock:
            self.waiters[lease_id] = (peer, grant, end, shape)
            self.registered.notify_all()

    def forget(self, peer: Any, lease_ids: list[str]) -> None:
        """The leases were granted elsewhere: drop their registrations (answered absent)."""
        with self.lock:
            gone = [self.waiters.pop(i) for i in lease_ids if i in self.waiters]
        for owner, grant, end, _ in gone:
            owner.answer(grant, "absent", None)
            owner.answer(end, "absent", None)

    def push(self, peer: Any, items: list[tuple[int, str, Any, list[tuple[str, Any]]]]) -> None:
        """Tasks for the leases of ``peer``'s driver: queued, or ``moved`` when no lease of
        that shape is left here."""
        moved = []
        with self.lock:
            for rid, shape, call, deps in items:
                queue = self.queues.get((id(peer), shape))
                if queue is None or queue.leases <= 0 or queue.closed:
                    moved.append(rid)
                    continue
                queue.items.append((rid, call, deps))
                queue.ready.notify()
                _task_events.task_arrived(call)
        for rid in moved:
            peer.answer(rid, "moved", None)

    def reclaim(self, peer: Any, rid: int, shape: str, count: int) -> None:
        """The driver of ``peer`` takes back up to ``count`` of its tasks of ``shape`` queued
        here, not started (a lease of that shape is free on another node): the last pushed
        first, each answered ``back``; ``rid`` is answered with how many."""
        with self.lock:
            queue = self.queues.get((id(peer), shape))
            taken: list[tuple[int, Any, list[tuple[str, Any]]]] = []
            while queue is not None and queue.items and len(taken) < count:
                taken.append(queue.items.pop())
        for item_rid, call, _deps in taken:
            _task_events.task_left(call.key)
            peer.answer(item_rid, "back", None)
        peer.answer(rid, "ok", len(taken))

    def peer_closed(self, peer: Any) -> None:
        """The driver went away: its leases end and its queued tasks are dropped."""
        with self.lock:
            for lease_id in [i for i, w in self.waiters.items() if w[0] is peer]:
                del self.waiters[lease_id]
            for (owner, _), queue in self.queues.items():
                if owner == id(peer):
                    queue.closed = True
                    queue.items.clear()
                    queue.ready.notify_all()

    # -- in a lease task's thread -----------------------------------------------------------
    def hold(self, lease_id: str) -> str:
        """Serve lease ``lease_id``: run its driver's tasks until its queue stays empty."""
        deadline = time.monotonic() + GRANT_WAIT
        with self.lock:
            while lease_id not in self.waiters:
                left = deadline - time.monotonic()
                if left <= 0:
                    return "unserved"  # its driver has no lane here
                self.registered.wait(left)
            peer, grant, end, shape = self.waiters.pop(lease_id)
            slot = (id(peer), shape)
            queue = self.queues.get(slot)
            if queue is None or queue.closed:
                queue = self.queues[slot] = _Queue(threading.Condition(self.lock), peer,
                                                   _cpus_of(shape))
            queue.leases += 1
        self.tell(peer, grant, "ok", self.node.worker.address)
        try:
            while True:
                item = self._next(queue, slot)
                if item is None:
                    return "idle"
                rid, call, deps = item
                answer = self._run(call, deps)
                self.tell(peer, rid, *answer)
        finally:
            self.tell(peer, end, "ok", None)

    # -- a blocked task's CPU lent to a queue here ------------------------------------------
    def lend(self, cpus: float, lender: Any) -> bool:
        """A task here blocks in ``get`` and frees its ``cpus``: rather than give them back
        to Dask, whose next lease would start only after a scheduler round trip, lend them
        to a queue here whose tasks (of that many CPUs) wait for a lease. A *borrower* thread
        runs that queue's tasks while ``lender`` stays blocked (it stops taking more once the
        lender wakes), then gives the CPUs back to Dask: Dask's accounts read as if the
        lender had given them back and a lease of that queue had taken them at once. False
        if no queue waits: the caller gives them back to Dask."""
        with self.lock:
            found = next(((slot, q) for slot, q in self.queues.items()
                          if q.items and not q.closed and q.cpus == cpus), None)
            if found is None:
                return False
            slot, queue = found
            queue.leases += 1
        threading.Thread(target=self._borrow, args=(queue, slot, lender), daemon=True,
                         name="raylike-lease-borrower").start()
        return True

    def _borrow(self, queue: _Queue, slot: tuple[int, str], lender: Any) -> None:
        try:
            while True:
                with self.lock:
                    if not queue.items or queue.closed or not lender.blocked():
                        queue.leases -= 1
                        if queue.leases <= 0 and self.queues.get(slot) is queue:
                            del self.queues[slot]
                        return
                    rid, call, deps = queue.items.popleft()
                answer = self._run(call, deps)
                self.tell(queue.peer, rid, *answer)
        finally:
            self.node.adjust_cpu(queue.cpus)  # the lent CPUs go back to Dask now

    def tell(self, peer: Any, rid: int, status: str, payload: Any) -> None:
        """Answer ``peer`` from a lease's thread: a lane's on the event loop (it writes to
        its socket); this worker's own (``lease_lane.NodeLane``, ``inline``) at once."""
        if getattr(peer, "inline", False):
            peer.answer(rid, status, payload)
        else:
            self.node.worker.loop.add_callback(peer.answer, rid, status, payload)

    def _next(self, queue: _Queue, slot: tuple[int, str]
              ) -> tuple[int, Any, list[tuple[str, Any]]] | None:
        """The next task of the queue, or ``None`` (the lease ends) once it stayed empty."""
        with self.lock:
            deadline = time.monotonic() + IDLE
            while not queue.items and not queue.closed:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                queue.ready.wait(left)
            if queue.items and not queue.closed:
                return queue.items.popleft()
            queue.leases -= 1
            if queue.leases <= 0 and self.queues.get(slot) is queue:
                del self.queues[slot]
            return None

    def _run(self, call: Any, deps: list[tuple[str, Any]]) -> tuple[str, Any]:
        """Run one pushed task here: ``(status, payload)`` for its driver."""
        _task_events.started(call.key)
        try:
            values = tuple(self._argument(kind, value) for kind, value in deps)
            result = self.node.run_task(call, values)
            with _Borrowed() as borrowed:
                answer = value_answer(result)
            if answer[0] != "ok":
                answer = "err", dumps_error(RaySystemError(
                    f"The result of {call.name} could not be sent to its driver."))
            elif borrowed.refs:  # refs the task made, in its result: they live as long as
                # the result does, kept here as Dask data (as on Dask's path)
                self._keep(call.key, result)
                answer = "kept", answer[1]
        except BaseException as exc:  # the task's error (a crash, a cancel, ...) is its value
            answer = "err", dumps_error(exc)
            if _task_events.interrupted(exc):  # Ray lists it FINISHED, with no error type
                _task_events.ended_now(call.key, "ok")
                return answer
        _task_events.ended_now(call.key, "err" if answer[0] == "err" else "ok",
                               answer[1] if answer[0] == "err" else None)
        return answer

    def _keep(self, key: str, value: Any) -> None:
        """Store ``value`` as Dask object ``key``, held here until its driver, answered
        ``kept``, holds the key itself (:meth:`held`), or ``KEPT_FOR`` seconds at most."""
        backend = self.node.backend()
        fut = keep_here(self.node.worker, backend.client, key, value)
        now = time.monotonic()
        with self.lock:
            self.kept[key] = (now + KEPT_FOR, fut)
            for old in [k for k, (until, _) in self.kept.items() if until < now]:
                del self.kept[old]

    def held(self, keys: list[str]) -> None:
        """The driver holds these kept results now (on the event loop): let them go here."""
        with self.lock:
            for key in keys:
                self.kept.pop(key, None)

    def _argument(self, kind: str, value: Any) -> Any:
        """A top-level argument: sent with the task (``"value"``: its frames) or a Dask key
        (``"key"``): the object as this worker stores it (as Dask hands a task its
        dependency: a value kept as its bytes stays so), or fetched from where Dask holds it."""
        if kind == "value":  # as a worker keeps a put value: one that does not pickle
            return loads_to_keep(value)  # again stays its bytes, for the task to unpickle
        found, stored = internals.memory_value(self.node.worker, value)  # no loop hop
        if not found:
            [(found, stored)] = worker_values(self.node.worker, [value])
        if found:
            return stored
        backend = self.node.backend()
        return backend.get([backend.ref(value)], None)[0]


def _cpus_of(shape: str) -> float:
    """The CPUs of a lease shape (``repr(sorted(resources.items()))``, its owner's)."""
    try:
        return float(dict(ast.literal_eval(shape)).get("CPU", 0.0))
    except (ValueError, SyntaxError, TypeError):
        return 0.0


def hold_lease(lease_id: str) -> str:
    """What a lease's Dask task runs: serve lease ``lease_id`` on this worker's node."""
    from raylike._dask.worker.node import PLUGIN_NAME

    node = get_worker().plugins[PLUGIN_NAME]
    return node.leases.hold(lease_id)  # type: ignore[attr-defined]
