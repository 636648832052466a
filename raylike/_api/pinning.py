"""Refs pickled out of band pin their objects for the life of the process, as in Ray.

An object lives while some ref to it exists; raylike's own pickling (task arguments, ``put``
values, results) keeps track of the refs a value holds. A ref pickled outside it, with
``ray.cloudpickle.dumps(ref)`` or captured in the definition of a remote function or an actor
class, escapes that count: its bytes may be loaded at any time. Ray then pins the object for the
lifetime of the process that pickled the ref (it adds a local reference never taken away), and
raylike does the same: while :func:`out_of_band` is active on a thread, each ref pickled there
leaves a copy of itself here (``ObjectRef.__reduce__``), dropped only at ``shutdown``, so the
reference table counts it as one more local reference, as Ray's does.
"""
from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

__all__ = ["active", "out_of_band", "pin", "unpin_all"]

_local = threading.local()
_lock = threading.Lock()
_pinned: list[Any] = []  # copies of the refs pickled out of band, kept until shutdown


@contextlib.contextmanager
def out_of_band() -> Iterator[None]:
    """While active on this thread, each ref pickled on it pins its object (see above)."""
    depth = getattr(_local, "depth", 0)
    _local.depth = depth + 1
    try:
        yield
    finally:
        _local.depth = depth


def active() -> bool:
    """Whether refs pickled on this thread now are pickled out of band."""
    return getattr(_local, "depth", 0) > 0


def pin(ref: Any) -> None:
    """Keep ``ref`` (a copy of a ref pickled out of band) until :func:`unpin_all`."""
    with _lock:
        _pinned.append(ref)


def unpin_all() -> None:
    """Drop every pin (at ``shutdown``: the refs cannot be used after it)."""
    with _lock:
        dropped = list(_pinned)
        _pinned.clear()
    del dropped  # the refs' objects are released here, outside the lock
