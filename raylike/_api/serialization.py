"""Pickling of user values, functions and task arguments (cloudpickle, protocol 5)."""
from __future__ import annotations

import contextlib
import io
import pickle
import sys
import threading
import types
import weakref
from collections.abc import Callable
from typing import Any

import cloudpickle

from raylike.exceptions import SerializationError

PROTOCOL = 5
# ``register_serializer``'s reducers live where Ray keeps them: cloudpickle's own dispatch
# table (``ray.cloudpickle`` is raylike's ``cloudpickle``), so they apply to every pickle
# cloudpickle makes in this process
_DISPATCH = cloudpickle.Pickler.dispatch_table
_learning = False  # a Dask worker: learns the serializers of values it receives
# in a Dask worker, what each value rebuilt by a registered deserializer was rebuilt from
_origins: dict[int, tuple[weakref.ref[Any], Any]] = {}


def _reduce_code(code: types.CodeType) -> Any:
    """cloudpickle's reduction of a code object, with its file name kept (cloudpickle 3 writes
    ``<dynamic-code>``): a task's traceback then names the user's file and shows its lines,
    as Ray's (whose own cloudpickle keeps the name)."""
    func, args = _CLOUDPICKLE_CODE_REDUCE(code)
    return func, tuple(code.co_filename if a == "<dynamic-code>" else a for a in args)


_CLOUDPICKLE_CODE_REDUCE = _DISPATCH.get(types.CodeType)


def dumps(value: Any, what: str = "value", named: bool = False) -> bytes:
    """Pickle ``value``; a value that cannot be pickled raises ``TypeError`` naming it.
    ``what`` describes it in that error (``{value}`` is replaced by its repr, else added,
    unless ``named``: ``what`` names it already, as Ray names a function or an actor class)."""
    if _CLOUDPICKLE_CODE_REDUCE is not None and _DISPATCH.get(types.CodeType) is not _reduce_code:
        _DISPATCH[types.CodeType] = _reduce_code  # set on first use, not at import
    try:
        return cloudpickle.dumps(value, protocol=PROTOCOL)
    except Exception as exc:  # cloudpickle raises many types: TypeError, PicklingError, ...
        raise _cannot_serialize(value, what, exc, named) from exc


_DEFINITION_WARN = 10**7  # bytes: Ray's FUNCTION_SIZE_WARN_THRESHOLD


def check_definition_size(pickled: bytes, name: str, kind: str) -> None:
    """Ray's limit on a pickled remote function or actor class (``kind``): past 10 MB a
    warning, from ``FUNCTION_SIZE_ERROR_THRESHOLD`` bytes (env, default 10**8) ``ValueError``
    (it most likely captured a large value that belongs in ``ray.put``)."""
    import logging
    import os

    size = len(pickled)
    if size <= _DEFINITION_WARN:
        return
    limit = int(os.environ.get("FUNCTION_SIZE_ERROR_THRESHOLD", 10**8))
    mib = size // (1024 * 1024)
    advice = ("Check that its definition is not implicitly capturing a large array or other "
              "object in scope. Tip: use ray.put() to put large objects in the Ray object "
              "store.")
    if size >= limit:
        raise ValueError(f"The {kind} {name} is too large ({mib} MiB > "
                         f"FUNCTION_SIZE_ERROR_THRESHOLD={limit // (1024 * 1024)} MiB). {advice}")
    from raylike._api import error_pubsub as _error_pubsub
    from raylike._api import runtime as _runtime

    text = f"Warning: The {kind} {name} is very large ({mib} MiB). {advice}"
    runtime = _runtime.driver()
    if runtime is None:  # a task's process: its own log
        logging.getLogger("raylike").warning("%s", text)
    else:  # pushed to drivers, as Ray does: this driver logs it when it comes back
        _error_pubsub.publish(runtime.client, "pickling_large_object", text, runtime.job_id)


def register_serializer(cls: type, serializer: Callable[[Any], Any],
                        deserializer: Callable[[Any], Any]) -> None:
    """Pickle instances of exactly ``cls`` as ``deserializer(serializer(obj))`` in this
    process (Ray's rule: the deserializer travels with each value, so any process can
    unpickle it). The pair travels too where it pickles, so that a Dask worker that stores
    such a value can pass it on to the task that reads it; Ray's workers pass on the bytes."""
    try:
        cloudpickle.dumps((cls, serializer), protocol=PROTOCOL)
        ship = True
    except Exception:
        ship = False

    def reduce(obj: Any) -> Any:
        if not ship:
            return deserializer, (serializer(obj),)
        origin = _origins.get(id(obj))  # rebuilt here: passed on as it came, not re-serialized
        data = origin[1] if origin is not None and origin[0]() is obj else serializer(obj)
        return _rebuild_learning, (cls, serializer, deserializer, data)

    _DISPATCH[cls] = reduce


def deregister_serializer(cls: type) -> None:
    """Forget ``cls``'s serializer in this process; nothing happens if it has none."""
    _DISPATCH.maps[0].pop(cls, None)


