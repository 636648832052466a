"""What ``Pool``'s asynchronous methods return: ``AsyncResult`` and the ``imap`` iterators.

Every ref here is the answer of one ``PoolActor.run_batch`` call: a list with one value (or
``Failure``) per call of the batch. A ref whose call itself failed (the actor died) stands for
one element, that error.
"""
from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from multiprocessing import TimeoutError
from typing import Any

from raylike.util.multiprocessing._actor import Failure

logger = logging.getLogger("raylike")


def _batch(ref: Any) -> list[Any]:
    """The values of one batch, or ``[error]`` if the batch itself failed."""
    import raylike as ray

    try:
        return list(ray.get(ref))
    except Exception as exc:  # noqa: BLE001 - the error is the batch's one element
        return [exc]


def _raise_if_failed(value: Any) -> Any:
    if isinstance(value, Failure):
        value.reraise()
    if isinstance(value, BaseException):
        raise value
    return value


class PoolTaskError(Exception):
    """What ``imap``/``imap_unordered`` yield for a call that raised, as Ray's pool does (the
    iteration goes on): the exception is ``underlying``."""

    def __init__(self, underlying: BaseException) -> None:
        super().__init__(underlying)
        self.underlying = underlying


def _as_value(value: Any) -> Any:
    """An ``imap`` element: a failed call's error as a ``PoolTaskError`` value."""
    error = _error_of(value)
    return value if error is None else PoolTaskError(error)


def _error_of(value: Any) -> BaseException | None:
    if isinstance(value, Failure):
        return value.exception
    return value if isinstance(value, BaseException) else None


class AsyncResult:
    """The result of ``apply_async``, ``map_async`` or ``starmap_async``.

    A background thread collects the batches as they finish and then runs ``error_callback``
    (with the first error, in completion order) or ``callback`` (with the result).

    Differences from Ray: ``error_callback`` receives the exception the function raised (Ray
    passes an internal wrapper holding it); ``callback`` of a map gets the results in input
    order.
    """

    def __init__(self, refs: list[Any], callback: Callable[[Any], Any] | None = None,
                 error_callback: Callable[[BaseException], Any] | None = None,
                 single_result: bool = False) -> None:
        self._single = single_result
        self._batches: list[list[Any]] = [[] for _ in refs]
        self._error: BaseException | None = None
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._collect,
                                        args=(list(refs), callback, error_callback),
                                        daemon=True, name="raylike-pool-result")
        self._thread.start()

    def _collect(self, refs: list[Any], callback: Callable[[Any], Any] | None,
                 error_callback: Callable[[BaseException], Any] | None) -> None:
        import raylike as ray

        index = {ref: i for i, ref in enumerate(refs)}
        pending = refs
        try:
            while pending:
                ready, rest = ray.wait(pending, num_returns=1)
                if rest:  # take every other finished batch in the same round
                    more, rest = ray.wait(rest, num_returns=len(rest), timeout=0)
                    ready += more
                for ref in ready:
                    self._store(index[ref], _batch(ref))
                pending = rest
        except Exception as exc:  # noqa: BLE001 - e.g. raylike shut down: the rest failed
            for ref in pending:
                if not self._batches[index[ref]]:
                    self._store(index[ref], [exc])
        try:
            self._finish(callback, error_callback)
        finally:
            self._done.set()

    def _store(self, i: int, batch: list[Any]) -> None:
        self._batches[i] = batch
        if self._error is None:
            self._error = next((e for e in map(_error_of, batch) if e is not None), None)

    def _finish(self, callback: Callable[[Any], Any] | None,
                error_callback: Callable[[BaseException], Any] | None) -> None:
        try:
            if self._error is not None:
                if error_callback is not None:
                    error_callback(self._error)
            elif callback is not None:
                callback(self._values())
        except Exception:  # a failing callback must not leave the result unfinished
            logger.exception("a Pool callback raised")

    def _values(self) -> Any:
        values = [v for batch in self._batches for v in batch]
        return values[0] if self._single else values

    def wait(self, timeout: float | None = None) -> None:
        """Block until the result is ready or ``timeout`` seconds pass (never raises)."""
        self._done.wait(timeout)

    def get(self, timeout: float | None = None) -> Any:
        """The result (a list for maps), waiting up to ``timeout`` seconds.

        Raises:
            multiprocessing.TimeoutError: not ready within ``timeout``.
            Exception: the first error in input order, as the function raised it.
        """
        if not self._done.wait(timeout):
            raise TimeoutError
        for batch in self._batches:
            for value in batch:
                _raise_if_failed(value)
        return self._values()

    def ready(self) -> bool:
        """Whether every call has finished."""
        return self._done.is_set()

    def successful(self) -> bool:
        """Whether no call raised; ``ValueError`` if the result is not ready yet."""
        if not self.ready():
            raise ValueError(f"{self!r} not ready")
        return self._error is None


