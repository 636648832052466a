"""Pickling of user values, functions and task arguments (cloudpickle, protocol 5)."""
from __future__ import annotations

import pickle
from typing import Any

import cloudpickle

PROTOCOL = 5


class _SerializationError(TypeError):
    """Base for serialization failures (a TypeError, as Ray's is)."""


def dumps(value: Any, what: str = "value") -> bytes:
    """Pickle ``value``; a value that cannot be pickled raises ``TypeError`` naming it."""
    try:
        return cloudpickle.dumps(value, protocol=PROTOCOL)
    except Exception as exc:  # cloudpickle raises many types: TypeError, PicklingError, ...
        raise _SerializationError(
            f"Could not serialize the {what} {_short_repr(value)}: {type(exc).__name__}: {exc}. "
            "Check that it does not hold locks, sockets, open files or other objects that "
            "cannot be pickled."
        ) from exc


def loads(data: bytes) -> Any:
    """Unpickle bytes made by :func:`dumps`."""
    return pickle.loads(data)


def _short_repr(value: Any) -> str:
    try:
        text = repr(value)
    except Exception:
        text = f"<{type(value).__name__}>"
    return text if len(text) <= 120 else text[:117] + "..."


class FunctionCache:
    """Unpickled functions by their pickled bytes, so a child unpickles each function once."""

    def __init__(self, size: int = 256) -> None:
        self._size = size
        self._cache: dict[bytes, Any] = {}

    def load(self, data: bytes) -> Any:
        fn = self._cache.get(data)
        if fn is None:
            if len(self._cache) >= self._size:
                self._cache.pop(next(iter(self._cache)))
            fn = self._cache[data] = loads(data)
        return fn
