"""The scheduler side of streaming generators (a Dask scheduler plugin, part of the Dask
boundary with ``_backend``).

For each generator task (key ``K``) it knows the keys of the items the task has yielded so far
(item ``i`` is the Dask key ``item_key(K, i)``, stored on the producer's worker), the
generator's own error if it raised one, how many items the consumer has taken, and whether the
consumer dropped the generator. Items not yet taken are wanted by a pseudo-client,
:data:`HOLDER`, so they live until the consumer holds them (its ``taken`` message comes on its
stream *after* its own wish for the key) or drops the generator; ``K`` being forgotten ends
the stream. The consumer asks for item ``i`` (``raylike_stream_next``, which waits for it or
the task's end), the producer registers items (``raylike_stream_item``) and waits for the
consumer under backpressure (``raylike_stream_wait``). See ``docs/design.md``, "Generators".
"""
from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

from distributed.diagnostics.plugin import SchedulerPlugin

from raylike._dask import internals

STREAMS_PLUGIN = "raylike-streams"
BATCH = 1000  # item keys one answer to a consumer gives at most
HOLDER = "raylike-streams"  # the pseudo-client holding items the consumer has not taken yet


def item_key(key: str, index: int) -> str:
    """The Dask key of the ``index``-th item of generator task ``key``."""
    return f"{key}/gen/{index}"


@dataclass(frozen=True)
class ItemRebuild:
    """What the Dask task of a stored generator item is given in place of its generator
    task's call: run if the item is lost with its node (lineage reconstruction), it runs the
    generator again and its ``index``-th value is the task's result
    (``raylike._dask.worker.streams.rebuild_item``)."""

    call: Any  # the generator task's ``TaskCall``
    index: int  # -1: the streaming generator task's own result (None), once it ended


@dataclass(eq=False)
class _Stream:
    """What the scheduler knows of one generator task's output."""

    items: list[str] = field(default_factory=list)
    error: bytes | None = None  # the generator's own error: the item after the last one
    taken: int = 0  # items (the error included) the consumer has taken
    dropped: bool = False  # the consumer dropped the generator: later items are not kept
    created: float = field(default_factory=time.monotonic)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def pulse(self) -> None:
        """Wake every waiter (each waits on the event of the moment it looked)."""
        self.changed.set()
        self.changed = asyncio.Event()