class IMapIterator(Iterator[Any]):
    """The results of ``imap`` (in input order) or ``imap_unordered`` (as they finish).

    One batch per pool process is in flight; each finished batch makes room for the next,
    which goes to the process that finished. Batches are submitted while iterating: nothing
    runs ahead of the iteration by more than one batch per process.

    Differences from Ray: a call that raised raises its exception when its result is reached
    (as the standard library does); Ray yields its internal error wrapper instead.
    """

    def __init__(self, pool: Any, func: Callable[..., Any], iterable: Iterable[Any],
                 chunksize: int | None, ordered: bool) -> None:
        self._pool, self._func, self._ordered = pool, func, ordered
        if chunksize is None:
            chunksize = pool._chunksize_for(iterable) if hasattr(iterable, "__len__") else 1
        self._chunksize = max(1, chunksize)
        self._items = iter(iterable)
        self._exhausted = False
        self._inflight: dict[Any, tuple[int, int]] = {}  # ref -> (chunk index, actor index)
        self._finished: dict[int, list[Any]] = {}  # finished chunks not yet yielded (ordered)
        self._buffer: deque[Any] = deque()
        self._submitted = 0
        self._next_chunk = 0
        for actor_index in range(pool._size()):
            self._submit(actor_index)

    def _submit(self, actor_index: int) -> None:
        if self._exhausted:
            return
        chunk = [((item,), None) for _, item in zip(range(self._chunksize), self._items)]
        if len(chunk) < self._chunksize:
            self._exhausted = True
        if chunk:
            ref = self._pool._run_batch(actor_index, self._func, chunk)
            self._inflight[ref] = (self._submitted, actor_index)
            self._submitted += 1

    def __iter__(self) -> IMapIterator:
        return self

    def __next__(self) -> Any:
        return self.next()

    def next(self, timeout: float | None = None) -> Any:
        """The next result, waiting up to ``timeout`` seconds (``multiprocessing.TimeoutError``
        after that); ``StopIteration`` at the end."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self._buffer:
            if self._ordered and self._next_chunk in self._finished:
                self._buffer.extend(self._finished.pop(self._next_chunk))
                self._next_chunk += 1
            elif not self._inflight:
                raise StopIteration
            else:
                self._collect(deadline)
        return _as_value(self._buffer.popleft())

    def _collect(self, deadline: float | None) -> None:
        """Wait for at least one batch in flight; file it and submit the next."""
        import raylike as ray

        left = None if deadline is None else max(0.0, deadline - time.monotonic())
        ready, _ = ray.wait(list(self._inflight), num_returns=1, timeout=left)
        if not ready:
            raise TimeoutError
        for ref in ready:
            chunk_index, actor_index = self._inflight.pop(ref)
            if self._ordered:
                self._finished[chunk_index] = _batch(ref)
            else:
                self._buffer.extend(_batch(ref))
            self._submit(actor_index)
