"""The threads that run a threaded actor's calls (``max_concurrency > 1``, concurrency groups).

A ``concurrent.futures.ThreadPoolExecutor`` made a ``Future`` (with its ``Condition``), a work
item and a semaphore check per call, none of which an actor call uses (its answer goes back on
the pipe): a quarter of the actor process's time per call, measured at ``max_concurrency=16``.
Here a call is one item on a ``SimpleQueue``; a thread is started when no idle one is left, up
to the limit, as the executor did. An error escaping a call (a bug: calls catch their own) is
logged, and the thread goes on.
"""
from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from typing import Any

logger = logging.getLogger("raylike.actor")


class CallPool:
    """At most ``limit`` threads running the callables given to :meth:`submit`."""

    def __init__(self, limit: int, name: str) -> None:
        self.limit = limit
        self.name = name
        self._items: queue.SimpleQueue[tuple[Callable[..., Any], tuple[Any, ...]]] = \
            queue.SimpleQueue()
        self._lock = threading.Lock()
        self._threads = 0
        self._idle = 0

    def submit(self, fn: Callable[..., Any], *args: Any) -> None:
        with self._lock:
            start = self._idle <= 0 and self._threads < self.limit
            if start:
                self._threads += 1
            else:
                self._idle -= 1  # this item is one idle thread's (or waits for a thread)
        self._items.put((fn, args))
        if start:
            threading.Thread(target=self._serve, daemon=True,
                             name=f"{self.name}_{self._threads - 1}").start()

    def _serve(self) -> None:
        while True:
            fn, args = self._items.get()
            try:
                fn(*args)
            except BaseException:  # noqa: B036 - a bug; the thread serves the next call
                logger.exception("an actor call failed outside its own error handling")
            del fn, args  # the call's arguments go now, not with the next call
            with self._lock:
                self._idle += 1
