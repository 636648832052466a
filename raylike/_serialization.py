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
        raise _cannot_serialize(value, what, exc) from exc


def unpicklable_part(parts: list[tuple[str, Any]], exc: Exception) -> TypeError:
    """The error naming the first of ``parts`` (``(what, value)`` pairs, e.g. a call's
    arguments) that cannot be pickled; ``exc`` (re-raised as it is) if each pickles alone."""
    for what, value in parts:
        try:
            cloudpickle.dumps(value, protocol=PROTOCOL)
        except Exception as part_exc:
            return _cannot_serialize(value, what, part_exc)
    return exc if isinstance(exc, TypeError) else _cannot_serialize(parts, "values", exc)


class Frames:
    """A value pickled with its large buffers (numpy arrays, ...) kept apart, so a transport can
    move them without copying them into the pickle (see ``raylike._wire``)."""

    __slots__ = ("head", "buffers")

    def __init__(self, head: bytes, buffers: list[Any]) -> None:
        self.head = head
        self.buffers = buffers

    def __reduce__(self) -> Any:
        return (Frames, (self.head, [pickle.PickleBuffer(b) for b in self.buffers]))


def payload_size(payload: Any) -> int:
    """Bytes in a pickled payload: ``bytes`` or :class:`Frames`."""
    if isinstance(payload, (bytes, bytearray, memoryview)):
        return len(payload)
    return sum(memoryview(b).nbytes for b in getattr(payload, "buffers", ())) + len(
        getattr(payload, "head", b""))


def dumps_frames(value: Any, what: str = "value") -> Frames:
    """Like :func:`dumps`, keeping buffers of 64 KiB or more out of the pickle."""
    buffers: list[Any] = []

    def keep(buf: pickle.PickleBuffer) -> bool:
        if buf.raw().nbytes < 1 << 16:
            return True
        buffers.append(buf.raw())
        return False

    try:
        head = cloudpickle.dumps(value, protocol=PROTOCOL, buffer_callback=keep)
    except Exception as exc:
        raise _cannot_serialize(value, what, exc) from exc
    return Frames(head, buffers)


def dumps_error(exc: BaseException, fallback: type[BaseException] = RuntimeError) -> bytes:
    """Pickle an exception; one that does not pickle becomes ``fallback`` with its text."""
    try:
        return dumps(exc)
    except TypeError:
        return dumps(fallback(f"{type(exc).__name__}: {exc}"))


def loads(data: Any) -> Any:
    """Unpickle what :func:`dumps` or :func:`dumps_frames` made."""
    if isinstance(data, Frames):
        return pickle.loads(data.head, buffers=data.buffers)
    return pickle.loads(data)


def _cannot_serialize(value: Any, what: str, exc: Exception) -> _SerializationError:
    return _SerializationError(
        f"Could not serialize the {what} {_short_repr(value)}: {type(exc).__name__}: {exc}. "
        "Check that it does not hold locks, sockets, open files or other objects that "
        "cannot be pickled.")


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
        data = bytes(data)
        fn = self._cache.get(data)
        if fn is None:
            if len(self._cache) >= self._size:
                self._cache.pop(next(iter(self._cache)))
            fn = self._cache[data] = loads(data)
        return fn
