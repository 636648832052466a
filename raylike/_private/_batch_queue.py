"""``BatchQueue`` of Ray's test helpers: a ``ray.util.queue.Queue`` that hands out several
items per call."""
from __future__ import annotations

import asyncio
from typing import Any

import raylike
from raylike.util.queue import Empty, Queue, _QueueActor

__all__ = ["BatchQueue"]


class _BatchQueueActor(_QueueActor):
    async def get_batch(self, batch_size: int | None = None,
                        total_timeout: float | None = None,
                        first_timeout: float | None = None) -> list[Any]:
        loop = asyncio.get_running_loop()
        start = loop.time()
        try:
            batch = [await asyncio.wait_for(self.queue.get(), first_timeout)]
        except asyncio.TimeoutError:
            raise Empty from None
        # no total_timeout: wait for each item of a sized batch; take only what is there
        # when draining (batch_size None)
        if total_timeout is None and batch_size is None:
            total_timeout = 0
        deadline = None if total_timeout is None else start + total_timeout
        while batch_size is None or len(batch) < batch_size:
            left = None if deadline is None else max(deadline - loop.time(), 0.0)
            if left == 0.0:
                if self.queue.empty():
                    break
                batch.append(self.queue.get_nowait())
                continue
            try:
                batch.append(await asyncio.wait_for(self.queue.get(), left))
            except asyncio.TimeoutError:
                break
        return batch


class BatchQueue(Queue):
    """A ``ray.util.queue.Queue`` that can also hand out several items at once."""

    def __init__(self, maxsize: int = 0, actor_options: dict[str, Any] | None = None) -> None:
        self.maxsize = maxsize
        actor_class = raylike.remote(_BatchQueueActor)
        self.actor = actor_class.options(**(actor_options or {})).remote(maxsize)

    def get_batch(self, batch_size: int | None = None, total_timeout: float | None = None,
                  first_timeout: float | None = None) -> list[Any]:
        """Up to ``batch_size`` items in order (``None``: all there are), waiting at most
        ``first_timeout`` seconds for the first (``Empty`` after that) and ``total_timeout``
        in all."""
        items: list[Any] = self._get(
            self.actor.get_batch.remote(batch_size, total_timeout, first_timeout))
        return items
