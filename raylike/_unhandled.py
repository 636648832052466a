"""Unhandled errors: a driver's ref to a failed task or actor call dropped without its error
ever having been raised by ``get`` is reported, as Ray reports it ("Unhandled error ...", through
``ray._private.worker._unhandled_error_handler``; ``RAY_IGNORE_UNHANDLED_ERRORS=1`` silences
it).

A driver's dropped refs reach :func:`released` from ``_objects._Releases`` (off the collector's
path): a Dask future, or the answer of a direct actor call. One still running is watched until
it ends, so the error of a task whose refs were dropped at once is reported too (its task runs
on: Ray runs it as well).
"""
from __future__ import annotations

import concurrent.futures
import logging
import os
import threading
from typing import Any

__all__ = ["handled", "released"]

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


def released(key: str, item: Any, watch: bool) -> None:
    """The driver dropped a ref to ``key``; ``item``: its Dask future, or its direct call's
    answer (a ``concurrent.futures.Future``); ``watch``: a task's or an actor call's result,
    held until it ends when it has not yet (anything else is let go at once)."""
    from raylike._callbacks import when_done  # imports Dask: not at raylike's import

    try:
        if isinstance(item, concurrent.futures.Future):
            item.add_done_callback(lambda fut: _direct_done(key, fut))
        elif item.status == "pending":
            if watch:
                when_done(item, lambda fut: _dask_done(key, fut))
        else:
            _dask_done(key, item)
    except Exception:  # a report must never break the release of a ref
        logger.debug("unhandled-error check of %s failed", key, exc_info=True)


def _dask_done(key: str, fut: Any) -> None:
    if fut.status != "error" or _other_refs(fut):
        return
    exc = getattr(fut._state, "exception", None)
    if isinstance(exc, BaseException):
        _report(key, exc)


def _other_refs(fut: Any) -> bool:
    """Whether the driver still holds another ref to the future's key (this one is being
    dropped)."""
    return int(fut.client.refcount.get(fut.key, 0)) > 1


def _direct_done(key: str, fut: concurrent.futures.Future[Any]) -> None:
    try:
        status, payload = fut.result()
    except Exception:  # the connection went away: not the call's error
        return
    if status == "err":
        from raylike._serialization import loads

        _report(key, loads(payload))


def _report(key: str, exc: BaseException) -> None:
    with _lock:
        if key in _handled:
            _handled.discard(key)
            return
    if os.environ.get("RAY_IGNORE_UNHANDLED_ERRORS"):
        return
    from raylike import _runtime

    if not _runtime.is_initialized():  # failed by the shutdown itself (an actor dies with
        return  # its owner): Ray's driver reports nothing once it disconnected
    from raylike._private import worker

    try:
        worker._unhandled_error_handler(exc)
    except Exception:
        logger.debug("the unhandled-error handler failed", exc_info=True)
