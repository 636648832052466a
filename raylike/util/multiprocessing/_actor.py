"""The actor behind each process of a ``Pool``, and how a failed call travels back."""
from __future__ import annotations

import traceback
from collections.abc import Callable, Iterable
from typing import Any

# one element of a batch: (positional arguments, keyword arguments), either may be None
Call = tuple[Iterable[Any] | None, dict[str, Any] | None]


class RemoteTraceback(Exception):
    """The traceback of a call that raised in a pool process (the exception's ``__cause__``,
    as in the standard library's pool)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class Failure:
    """What a call that raised returns in its batch: the exception and its traceback text."""

    __slots__ = ("exception", "traceback")

    def __init__(self, exception: BaseException, traceback_text: str) -> None:
        self.exception = exception
        self.traceback = traceback_text

    def __reduce__(self) -> Any:
        return (Failure, (self.exception, self.traceback))

    def reraise(self) -> None:
        """Raise the exception, its remote traceback attached as ``__cause__`` (as
        ``multiprocessing`` does)."""
        exc = self.exception
        if exc.__cause__ is None:
            exc.__cause__ = RemoteTraceback(self.traceback)
        raise exc


class PoolActor:
    """One pool process: runs the initializer once, then batches of calls."""

    def __init__(self, initializer: Callable[..., Any] | None = None,
                 initargs: Iterable[Any] | None = None) -> None:
        if initializer is not None:
            initializer(*(initargs or ()))

    def ping(self) -> None:
        """Answered once the constructor (and so the initializer) has run."""

    def run_batch(self, func: Callable[..., Any], batch: list[Call]) -> list[Any]:
        """``func`` on each call of ``batch``; a call that raises gives a ``Failure``."""
        results: list[Any] = []
        for args, kwargs in batch:
            try:
                results.append(func(*(args or ()), **(kwargs or {})))
            except Exception as exc:  # noqa: BLE001 - delivered to the caller
                results.append(Failure(exc, traceback.format_exc()))
        return results