class StreamRegistry(SchedulerPlugin):
    """Scheduler-side state of the cluster's streaming generators."""

    name = STREAMS_PLUGIN
    idempotent = True  # a second driver must not wipe the streams of a shared cluster

    async def start(self, scheduler: Any) -> None:
        self.scheduler = scheduler
        self.streams: dict[str, _Stream] = {}
        internals.add_scheduler_handlers(
            scheduler, {"raylike_stream_item": self.item, "raylike_stream_end": self.end,
                        "raylike_stream_next": self.next, "raylike_stream_wait": self.wait},
            {"raylike-stream-taken": self.taken, "raylike-stream-drop": self.drop})

    def _stream(self, key: str) -> _Stream:
        stream = self.streams.get(key)
        if stream is None:
            stream = self.streams[key] = _Stream()
        return stream

    # -- the producer -------------------------------------------------------------------------
    def item(self, key: str, index: int, item: str, nbytes: int, worker: str) -> dict[str, Any]:
        """The producer's worker holds item ``index`` of ``key`` (as Dask data): keep it for
        the consumer. ``dup``: already known (a retried task yields again); ``dropped``: nobody
        will take it. Either way the worker frees its copy."""
        if key not in self.scheduler.tasks:  # cancelled, or its consumer is gone
            return {"status": "dropped", "taken": 0}
        stream = self._stream(key)
        if stream.dropped or index > len(stream.items):
            return {"status": "dropped", "taken": stream.taken}
        if index < len(stream.items) and (item in self.scheduler.tasks or index < stream.taken):
            return {"status": "dup", "taken": stream.taken}
        # a new item, or one lost with its worker that the retried task made again
        self.scheduler.update_data(who_has={item: [worker]}, nbytes={item: nbytes}, client=HOLDER)
        lineage = self.scheduler.plugins.get("raylike-lineage")
        if lineage is not None:  # so that it can be made again if lost
            lineage.adopt_item(item, key, index)
        if index == len(stream.items):
            stream.items.append(item)
        stream.pulse()
        return {"status": "ok", "taken": stream.taken}

    def end(self, key: str, error: bytes) -> None:
        """The generator raised ``error`` (pickled) after its items: the consumer's next item
        raises it."""
        stream = self._stream(key)
        if stream.error is None and not stream.dropped:
            stream.error = error
            stream.pulse()

    async def wait(self, key: str, taken: int, timeout: float) -> dict[str, Any]:
        """Backpressure: return once the consumer has taken ``taken`` items, dropped the
        generator, or ``timeout`` passed; says how many it has taken."""
        deadline = time.monotonic() + timeout
        while True:
            stream = self.streams.get(key)
            if stream is None or key not in self.scheduler.tasks:
                return {"status": "dropped", "taken": 0}
            if stream.dropped:
                return {"status": "dropped", "taken": stream.taken}
            left = deadline - time.monotonic()
            if stream.taken >= taken or left <= 0:
                return {"status": "ok", "taken": stream.taken}
            await _wait_event(stream.changed, left)

    # -- the consumer -------------------------------------------------------------------------
    async def next(self, key: str, index: int, timeout: float) -> dict[str, Any]:
        """Wait for item ``index`` of ``key``: ``item`` (its key and those of the items
        after it, up to :data:`BATCH`), ``error`` (the generator's
        error, pickled), ``end`` (``failed``: the task itself failed, e.g. cancelled or
        crashed), ``gone`` (the scheduler does not know the task) or ``timeout``."""
        deadline = time.monotonic() + timeout
        while True:
            stream = self.streams.get(key)
            if stream is not None:
                if index < len(stream.items):  # this one and those after it, known so far
                    return {"status": "item", "keys": stream.items[index:index + BATCH]}
                if index == len(stream.items) and stream.error is not None:
                    return {"status": "error", "error": stream.error}
            ts = self.scheduler.tasks.get(key)
            if ts is None:
                return {"status": "gone"}
            if ts.state in ("memory", "erred"):
                return {"status": "end", "failed": ts.state == "erred"}
            left = deadline - time.monotonic()
            if left <= 0:
                return {"status": "timeout"}
            await _wait_event(self._stream(key).changed, left)

    def taken(self, key: str, index: int, **_: Any) -> None:
        """The consumer holds item ``index`` now (its wish came first, on the same stream):
        stop holding it here; a producer under backpressure may go on."""
        stream = self.streams.get(key)
        if stream is None:
            return
        stream.taken = max(stream.taken, index + 1)
        if index < len(stream.items):
            self._release([stream.items[index]])
        stream.pulse()

    def drop(self, key: str, **_: Any) -> None:
        """The consumer dropped the generator: free what it did not take; the task runs on
        (as in Ray) but what it yields from now on is not kept."""
        stream = self._stream(key)
        stream.dropped = True
        self._release(stream.items[stream.taken:])
        stream.pulse()
        if key not in self.scheduler.tasks:
            self.streams.pop(key, None)

    # -- lifetime -----------------------------------------------------------------------------
    def transition(self, key: Any, start: str, finish: str, *args: Any, **kwargs: Any) -> None:
        stream = self.streams.get(key)
        if stream is None:
            return
        if finish == "forgotten":  # no consumer and no task any more: the stream ends
            del self.streams[key]
            self._release(stream.items[stream.taken:])
        stream.pulse()

    def _release(self, keys: list[str]) -> None:
        if keys and HOLDER in self.scheduler.clients:
            self.scheduler.client_releases_keys(keys=keys, client=HOLDER,
                                                stimulus_id=f"raylike-stream-{time.time()}")


async def _wait_event(event: asyncio.Event, timeout: float) -> None:
    try:
        await asyncio.wait_for(event.wait(), timeout)
    except asyncio.TimeoutError:
        pass
