"""Unhandled errors of a driver's dropped refs (see ``raylike._api.unhandled``).

A dropped ref reaches :func:`released` from ``raylike._api.objects._Releases`` (off the
collector's path): a Dask future, or the answer of a direct actor call. One still running is
watched until it ends, so the error of a task whose refs were dropped at once is reported too
(its task runs on: Ray runs it as well).
"""
from __future__ import annotations

import concurrent.futures
import logging
from typing import Any

from raylike._api.unhandled import report
from raylike._dask import internals
from raylike._dask.client.callbacks import when_done

logger = logging.getLogger("raylike")


def released(key: str, item: Any, watch: bool) -> None:
    """The driver dropped a ref to ``key``; ``item``: its Dask future, or its direct call's
    answer (a ``concurrent.futures.Future``); ``watch``: a task's or an actor call's result,
    held until it ends when it has not yet (anything else is let go at once)."""
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
    exc = internals.future_exception(fut)
    if isinstance(exc, BaseException):
        report(key, exc)


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
        from raylike._api.serialization import loads

        report(key, loads(payload))