def learn_serializers() -> None:
    """Called in a Dask worker: values it receives that were pickled with a registered
    serializer teach it that serializer, so it can pickle them again (for a task's process,
    for the driver's ``get``)."""
    global _learning
    _learning = True


def _rebuild_learning(cls: type, serializer: Callable[[Any], Any],
                      deserializer: Callable[[Any], Any], data: Any) -> Any:
    value = deserializer(data)
    if _learning:
        if cls not in _DISPATCH.maps[0]:
            register_serializer(cls, serializer, deserializer)
        with contextlib.suppress(TypeError):  # a value that takes no weak reference
            weakref.finalize(value, _origins.pop, id(value), None)
            _origins[id(value)] = (weakref.ref(value), data)
    return value


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
    move them without copying them into the pickle (see ``raylike._transport.wire``)."""

    __slots__ = ("head", "buffers")

    def __init__(self, head: bytes, buffers: list[Any]) -> None:
        self.head = head
        self.buffers = buffers

    def __reduce_ex__(self, protocol: Any) -> Any:  # protocol 4: Dask's scheduler's
        wrap = pickle.PickleBuffer if protocol >= 5 else bytes
        return (Frames, (self.head, [wrap(b) for b in self.buffers]))


def payload_size(payload: Any) -> int:
    """Bytes in a pickled payload: ``bytes`` or :class:`Frames`."""
    if isinstance(payload, (bytes, bytearray, memoryview)):
        return len(payload)
    return sum(memoryview(b).nbytes for b in getattr(payload, "buffers", ())) + len(
        getattr(payload, "head", b""))


def dumps_frames(value: Any, what: str = "value") -> Frames:
    """Like :func:`dumps`, keeping every buffer (numpy arrays, ...) out of the pickle: a
    reader gets each one read-only and aligned, as Ray's object store gives them
    (:func:`loads`)."""
    buffers: list[Any] = []

    def keep(buf: pickle.PickleBuffer) -> bool:
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
        return pickle.loads(data.head, buffers=read_only(data.buffers))
    return pickle.loads(data)


def read_only(buffers: list[Any]) -> list[memoryview]:
    """The buffers as a reader gets them, as in Ray's object store: read-only (numpy arrays
    made on them cannot be written), at addresses that are multiples of 64 bytes (8 for
    buffers under 64 bytes); one that is not is copied to one that is."""
    views = []
    for buf in buffers:
        view = memoryview(buf).cast("B")
        align = 64 if view.nbytes >= 64 else 8
        if view.nbytes and _address(view) % align:
            raw = bytearray(view.nbytes + align)
            start = -_address(memoryview(raw)) % align
            raw[start:start + view.nbytes] = view
            view = memoryview(raw)[start:start + view.nbytes]
        views.append(view.toreadonly())
    return views


def as_read(value: Any) -> Any:
    """A value Dask handed over (not through :func:`loads`) as :func:`read_only` would give
    it: a numpy array, or one in a list, tuple or dict value at the top, read-only and
    aligned (a copy where it is not aligned)."""
    numpy = sys.modules.get("numpy")
    if numpy is None:
        return value
    if isinstance(value, numpy.ndarray) and value.dtype != object:
        if value.nbytes and value.ctypes.data % (64 if value.nbytes >= 64 else 8):
            value = numpy.frombuffer(read_only([value.tobytes()])[0],
                                     dtype=value.dtype).reshape(value.shape)
        value.flags.writeable = False
        return value
    if type(value) in (list, tuple):
        return type(value)(as_read(item) if isinstance(item, numpy.ndarray) else item
                           for item in value)
    if type(value) is dict:
        return {k: as_read(v) if isinstance(v, numpy.ndarray) else v for k, v in value.items()}
    return value


def _address(view: memoryview) -> int:
    import numpy

    return int(numpy.frombuffer(view, dtype=numpy.uint8).ctypes.data)


class Whole:
    """A value pickled here (:func:`dumps_frames`) that Dask must send as one pickle: Dask
    pickles the items of a top-level list, tuple, set or dict one by one, so two of them that
    were one object would arrive as two. It unpickles as the value itself."""

    __slots__ = ("frames", "keys", "held")

    def __init__(self, value: Any, what: str = "value") -> None:
        from raylike._api.objects import _Borrowed

        with _Borrowed() as borrowed:
            self.frames = dumps_frames(value, what)
        for ref in borrowed.refs:  # whoever collects around this sees them too
            _Borrowed.note(ref)
        self.keys = [ref._key for ref in borrowed.refs]  # the objects the value refers to
        self.held: list[Any] = []

    def __reduce_ex__(self, protocol: Any) -> Any:
        # out-of-band buffers need protocol 5; Dask's scheduler speaks 4 (a gather through it)
        wrap = pickle.PickleBuffer if protocol >= 5 else bytes
        return (_load_whole, (self.frames.head, [wrap(b) for b in self.frames.buffers],
                              self.keys))


def _load_whole(head: bytes, buffers: list[Any], keys: list[str] | None = None) -> Any:
    if not _learning:
        return pickle.loads(head, buffers=read_only(buffers))
    return _load_kept(Frames(head, buffers), keys or [])  # a Dask worker's


class ReadsObjects(Exception):
    """Raised by ``ray.get`` while a Dask worker unpickles a value it keeps: the value reads
    other objects as it unpickles (its ``__reduce__`` calls ``ray.get``), which the worker's
    event loop must not wait for. The worker keeps its bytes instead (see :func:`_kept`)."""


_keeping = threading.local()


def check_not_keeping() -> None:
    """``ray.get``'s check: raise :class:`ReadsObjects` inside :func:`_load_kept`."""
    if getattr(_keeping, "active", False):
        raise ReadsObjects()


