"""The one place where Dask's exceptions become raylike's (``raylike.exceptions``)."""
from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
from collections.abc import Iterator
from typing import Any

from raylike._api import ids as _ids
from raylike.exceptions import (
    GetTimeoutError,
    ObjectLostError,
    RayError,
    RaySystemError,
    TaskCancelledError,
    WorkerCrashedError,
)


def is_dask_client(obj: Any) -> bool:
    """True for a ``distributed.Client`` (checked without importing distributed eagerly)."""
    return type(obj).__name__ == "Client" and type(obj).__module__.startswith("distributed")


def translate(exc: BaseException, what: str = "", address: str = "") -> BaseException:
    """The raylike exception for a Dask (or asyncio/socket) exception ``exc``; ``address``:
    the scheduler's, named when the connection to it is lost."""
    if isinstance(exc, RayError):
        return exc
    name = type(exc).__name__
    lost = _lost_key(exc)
    if lost is not None:
        return ObjectLostError(_ids.object_hex(lost))
    if _cancel_reason(exc) in DISCONNECTED_REASONS:
        return connection_lost(address, "the Dask client was disconnected")
    if isinstance(exc, (asyncio.CancelledError, concurrent.futures.CancelledError)) or \
            name in ("FutureCancelledError", "FuturesCancelledError"):
        return TaskCancelledError(what or None)
    if name == "KilledWorker":
        return WorkerCrashedError(f"The Dask worker running {what or 'the task'} died "
                                  f"repeatedly: {exc}")
    if isinstance(exc, TimeoutError):
        return GetTimeoutError(f"Get timed out: some object(s) not ready. {exc}".strip())
    if isinstance(exc, OSError) or name in ("CommClosedError", "StreamClosedError"):
        return connection_lost(address, f"{type(exc).__name__}: {exc}")
    return exc


def connection_lost(address: str, detail: str) -> RaySystemError:
    """The error for calls made after the connection to the scheduler was lost."""
    where = f" at {address}" if address else ""
    return RaySystemError(f"Lost the connection to the Dask scheduler{where} ({detail}); "
                          "objects and tasks of this session are gone. Call ray.shutdown() "
                          "and ray.init() again once the cluster is back.")


# why Dask cancels the future of an object that is gone (the scheduler forgot a scattered value
# whose only worker died; a task was given such a value): Ray's ``ObjectLostError``, not a cancel
LOST_REASONS = frozenset({"already forgotten", "lost dependencies"})
# why Dask cancels every future of a client that lost its scheduler
DISCONNECTED_REASONS = frozenset({"scheduler-connection-lost", "scheduler-restart"})


def _cancelled(exc: BaseException) -> list[Any]:
    """The ``FutureCancelledError``s in a Dask cancellation (one, or a group's)."""
    name = type(exc).__name__
    if name == "FutureCancelledError":
        return [exc]
    if name == "FuturesCancelledError":
        return [err for group in getattr(exc, "error_groups", ()) for err in group.errors]
    return []


def _cancel_reason(exc: BaseException) -> str | None:
    errors = _cancelled(exc)
    return str(getattr(errors[0], "reason", "")) if errors else None


def _lost_key(exc: BaseException) -> str | None:
    """The key of a lost object ``exc`` (a Dask cancellation) reports, if that is what it is."""
    for err in _cancelled(exc):
        if getattr(err, "reason", None) in LOST_REASONS:
            return str(err.key)
    return None


@contextlib.contextmanager
def dask_errors(what: str = "", address: str = "") -> Iterator[None]:
    """Re-raise Dask exceptions raised in the block as raylike exceptions."""
    try:
        yield
    except RayError:
        raise
    except BaseException as exc:
        mapped = translate(exc, what, address)
        if mapped is exc:
            raise
        raise mapped from exc


def connect_error(address: str, exc: BaseException) -> RaySystemError:
    """The error for a scheduler address where nothing answers."""
    return RaySystemError(f"Could not connect to the Dask scheduler at {address}: "
                          f"{type(exc).__name__}: {exc}")
