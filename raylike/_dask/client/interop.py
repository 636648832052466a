"""Dask interop: Dask futures and collections as ``ObjectRef``s, and back.

raylike objects *are* Dask objects (a ref names a Dask key), so the bridge is thin: a ref's Dask
future is the future of its key, and a Dask future becomes a ref by holding its key. Dask's
client is only touched through ``_backend`` (``adopt``, ``compute``, ``run_graph``).
"""
from __future__ import annotations

import sys
from typing import Any

from raylike._api import runtime as _runtime
from raylike._api.objects import ObjectRef
from raylike.exceptions import RaySystemError

__all__ = ["as_argument_ref", "from_dask", "is_collection", "is_future", "to_dask"]

# Dask collections computed on the cluster ask each task for this much, like a Ray task
DEFAULT_GRAPH_RESOURCES = {"CPU": 1.0}


def is_collection(value: Any) -> bool:
    """A Dask collection (array, dataframe, bag, delayed, ...), checked without importing
    Dask: a collection can only exist once ``dask`` is imported."""
    if "dask" not in sys.modules or not hasattr(type(value), "__dask_graph__"):
        return False
    import dask

    return bool(dask.is_dask_collection(value))


def is_future(value: Any) -> bool:
    """A ``distributed.Future``."""
    if "distributed" not in sys.modules:
        return False
    from distributed import Future

    return isinstance(value, Future)


def _client_backend(what: str) -> Any:
    backend = _runtime.backend(auto_init=True)
    if backend.client is None:
        raise RaySystemError(f"{what} needs a Dask client: call it in the driver, not inside "
                             "a task or actor.")
    return backend


def to_dask(ref: ObjectRef[Any]) -> Any:
    """The ``distributed.Future`` of a ref's object, on raylike's Dask client.

    The future keeps the object alive on its own (dropping the ref does not free it), and it
    can be used with any Dask API (``client.gather``, ``client.submit(f, future)``, Dask
    collections built from futures).

    Raises:
        TypeError: ``ref`` is not an ``ObjectRef``.
        RaySystemError: called in a task's or actor's process (no Dask client there).
    """
    if not isinstance(ref, ObjectRef):
        raise TypeError(f"to_dask() expects an ObjectRef, got {type(ref).__name__}")
    return _client_backend("to_dask()").future_of(ref)


def from_dask(obj: Any) -> ObjectRef[Any]:
    """An ``ObjectRef`` for a Dask future, or for a Dask collection computed on the cluster.

    A collection (``dask.array``, ``dask.dataframe``, ``dask.bag``, ``dask.delayed``, ...) is
    submitted at once, its tasks needing 1 CPU each like Ray tasks, and the ref names its
    result: ``ray.get`` waits for it, tasks receive the concrete value. A future must belong to
    the cluster raylike is connected to (any client of it).

    Differences from Ray: raylike only. In a task's or actor's process (which has no Dask
    client) a collection is computed there with Dask's local scheduler and ``put``.

    Raises:
        TypeError: ``obj`` is neither a Dask future nor a Dask collection.
        ValueError: the future belongs to another Dask cluster.
    """
    if is_future(obj):
        return _client_backend("from_dask() of a future").adopt(obj)
    if not is_collection(obj):
        raise TypeError("from_dask() expects a distributed.Future or a Dask collection, got "
                        f"{type(obj).__name__}")
    backend: Any = _runtime.backend(auto_init=True)
    if backend.client is None:  # a task's process
        import dask

        (value,) = dask.compute(obj, scheduler="threads")
        return backend.put(value)
    return backend.compute(obj, DEFAULT_GRAPH_RESOURCES)


def as_argument_ref(value: Any) -> ObjectRef[Any] | None:
    """The ref a top-level ``.remote()`` argument stands for, if it is a ``distributed.Future``
    (adopted where a client exists). A Dask collection is not one: Ray passes it to the task
    as it is (lazy), and so does raylike; ``from_dask(collection)`` makes a ref of it."""
    if is_future(value) and _runtime.backend(auto_init=True).client is not None:
        return from_dask(value)
    return None
