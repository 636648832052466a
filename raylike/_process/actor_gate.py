"""How an async actor's calls reach its event loop: at most ``max_concurrency`` running.

Ray posts a call to the actor's loop only once one of its slots is free, so what a call that
ends has woken (the waiters of an ``asyncio.Event`` it set) runs before the next call starts.
A semaphore taken inside each call's own task does not behave so: calls that arrived together
are tasks already, and one whose first step is queued takes the freed slot before the woken
coroutine resumes (Ray's "batches of 2" async actor example then waits for ever).
"""
from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Coroutine
from typing import Any

Start = Callable[[], Coroutine[Any, Any, None]]


class Gate:
    """Starts the coroutines given to :meth:`submit` (from any thread) on ``loop``, in the
    order they came, at most ``limit`` at once."""

    def __init__(self, loop: asyncio.AbstractEventLoop, limit: int) -> None:
        self.loop = loop
        self.limit = max(1, limit)
        self.running = 0  # the fields are used on the loop only
        self.waiting: deque[tuple[int, Start]] = deque()
        self.tasks: set[asyncio.Task[None]] = set()  # the loop holds its tasks weakly

    def submit(self, call_id: int, start: Start) -> None:
        self.loop.call_soon_threadsafe(self._arrive, call_id, start)

    def expedite(self, call_id: int) -> None:
        """Start call ``call_id`` now if it waits for a slot (it was cancelled: it only
        answers so, and takes no slot)."""
        self.loop.call_soon_threadsafe(self._expedite, call_id)

    def _arrive(self, call_id: int, start: Start) -> None:
        if self.running < self.limit:
            self._start(start)
        else:
            self.waiting.append((call_id, start))

    def _start(self, start: Start, counted: bool = True) -> None:
        self.running += counted
        task = self.loop.create_task(start())
        self.tasks.add(task)
        task.add_done_callback(self._ended if counted else self.tasks.discard)

    def _ended(self, task: asyncio.Task[None]) -> None:
        self.tasks.discard(task)
        # one loop turn later, as a call Ray posts from its own thread lands after what the
        # ended call woke has run its next steps
        self.loop.call_soon(self._next)

    def _next(self) -> None:
        self.running -= 1
        if self.waiting:
            self._start(self.waiting.popleft()[1])

    def _expedite(self, call_id: int) -> None:
        for item in self.waiting:
            if item[0] == call_id:
                self.waiting.remove(item)
                self._start(item[1], counted=False)
                return
