"""An owner's lease requests (``leases``): how many to ask Dask for, and what a grant, the end
of a lease, or a lease that never started does to the tasks waiting for one.

A lease is a Dask task (``raylike._dask.worker.leases.hold_lease``) with the tasks' resources,
registered on each of the owner's lanes before it is submitted; the node where Dask starts it
answers ``grant`` on its lane, and ``end`` when it ends. A task that waits here for a lease
longer than ``WAIT_FOR_LEASE`` takes Dask's path, and so does every task of its shape for a
while after.
"""
from __future__ import annotations

import collections
import concurrent.futures
import functools
import logging
import threading
import time
import uuid
from typing import Any

from raylike._dask.client.callbacks import when_done
from raylike._dask.client.lease_book import (
    MAX_REQUESTS,
    WAIT_FOR_LEASE,
    Answer,
    Lease,
    LeaseBook,
    Place,
)
from raylike._dask.worker.leases import hold_lease

logger = logging.getLogger("raylike.leases")


class LeaseRequests(LeaseBook):
    """Asks Dask for leases, and hears when they start and end."""

    def _more(self, shape: str) -> None:
        """Ask for more leases of ``shape`` while its tasks (pushed or waiting here) outnumber
        its leases and the requests not granted yet (``MAX_REQUESTS`` of those at most). A
        request Dask cannot grant yet waits there: a task that blocks in ``get`` gives its
        CPU back, and the lease asked for then runs the tasks queued behind it."""
        with self._lock:
            places = [p for p in self._places.get(shape, ()) if not p.lane.closed]
            leases = sum(len(p.leases) for p in places)
            work = sum(p.in_flight for p in places) + len(self._waiting.get(shape, ()))
            pending = self._requests.get(shape, 0)
            more = min(work - leases - pending, MAX_REQUESTS - pending)
            if more <= 0:
                return
            self._requests[shape] = pending + more
            resources = self._resources[shape]
        for _ in range(more):
            self._request(shape, resources)

    def _request(self, shape: str, resources: dict[str, float]) -> None:
        """Ask Dask for one more lease of ``shape`` (registered on every lane first)."""
        lease_id = uuid.uuid4().hex
        lease = Lease(shape)
        with self._lock:
            if self._closed:
                self._requests[shape] -= 1
                return
            self._leases[lease_id] = lease
        asked = [(lane, r) for lane in self._lanes()
                 if (r := lane.lease(lease_id, shape)) is not None]
        if not asked:
            self._lease_done(shape, lease_id, None)
            return
        for lane, (grant, end) in asked:
            grant.add_done_callback(functools.partial(
                self._on_grant, shape, lease_id, lane, [other for other, _ in asked]))
            end.add_done_callback(functools.partial(self._on_end, shape, lease_id, lane))
        try:
            fut = self.client.submit(hold_lease, lease_id, key=f"raylike-lease-{lease_id}",
                                     resources=resources, pure=False, retries=0,
                                     **self._lease_placement)
        except Exception:  # the client is closing
            logger.debug("could not ask for a lease", exc_info=True)
            self._lease_done(shape, lease_id, None)
            return
        with self._lock:
            lease.future = fut  # held until it ends
        when_done(fut, functools.partial(self._lease_done, shape, lease_id))

    def _on_grant(self, shape: str, lease_id: str, lane: Any, asked: list[Any],
                  fut: concurrent.futures.Future[Answer]) -> None:
        if fut.result()[0] != "ok":
            return  # it started elsewhere (or this lane closed)
        with self._lock:
            lease = self._leases.get(lease_id)
            if lease is None or lease.state != "asked":
                return  # its Dask task ended first
            lease.state = "granted"
            self._requests[shape] -= 1
            places = self._places.setdefault(shape, [])
            place = next((p for p in places if p.lane is lane), None)
            if place is None:
                place = Place(lane)
                places.append(place)
            place.leases.add(lease_id)
            waiting = list(self._waiting.pop(shape, ()))
        for other in asked:
            if other is not lane:
                other.forget([lease_id])
        for item in waiting:
            self._dispatch(item)
        self._spill(shape)
        self._more(shape)

    def _on_end(self, shape: str, lease_id: str, lane: Any,
                fut: concurrent.futures.Future[Answer]) -> None:
        with self._lock:
            for place in self._places.get(shape, ()):
                if place.lane is lane:
                    place.leases.discard(lease_id)
        self._more(shape)

    def _lease_done(self, shape: str, lease_id: str, _fut: Any) -> None:
        """The lease's Dask task ended (or was never sent); one that never started here (no
        lane of this owner where Dask placed it, or it failed) sends the tasks waiting for
        a lease of its shape down Dask's path, and later ones for a while."""
        with self._lock:
            lease = self._leases.pop(lease_id, None)
            if lease is None or lease.state != "asked":
                return
            self._requests[shape] -= 1
            self._busy_until[shape] = time.monotonic() + 10 * WAIT_FOR_LEASE
            late = list(self._waiting.pop(shape, ())) if not self._requests[shape] else []
        for lane in self._lanes():
            lane.forget([lease_id])
        for item in late:
            self._fall_back(item)
        if getattr(_fut, "status", None) == "finished":  # it ran where this owner has no
            self._spill(shape, every=True)  # lane (not cancelled: a client closing)

    # -- tasks that wait too long for a lease ----------------------------------------------
    def _check_later(self, shape: str, after: float = WAIT_FOR_LEASE) -> None:
        """Tasks still waiting for a lease after ``WAIT_FOR_LEASE`` take Dask's path (one
        timer per shape at a time)."""
        with self._lock:
            if shape in self._checking:
                return
            self._checking.add(shape)
        timer = threading.Timer(after, self._waited, (shape,))
        timer.daemon = True
        timer.start()

    def _waited(self, shape: str) -> None:
        now = time.monotonic()
        with self._lock:
            self._checking.discard(shape)
            waiting = self._waiting.get(shape) or collections.deque()
            late = [i for i in waiting if now - i.since >= WAIT_FOR_LEASE]
            for item in late:
                waiting.remove(item)
            first = min((i.since for i in waiting), default=None)
            if late:
                self._busy_until[shape] = now + WAIT_FOR_LEASE
        if first is not None:  # not late yet: look again when the first of them is
            self._check_later(shape, max(0.01, first + WAIT_FOR_LEASE - now))
        for item in late:
            self._fall_back(item)