def _load_kept(frames: Frames, keys: list[str]) -> Any:
    _keeping.active = True
    try:
        value = pickle.loads(frames.head, buffers=frames.buffers)
    except ReadsObjects:  # each reader unpickles the bytes (and reads the objects) itself
        return _whole_of(frames, keys)
    finally:
        _keeping.active = False
    return _kept(value, frames, keys)


def _whole_of(frames: Frames, keys: list[str]) -> Whole:
    """The bytes kept for readers; the objects they refer to are held while they are kept
    (as the unpickled value's refs would hold them)."""
    from raylike._api import runtime as _runtime

    whole = Whole.__new__(Whole)
    whole.frames, whole.keys = frames, keys
    whole.held = [_runtime.process_backend().ref(key) for key in keys]
    return whole


_RECHECK_LIMIT = 1 << 18  # bytes of pickle (large buffers apart) checked by ``loads_to_keep``


def loads_to_keep(frames: Frames | bytes) -> Any:
    """Unpickle a value that a worker keeps as Dask data (a ``put``; see :func:`_kept`)."""
    return _load_kept(frames if isinstance(frames, Frames) else Frames(bytes(frames), []), [])


def _kept(value: Any, frames: Frames, keys: list[str]) -> Any:
    """What a Dask worker keeps of ``value``, unpickled from ``frames``. Ray keeps the bytes
    and unpickles them afresh for each reader; raylike keeps the value, which must then
    pickle again. One that does not (its ``__reduce__`` rebuilds something unpicklable, as
    Ray's serialization guide shows with a helper class) is kept as the :class:`Whole` of
    the bytes it came as: every reader unpickles those, as in Ray. Checked where the pickle,
    large buffers apart, is at most 256 KiB (re-pickling larger ones would cost too much)."""
    if len(frames.head) <= _RECHECK_LIMIT and not _pickles_again(value):
        try:
            cloudpickle.dumps(value, protocol=PROTOCOL, buffer_callback=lambda _buf: False)
        except Exception:
            return _whole_of(frames, keys)
    return value


_PLAIN_TYPES = (bool, int, float, complex, str, bytes, type(None))


def _pickles_again(value: Any) -> bool:
    """Whether ``value`` surely pickles again, with no need to try (:func:`_kept`): a
    builtin scalar, or a numpy array of a dtype without Python objects (most large puts)."""
    if type(value) in _PLAIN_TYPES:
        return True
    numpy = sys.modules.get("numpy")
    return numpy is not None and type(value) is numpy.ndarray and not value.dtype.hasobject


def _cannot_serialize(value: Any, what: str, exc: Exception,
                      named: bool = False) -> SerializationError:
    """Ray's error: what could not be serialized, then ``inspect_serializability``'s report
    of where in it the culprit is."""
    from raylike.util.check_serialize import inspect_serializability

    if "{value}" not in what and not named:
        what += " {value}"
    report = io.StringIO()
    try:
        inspect_serializability(value, print_file=report)
    except Exception:  # the report is a help; the error must be raised whatever it meets
        report.write(f"{type(exc).__name__}: {exc}\n")
    return SerializationError(
        f"Could not serialize the {what.replace('{value}', _short_repr(value))}:\n"
        f"{report.getvalue()}")


def _short_repr(value: Any) -> str:
    try:
        text = repr(value)
    except Exception:
        text = f"<{type(value).__name__}>"
    return text if len(text) <= 500 else text[:497] + "..."


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
            try:
                fn = loads(data)
            except Exception:  # noqa: BLE001 - any failure is Ray's import failure
                raise import_failure("The remote function failed to import on the worker. "
                                     "This may be because needed library dependencies are "
                                     "not installed in the worker environment or cannot be "
                                     f"found from sys.path {sys.path}") from None
            self._cache[data] = fn
        return fn


def import_failure(head: str) -> RuntimeError:
    """Ray's error for a function or actor class that cannot be unpickled where it runs (a
    module missing there, say): a ``RuntimeError`` whose text ends with the failure's
    traceback (raised ``from None``: the text has it). Called in the ``except`` block of
    that failure."""
    import traceback

    return RuntimeError(f"{head}:\n\n{traceback.format_exc().rstrip()}")
