"""A driver's ``put`` through a lane, one way: the driver does not wait for its worker's answer.

``put`` pickles the value and sends it on the lane (large buffers copied once into a memfd),
then returns its ref at once; the worker stores it as Dask data (``local_objects.store``) and
answers. When the answer comes (on the lane's reader thread), the driver announces the key to
the scheduler (``local_objects.announce``'s message, on the client's event loop) and finishes
the key's Dask future, which the ref held, pending, from the start. Waiting for that answer
was most of a small ``put``'s time (a round trip through the worker's event loop), and it
kept the worker's work from overlapping the driver's next copy.

Until it is announced, the key is unknown to the scheduler, so whatever would tell the
scheduler about it waits for the answer first: :meth:`PutsInFlight.settle`, called by the
backend's ``future_of`` (a task's dependency, ``get`` of a large value, cancel, ...). The
driver's own ``get`` of a small value reads the copy it keeps (``small_puts``) without
waiting; a ref pickled into a value reaches other processes as a key they wait for
(``RefsPlugin``). The pending Dask future is held until the key is announced, so a ref dropped
at once is released after its announcement, on the same stream.

A put whose worker fails to store it gets that error as the object's (``get`` raises it);
one whose lane closes before the answer is sent again through Dask (``scatter``) from a copy
kept for that (values of at most :data:`COPY_LIMIT` bytes), or else is lost
(``ObjectLostError``), as an object stored on that worker a moment later would have been.
Large puts (buffers sent through shared memory) in flight hold at most :data:`LARGE_IN_FLIGHT`
bytes (one at least), so a loop of large puts cannot pile up shared memory faster than the
worker takes it.
"""
from __future__ import annotations

import asyncio
import collections
import contextlib
import functools
import logging
import threading
from typing import TYPE_CHECKING, Any

from distributed import Client, Future

from raylike._api.objects import ObjectRef
from raylike._api.serialization import Frames, Whole, loads, payload_size
from raylike._dask import internals
from raylike._transport.wire import OUT_OF_BAND

if TYPE_CHECKING:
    import concurrent.futures

    from raylike._transport.lane import Lane

logger = logging.getLogger("raylike.puts")
COPY_LIMIT = 64 * 1024  # bytes of pickle a put keeps a copy of until answered (lane lost)
LARGE_IN_FLIGHT = 256 * 2**20  # bytes of large puts sent and not yet answered
_LIVE = ("newly-created", "connecting", "running")  # client states in which answers come


class PutsInFlight:
    """The driver's puts sent on lanes and not yet announced to the scheduler, by key."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self._lock = threading.Lock()
        self._room = threading.Lock()  # taken by a large put while it waits for room
        self._waiting: dict[str, threading.Event] = {}
        # the large puts in flight: (bytes, answered), oldest first
        self._large: collections.deque[tuple[int, threading.Event]] = collections.deque()

    def send(self, lane: Lane, key: str, frames: Frames, kind: type) -> ObjectRef[Any] | None:
        """Send ``frames`` (the value, of type ``kind``) to the lane's worker under ``key``;
        its ref, or ``None`` if the lane is closed (the caller goes Dask's way)."""
        size = payload_size(frames)
        large = any(memoryview(b).nbytes >= OUT_OF_BAND for b in frames.buffers)
        copy = None
        if not large and size <= COPY_LIMIT:
            copy = Frames(frames.head, [bytes(memoryview(b).cast("B")) for b in frames.buffers])
        done = threading.Event()
        with self._lock:
            self._waiting[key] = done
        with self._room if large else contextlib.nullcontext():  # large puts: one thread at
            # a time, each waiting for room
            if large:
                self._make_room(size)
            answer = lane.put(key, frames)
            if answer is not None and large:
                self._large.append((size, done))
        if answer is None:
            with self._lock:
                self._waiting.pop(key, None)
            return None
        future: Future = Future(key, self.client)  # pending until announced
        answer.add_done_callback(functools.partial(
            self._answered, key, future, kind, copy, lane.address, done))
        return ObjectRef(key, future)

    def _make_room(self, size: int) -> None:
        """Wait until a large put of ``size`` bytes fits among those in flight."""
        while self._large:
            if self._large[0][1].is_set():
                self._large.popleft()
            elif sum(n for n, _ in self._large) + size > LARGE_IN_FLIGHT:
                self._wait(self._large[0][1])
                self._large.popleft()
            else:
                return

    def settle(self, key: str) -> None:
        """Return once put ``key`` (if it is one in flight) is announced to the scheduler, or
        failed. Never waits on the client's event loop (the announcement needs it)."""
        done = self._waiting.get(key)
        if done is None or _on_loop(self.client):
            return
        self._wait(done)

    def _wait(self, done: threading.Event) -> None:
        while not done.wait(1.0):  # the lane answers or closes; only a closed client stops
            if self.client.status not in _LIVE:
                return

    def _answered(self, key: str, future: Future, kind: type, copy: Frames | None,
                  address: str, done: threading.Event,
                  answer: concurrent.futures.Future[tuple[str, Any]]) -> None:
        """The worker's answer (on the lane's reader thread, or the sender's if the lane
        closed under it)."""
        status, payload = answer.result()
        if status == "absent" and copy is not None:  # the lane closed first: Dask's way
            try:
                self.client.scatter({key: Whole(loads(copy), "put value")}, hash=False)
                status = "scattered"
            except Exception as exc:  # the object is lost with its worker
                logger.debug("could not put %s again", key, exc_info=True)
                payload = exc
        try:
            loop: Any = self.client.loop
            loop.add_callback(self._settle_on_loop, key, future, kind, status, payload,
                              address, done)
        except Exception:  # the client's loop is gone: nothing is left to tell
            self._finished(key, done)

    def _settle_on_loop(self, key: str, future: Future, kind: type, status: str,
                        payload: Any, address: str, done: threading.Event) -> None:
        try:
            if status == "ok":
                internals.send_to_scheduler(self.client, {
                    "op": "raylike-update-data", "who_has": {key: [address]},
                    "nbytes": {key: payload}})
                internals.finish_future(self.client, key, kind)
            elif status != "scattered":  # Dask's report of the scattered key finishes it
                error = loads(payload) if status == "err" else _lost(key, payload)
                state = internals.future_state(self.client, key)
                if state is not None and not state.done():
                    state.set_error(error, None)
        finally:
            del future  # held until now: its release goes after the announcement
            self._finished(key, done)

    def _finished(self, key: str, done: threading.Event) -> None:
        with self._lock:
            self._waiting.pop(key, None)
        done.set()


def _lost(key: str, cause: Any) -> BaseException:
    from raylike._api import ids as _ids
    from raylike.exceptions import ObjectLostError

    error = ObjectLostError(_ids.object_hex(key))
    if isinstance(cause, BaseException):
        error.__cause__ = cause
    return error


def _on_loop(client: Client) -> bool:
    with contextlib.suppress(RuntimeError):
        return asyncio.get_running_loop() is getattr(client.loop, "asyncio_loop", None)
    return False
