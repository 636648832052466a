"""Generators, caller side: ``ObjectRefGenerator`` and ``DynamicObjectRefGenerator``.

A remote function or actor method that ``yield``s returns an ``ObjectRefGenerator`` (with
``num_returns="streaming"``, the default for generator functions): each ``next`` gives the ref
of the next value as soon as the task has yielded it, while the task runs on. With
``num_returns="dynamic"`` the call returns one ref whose value is a
``DynamicObjectRefGenerator`` of all the values' refs. How they map onto Dask:
``docs/design.md``, "Generators" (``_streams`` is the producer's side, ``_stream_registry``
the scheduler's).
"""
from __future__ import annotations

import asyncio
import collections
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from raylike._api import runtime as _runtime
from raylike._api.objects import ObjectRef

__all__ = ["DynamicObjectRefGenerator", "ObjectRefGenerator"]

END_SEEN_WAIT = 10.0  # seconds the end of a stream waits for ``completed()`` to be ready here

class DynamicObjectRefGenerator:
    """The value of a ``num_returns="dynamic"`` task: the refs of what it yielded, in order.

    As in Ray, iterating hands each ref out once (a second loop finds none left), and ``len``
    counts the refs not handed out yet.
    """

    def __init__(self, refs: Iterable[ObjectRef[Any]]) -> None:
        self._refs: collections.deque[ObjectRef[Any]] = collections.deque(refs)

    def __iter__(self) -> Iterator[ObjectRef[Any]]:
        while self._refs:
            yield self._refs.popleft()

    def __len__(self) -> int:
        return len(self._refs)


@dataclass(frozen=True)
class StreamPosition:
    """What ``wait`` waits on for a generator: its next item, or the end of its task."""

    key: str
    index: int

    @property
    def _key(self) -> tuple[str, str, int]:  # how a task's process names it to its worker
        return ("stream", self.key, self.index)

    _delivered = False


