"""A worker's lane to its own node's lease desk, in process: the tasks its task and actor
processes submit run in leased slots of this node, as a driver's do over its lane.

A driver reaches a node's ``LeaseDesk`` (``raylike._dask.worker.leases``) over a socket; a
worker *is* the node, so its ``TaskLeases`` (``raylike._dask.client.leases``) gets this object
instead: the same calls (``lease``, ``forget``, ``push``, ``held``), made straight on the desk,
whose answers come back as the desk gives them (``inline``: in the lease's thread, with no hop
through the event loop). The worker asks Dask for leases pinned to itself, so a lease always
starts where this lane reaches.
"""
from __future__ import annotations

import concurrent.futures
import itertools
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from raylike._dask.worker.node import NodePlugin

Answer = tuple[str, Any]
Waiting = concurrent.futures.Future[Answer]


class NodeLane:
    """The worker's own lane to its node's lease desk (the desk's *peer* for these tasks)."""

    inline = True  # the desk answers in the thread that has the answer (``LeaseDesk.tell``)

    def __init__(self, node: NodePlugin) -> None:
        self.node = node
        self.address = node.worker.address
        self.closed = False
        self._lock = threading.Lock()
        self._ids = itertools.count()
        self._pending: dict[int, Waiting] = {}

    def _wait(self) -> tuple[int, Waiting]:
        future: Waiting = concurrent.futures.Future()
        with self._lock:
            rid = next(self._ids)
            self._pending[rid] = future
        return rid, future

    # -- the desk's peer ----------------------------------------------------------------------
    def answer(self, rid: int, status: str, payload: Any) -> None:
        with self._lock:
            future = self._pending.pop(rid, None)
        if future is not None and not future.done():
            future.set_result((status, payload))

    # -- what ``TaskLeases`` asks of a lane ---------------------------------------------------
    def lease(self, lease_id: str, shape: str) -> tuple[Waiting, Waiting] | None:
        """Expect lease ``lease_id`` here: answered ``("ok", address)`` when it starts, and
        again when it ends (see ``raylike._transport.lane.Lane.lease``)."""
        if self.closed:
            return None
        (grant_id, grant), (end_id, end) = self._wait(), self._wait()
        self.node.leases.expect(self, grant_id, end_id, lease_id, shape)
        return grant, end

    def forget(self, lease_ids: list[str]) -> None:
        self.node.leases.forget(self, lease_ids)

    def held(self, keys: list[str]) -> None:
        self.node.leases.held(keys)

    def push(self, tasks: list[tuple[str, Any, list[tuple[str, Any]]]]
             ) -> list[Waiting] | None:
        """Tasks ``(shape, call, arguments)`` for this worker's leases here: each answered
        as the desk answers it (the task's ``(status, payload)``, or ``("moved", None)``)."""
        if self.closed:
            return None
        waits = [self._wait() for _ in tasks]
        self.node.leases.push(self, [(rid, *task) for (rid, _), task in zip(waits, tasks)])
        return [future for _, future in waits]

    def close(self) -> None:
        """The worker is closing: its leases end, whatever waits is answered ``absent``."""
        with self._lock:
            self.closed = True
            pending, self._pending = self._pending, {}
        self.node.leases.peer_closed(self)
        for future in pending.values():
            if not future.done():
                future.set_result(("absent", None))


def lanes_of(worker: Any) -> Callable[[], list[NodeLane]]:
    """The lanes of ``worker``'s own leases: its node's ``NodeLane`` (made on first use; none
    while the node plugin is missing or once the lane closed)."""
    lanes: list[NodeLane] = []

    def lanes_now() -> list[NodeLane]:
        if not lanes:
            from raylike._dask.worker.node import PLUGIN_NAME

            node = worker.plugins.get(PLUGIN_NAME)
            if node is None or getattr(node, "leases", None) is None:
                return []
            lanes.append(node.leases.own_lane())
        return [lane for lane in lanes if not lane.closed]
    return lanes_now
