"""Direct actor calls from a worker's task and actor processes to an actor hosted by that same
worker: handed to the host's ``CallQueue`` on the worker's event loop, with no socket between.

The worker's ``DirectCalls`` (``raylike._dask.client.direct``) makes every call of its task
processes. Through the lane, a call to an actor of the same worker was pickled, written to the
worker's own socket, read back on its loop and answered the same way: two pickles, two socket
writes and the reader's wake-ups per call, with the thread that wrote it waiting for the GIL
behind the loop that reads it. Here a burst of calls costs one wake-up of the loop. Ordering is
unchanged: the queue runs each caller's calls by their sequence numbers, whatever path each
took; an actor that left meanwhile is routed as any other call (``actor_calls._route``).
"""
from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import contextlib
import functools
import threading
from collections.abc import Iterator
from typing import Any

from raylike._api.serialization import dumps_error
from raylike._dask.worker import actor_calls as _actor_calls
from raylike.exceptions import RaySystemError

Pending = tuple[Any, concurrent.futures.Future[Any]]


class CallsHere:
    """Calls to the actors ``worker`` hosts, from any thread of that worker."""

    def __init__(self, worker: Any) -> None:
        self.worker = worker
        self._lock = threading.Lock()
        self._queue: collections.deque[Pending] = collections.deque()
        self._scheduled = False  # a drain is due on the loop
        self._local = threading.local()  # a thread's ``holding`` depth, and a drain it owes
        self._tasks: set[asyncio.Task[Any]] = set()

    def hosts(self, actor_id: str) -> bool:
        """Whether the actor lives on this worker now (it may leave before its call arrives:
        then the call is routed to where it went)."""
        node = self.worker.plugins.get(_node_name())
        return node is not None and actor_id in node.actors

    def send(self, call: Any, future: concurrent.futures.Future[Any]) -> None:
        """Hand ``call`` to its host; ``future`` gets the answer ``(status, payload)``."""
        with self._lock:
            self._queue.append((call, future))
            if self._scheduled:
                return
            if getattr(self._local, "depth", 0):  # the rest of its burst first (``holding``)
                self._local.owed = True
                return
            self._scheduled = True
        self.worker.loop.asyncio_loop.call_soon_threadsafe(self._drain)

    @contextlib.contextmanager
    def holding(self) -> Iterator[None]:
        """The calls this thread sends meanwhile (a process's burst of submissions) reach the
        loop together, at the end: one wake-up of the loop, and one message to the actor's
        process, for the burst. Others' calls are not held back: a drain they start takes
        these too."""
        self._local.depth = getattr(self._local, "depth", 0) + 1
        try:
            yield
        finally:
            self._local.depth -= 1
            if not self._local.depth and getattr(self._local, "owed", False):
                self._local.owed = False
                with self._lock:
                    wake = bool(self._queue) and not self._scheduled
                    self._scheduled = self._scheduled or wake
                if wake:
                    self.worker.loop.asyncio_loop.call_soon_threadsafe(self._drain)

    def _drain(self) -> None:
        with self._lock:
            batch, self._queue = self._queue, collections.deque()
            self._scheduled = False
        node = self.worker.plugins.get(_node_name())
        with contextlib.ExitStack() as holding:
            held: set[int] = set()
            for call, future in batch:
                host = None if node is None else node.actors.get(call.actor_id)
                if host is not None and id(host.calls) not in held:  # the burst's calls to
                    held.add(id(host.calls))  # it reach its process in one message
                    holding.enter_context(host.calls.holding())
                self._hand(host, call, future)

    def _hand(self, host: Any, call: Any, future: concurrent.futures.Future[Any]) -> None:
        if host is None:  # it left: routed as any call
            task = asyncio.ensure_future(self._route(call))
            self._tasks.add(task)
            task.add_done_callback(functools.partial(self._answered, future))
            return
        try:  # still here: straight into its queue (no task, no hop)
            done = host.calls.enqueue(_actor_calls._unless_cancelled(call))
        except Exception as exc:  # the caller gets it
            future.set_result(("err", dumps_error(RaySystemError(
                f"The actor call could not be sent: {exc}"))))
            return
        done.add_done_callback(functools.partial(_handed_on, future))

    async def _route(self, call: Any) -> tuple[str, Any]:
        return await _actor_calls._route(self.worker, _actor_calls._unless_cancelled(call))

    def _answered(self, future: concurrent.futures.Future[Any], task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if future.done():
            return
        if task.cancelled():  # the worker is closing
            future.set_result(("err", dumps_error(RaySystemError(
                "The actor call could not be completed: its worker is closing"))))
        elif task.exception() is not None:
            future.set_result(("err", dumps_error(RaySystemError(
                f"The actor call could not be sent: {task.exception()}"))))
        else:
            future.set_result(task.result())


def _handed_on(future: concurrent.futures.Future[Any],
               done: asyncio.Future[tuple[str, Any]]) -> None:
    """The host's answer of a call handed to its queue, to the caller's ``future``."""
    if future.done():
        return
    if done.cancelled():  # the worker is closing
        future.set_result(("err", dumps_error(RaySystemError(
            "The actor call could not be completed: its worker is closing"))))
    elif done.exception() is not None:
        future.set_result(("err", dumps_error(RaySystemError(
            f"The actor call could not be completed: {done.exception()}"))))
    else:
        future.set_result(done.result())


def _node_name() -> str:
    from raylike._dask.worker.node import PLUGIN_NAME

    return PLUGIN_NAME
