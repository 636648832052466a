"""``ray.util.queue``: a FIFO queue shared by tasks, actors and the driver.

The items live in one async actor holding an ``asyncio.Queue``; a ``Queue`` object is only a
handle to that actor, so it pickles and can be passed to tasks and actors, which use it the same
way. Blocking ``put``/``get`` wait inside the actor (an async actor runs many calls at once), so
a blocked consumer does not stop a producer from putting.
"""
from __future__ import annotations

import asyncio
import queue
from collections.abc import Iterable
from typing import Any

__all__ = ["Empty", "Full", "Queue"]


class Empty(queue.Empty):
    """Raised by ``get`` on an empty queue (no wait, or the timeout passed)."""


class Full(queue.Full):
    """Raised by ``put`` on a full queue (no wait, or the timeout passed)."""


class _QueueActor:
    """The actor that holds the items."""

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self.queue: asyncio.Queue[Any] = asyncio.Queue(maxsize)

    def qsize(self) -> int:
        return self.queue.qsize()

    def empty(self) -> bool:
        return self.queue.empty()

    def full(self) -> bool:
        return self.queue.full()

    async def put(self, item: Any, timeout: float | None = None) -> None:
        try:
            await asyncio.wait_for(self.queue.put(item), timeout)
        except asyncio.TimeoutError:
            raise Full from None

    async def get(self, timeout: float | None = None) -> Any:
        try:
            return await asyncio.wait_for(self.queue.get(), timeout)
        except asyncio.TimeoutError:
            raise Empty from None

    def put_nowait(self, item: Any) -> None:
        try:
            self.queue.put_nowait(item)
        except asyncio.QueueFull:
            raise Full from None

    def put_nowait_batch(self, items: list[Any]) -> None:
        if self.maxsize > 0 and len(items) + self.queue.qsize() > self.maxsize:
            raise Full(f"Cannot add {len(items)} items to queue of size {self.queue.qsize()} "
                       f"and maxsize {self.maxsize}.")
        for item in items:
            self.queue.put_nowait(item)

    def get_nowait(self) -> Any:
        try:
            return self.queue.get_nowait()
        except asyncio.QueueEmpty:
            raise Empty from None

    def get_nowait_batch(self, num_items: int) -> list[Any]:
        if num_items > self.queue.qsize():
            raise Empty(f"Cannot get {num_items} items from queue of size "
                        f"{self.queue.qsize()}.")
        return [self.queue.get_nowait() for _ in range(num_items)]


def _plain(exc: BaseException) -> BaseException:
    """The ``Empty``/``Full`` the actor raised, without the task-error wrapping around it."""
    for candidate in (getattr(exc, "cause", None), exc):
        if type(candidate) in (Empty, Full):
            assert candidate is not None
            return candidate.with_traceback(None)
    return Empty() if isinstance(exc, Empty) else Full()


def _check_timeout(timeout: float | None) -> None:
    if timeout is not None and timeout < 0:
        raise ValueError("'timeout' must be a non-negative number")


class Queue:
    """A first-in, first-out queue shared across the cluster (like ``asyncio.Queue``).

    ``maxsize`` bounds it (0: unbounded); ``actor_options`` go to ``.options()`` of the actor
    that holds the items (e.g. ``{"num_cpus": 1}``).
    """

    def __init__(self, maxsize: int = 0, actor_options: dict[str, Any] | None = None) -> None:
        import raylike as ray

        self.maxsize = maxsize
        actor_class = ray.remote(_QueueActor)
        self.actor: Any = actor_class.options(**(actor_options or {})).remote(maxsize)

    def __len__(self) -> int:
        return self.size()

    def size(self) -> int:
        """The number of items in the queue."""
        return self._get(self.actor.qsize.remote())

    def qsize(self) -> int:
        """The number of items in the queue."""
        return self.size()

    def empty(self) -> bool:
        """Whether the queue is empty."""
        return self._get(self.actor.empty.remote())

    def full(self) -> bool:
        """Whether the queue holds ``maxsize`` items."""
        return self._get(self.actor.full.remote())

    def put(self, item: Any, block: bool = True, timeout: float | None = None) -> None:
        """Add ``item``; if the queue is full, wait for room (up to ``timeout`` seconds, or
        forever) when ``block``, else raise ``Full`` at once. Raises ``Full`` on timeout."""
        if not block:
            self._get(self.actor.put_nowait.remote(item))
            return
        _check_timeout(timeout)
        self._get(self.actor.put.remote(item, timeout))

    def get(self, block: bool = True, timeout: float | None = None) -> Any:
        """Remove and return the oldest item; if the queue is empty, wait for one (up to
        ``timeout`` seconds, or forever) when ``block``, else raise ``Empty`` at once. Raises
        ``Empty`` on timeout."""
        if not block:
            return self._get(self.actor.get_nowait.remote())
        _check_timeout(timeout)
        return self._get(self.actor.get.remote(timeout))

    async def put_async(self, item: Any, block: bool = True,
                        timeout: float | None = None) -> None:
        """``put`` for coroutines: awaits instead of blocking the thread."""
        if not block:
            await self._await(self.actor.put_nowait.remote(item))
            return
        _check_timeout(timeout)
        await self._await(self.actor.put.remote(item, timeout))

    async def get_async(self, block: bool = True, timeout: float | None = None) -> Any:
        """``get`` for coroutines: awaits instead of blocking the thread."""
        if not block:
            return await self._await(self.actor.get_nowait.remote())
        _check_timeout(timeout)
        return await self._await(self.actor.get.remote(timeout))

    def put_nowait(self, item: Any) -> None:
        """``put(item, block=False)``."""
        self.put(item, block=False)

    def get_nowait(self) -> Any:
        """``get(block=False)``."""
        return self.get(block=False)

    def put_nowait_batch(self, items: Iterable[Any]) -> None:
        """Add all ``items`` in order, or none of them (raising ``Full``) if they don't fit."""
        if not isinstance(items, Iterable):
            raise TypeError("Argument 'items' must be an Iterable")
        self._get(self.actor.put_nowait_batch.remote(list(items)))

    def get_nowait_batch(self, num_items: int) -> list[Any]:
        """Remove and return the ``num_items`` oldest items, or raise ``Empty`` (taking none)
        if there are fewer."""
        if isinstance(num_items, bool) or not isinstance(num_items, int):
            raise TypeError("Argument 'num_items' must be an int")
        if num_items < 0:
            raise ValueError("'num_items' must be nonnegative")
        return self._get(self.actor.get_nowait_batch.remote(num_items))

    def shutdown(self, force: bool = False, grace_period_s: int = 5) -> None:
        """Stop the queue's actor (the items are lost). Unless ``force``, it is asked to exit
        and killed only if it hasn't after ``grace_period_s`` seconds."""
        import raylike as ray

        if self.actor is not None:
            if force:
                ray.kill(self.actor, no_restart=True)
            else:
                done = self.actor.__ray_terminate__.remote()
                _, not_done = ray.wait([done], timeout=grace_period_s)
                if not_done:
                    ray.kill(self.actor, no_restart=True)
        self.actor = None

    @staticmethod
    def _get(ref: Any) -> Any:
        import raylike as ray

        try:
            return ray.get(ref)
        except (Empty, Full) as exc:
            raise _plain(exc) from None

    @staticmethod
    async def _await(ref: Any) -> Any:
        try:
            return await ref
        except (Empty, Full) as exc:
            raise _plain(exc) from None
