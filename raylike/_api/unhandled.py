"""Unhandled errors: a driver's ref to a failed task or actor call dropped without its error
ever having been raised by ``get`` is reported, as Ray reports it ("Unhandled error ...", through
``ray._private.worker._unhandled_error_handler``; ``RAY_IGNORE_UNHANDLED_ERRORS=1`` silences
it).

A driver's dropped refs are checked by ``raylike._dask.client.unhandled`` (its Dask futures and
direct calls' answers), which reports here the errors no ``get`` raised.
"""
from __future__ import annotations

import logging
import os
import threading

__all__ = ["handled", "report"]

logger = logging.getLogger("raylike")

_lock = threading.Lock()
_handled: set[str] = set()  # keys whose error a ``get`` raised (forgotten once dropped)
_HANDLED_KEPT = 100_000


def handled(keys: list[str]) -> None:
    """``get`` raised the error of one of ``keys``: none of them is reported when dropped."""
    with _lock:
        if len(_handled) > _HANDLED_KEPT:
            _handled.clear()
        _handled.update(keys)


def report(key: str, exc: BaseException) -> None:
    """The error of dropped ref ``key`` was never raised: report it, unless a ``get`` did."""
    with _lock:
        if key in _handled:
            _handled.discard(key)
            return
    if os.environ.get("RAY_IGNORE_UNHANDLED_ERRORS"):
        return
    from raylike._api import runtime as _runtime

    if not _runtime.is_initialized():  # failed by the shutdown itself (an actor dies with
        return  # its owner): Ray's driver reports nothing once it disconnected
    from raylike._private import worker

    try:
        worker._unhandled_error_handler(exc)
    except Exception:
        logger.debug("the unhandled-error handler failed", exc_info=True)