class ObjectRefGenerator:
    """The refs a streaming generator task yields, as they are made.

    ``next(gen)`` / ``for ref in gen`` / ``async for ref in gen`` give each value's ref as soon
    as the task has yielded it (``StopIteration`` at the end). If the generator raises, the refs
    of the values it yielded before come first, then one ref whose ``get`` raises the error. If
    the task itself fails (cancelled, its process crashed), the next ref is ``completed()``, which
    raises it. ``ray.wait([gen])`` says whether ``next(gen)`` would return at once.

    Differences from Ray: ``send``/``throw``/``close`` raise ``NotImplementedError`` as in Ray;
    each ``next`` asks the scheduler (a round trip).
    """

    def __init__(self, generator_ref: ObjectRef[Any]) -> None:
        self._generator_ref = generator_ref
        self._index = 0
        self._known: collections.deque[str] = collections.deque()  # keys of the next items
        self._ended = False  # StopIteration from now on
        self._cancelled = False  # ``ray.cancel`` of this generator ran (``_cancel_stream``)
        self._backend: Any = _runtime.backend()

    # -- the iterator protocols ---------------------------------------------------------------
    def __iter__(self) -> ObjectRefGenerator:
        return self

    def __next__(self) -> ObjectRef[Any]:
        return self._next_sync()

    def __aiter__(self) -> ObjectRefGenerator:
        return self

    async def __anext__(self) -> ObjectRef[Any]:
        return await self._next_async()

    def send(self, value: Any) -> Any:
        raise NotImplementedError("`gen.send` is not supported.")

    def throw(self, value: Any) -> Any:
        raise NotImplementedError("`gen.throw` is not supported.")

    def close(self) -> None:
        raise NotImplementedError("`gen.close` is not supported.")

    async def asend(self, value: Any) -> Any:
        raise NotImplementedError("`gen.asend` is not supported.")

    async def athrow(self, value: Any) -> Any:
        raise NotImplementedError("`gen.athrow` is not supported.")

    async def aclose(self) -> None:
        raise NotImplementedError("`gen.aclose` is not supported.")

    # -- Ray's public methods -----------------------------------------------------------------
    def completed(self) -> ObjectRef[Any]:
        """A ref that is ready when the task has ended; its ``get`` raises if the task failed
        (cancelled, crashed), not for an error the generator raised."""
        return self._generator_ref

    def is_finished(self) -> bool:
        """True once the task has ended and every ref has been taken (``next`` would raise
        ``StopIteration``). Returns at once."""
        return self._ended or not self._known and self._ask(0.0)[0] == "end"

    def next_ready(self) -> bool:
        """True if ``next(gen)`` would return a ref at once (False at the end)."""
        return not self._ended and (bool(self._known) or
                                    self._ask(0.0)[0] in ("item", "error", "failed"))

    def task_id(self) -> Any:
        """The generator task's id (Ray's ``TaskID``)."""
        return self._generator_ref.task_id()

    # -- Ray's private API, used by its libraries ------------------------------------------------
    def _next_sync(self, timeout_s: float | None = None) -> ObjectRef[Any]:
        """The next ref, waiting at most ``timeout_s`` (None or -1: for ever); a nil ref if
        none came in time. ``StopIteration`` at the end."""
        if self._ended:
            raise StopIteration
        if self._cancelled and self._cut_short():
            return self._generator_ref
        item: str | bytes
        if self._known:  # told already: no need to ask
            item = self._known.popleft()
        else:
            timeout = None if timeout_s is None or timeout_s < 0 else float(timeout_s)
            status, payload = self._ask(timeout)
            if status == "timeout":
                return ObjectRef.nil()
            if status == "item":
                self._known.extend(payload)
                item = self._known.popleft()
            elif status == "error":
                item = payload
            else:
                self._ended = True
                if status == "failed":  # the task itself failed: its ref raises why
                    return self._generator_ref
                if status == "end":  # the scheduler saw the task end: so does ``completed()``
                    # here from now on (this client hears of it a moment later), as in Ray
                    self._backend.wait([self._generator_ref], 1, END_SEEN_WAIT)
                raise StopIteration
        ref = self._take(item)
        self._index += 1
        return ref

    async def _next_async(self, timeout_s: float | None = None) -> ObjectRef[Any]:
        """``_next_sync`` for async code: the wait runs in a thread, the loop goes on."""
        ref = await asyncio.to_thread(self._next_or_none, timeout_s)
        if ref is None:  # StopIteration cannot cross a future
            raise StopAsyncIteration
        return ref

    def _next_or_none(self, timeout_s: float | None) -> ObjectRef[Any] | None:
        try:
            return self._next_sync(timeout_s)
        except StopIteration:
            return None

    def _cancel_stream(self) -> None:
        """``ray.cancel`` of this generator ran: see :meth:`_cut_short`."""
        self._cancelled = True

    def _cut_short(self) -> bool:
        """After ``ray.cancel``, as in Ray: unless the task had ended well (the cancel came
        too late: the stream goes on), the items not handed out yet are dropped and the next
        ref is ``completed()``, which raises ``TaskCancelledError``; then the stream ends."""
        backend = self._backend
        ref = self._generator_ref
        if backend.wait([ref], 1, 0):  # ended: well, or failed (cancelled)
            try:
                backend.get([ref], 0)
                self._cancelled = False
                return False
            except Exception:  # noqa: BLE001 - why it failed is what its ref raises
                pass
        self._known.clear()
        self._ended = True
        return True

    def _position(self) -> StreamPosition:
        return StreamPosition(self._generator_ref._key, self._index)

    def _ask(self, timeout: float | None) -> tuple[str, Any]:
        """What the scheduler knows of the next item (see ``DaskBackend.stream_next``)."""
        backend = self._backend
        return backend.stream_next(self._generator_ref, self._index, timeout)

    def _take(self, item: str | bytes) -> ObjectRef[Any]:
        """A ref to the next item (its key, or the generator's pickled error)."""
        backend = self._backend
        ref: ObjectRef[Any] = backend.stream_take(self._generator_ref._key, self._index, item)
        return ref

    # -- lifetime -----------------------------------------------------------------------------
    def __getstate__(self) -> Any:
        raise TypeError("You cannot return or pass a generator to other task. Serializing a "
                        "ObjectRefGenerator is not allowed.")

    def __del__(self) -> None:
        # items the consumer never took are freed; the task runs to its end, as in Ray
        try:
            self._backend.stream_drop(self._generator_ref._key)
        except Exception:  # the session or the process is ending
            pass

    def __repr__(self) -> str:
        return f"ObjectRefGenerator({self._generator_ref.hex()})"
