"""Objects: ``ObjectRef`` and ``put`` / ``get`` / ``wait`` / ``cancel``.

An ``ObjectRef`` names one object by its Dask key. In a process that has a Dask client (the driver
and every Dask worker) it also holds a Dask future, so the object lives while a ref to it exists
there; in a task's child process it is a bare key and the worker that runs the task holds the
object for the task's duration (see ``docs/design.md``, "Objects").
"""
from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import gc
import logging
import os
import threading
import traceback
from collections.abc import Callable, Generator, Sequence
from typing import Any, Generic, TypeVar, overload

from raylike._api import context as _context
from raylike._api import ids as _ids
from raylike._api import memory as _memory
from raylike._api import pinning as _pinning
from raylike._api import runtime as _runtime
from raylike._api import serialization as _serialization
from raylike._api import unhandled as _unhandled
from raylike._api.ref_counts import child_refs
from raylike._api.ref_counts import releases as _releases
from raylike._api.ref_counts import submitted as _submitted
from raylike.exceptions import RayError

T = TypeVar("T")
_NIL = "f" * 56
# ids this process has shown (``hex``/``binary``) -> their Dask keys, the latest kept
_IDS_KEPT = 1 << 16
_keys_by_id: collections.OrderedDict[str, str] = collections.OrderedDict()
_ids_lock = threading.Lock()
# called with each new ref's key while call sites are recorded (``raylike._api.memory``)
_site_hook: Callable[[str], None] | None = None

__all__ = ["ObjectRef", "cancel", "get", "put", "wait"]


class ObjectRef(Generic[T]):
    """A reference to an object in the cluster, returned by ``.remote()`` and ``put``."""

    __slots__ = ("_key", "_future", "_direct", "_watchable", "_delivered", "_actor_call",
                 "__weakref__")

    def __init__(self, key: str | bytes, future: Any = None) -> None:
        # raylike makes refs from Dask keys (str); a user, as in Ray, from an id's 28 bytes
        self._key = key if isinstance(key, str) else _key_of_id(key)
        if _site_hook is not None:
            _site_hook(self._key)
        if child_refs.active:
            child_refs.add(self._key)
        self._future = future  # a Dask future where this process has a client; never exposed
        self._direct: Any = None  # the answer of a driver's direct actor call (``_direct``)
        self._watchable = False  # a task's only result: its node can hand it over early
        self._delivered = False  # handed over early: done, whatever Dask has heard so far
        # made by an actor method call (see ``cancel``): its actor's id (hex), where known
        self._actor_call: str | bool = False

    @classmethod
    def nil(cls) -> ObjectRef[Any]:
        """The nil ref (what a generator's ``_next_sync`` returns when nothing came in time)."""
        return cls(_NIL)

    @classmethod
    def from_random(cls) -> ObjectRef[Any]:
        """A ref with a random id, naming no object."""
        return cls(os.urandom(_ids.OBJECT_ID_SIZE))

    def is_nil(self) -> bool:
        return self._key == _NIL

    def hex(self) -> str:
        """The object's id as a hex string (56 digits, as Ray's)."""
        digits = _ids.object_hex(self._key)
        if digits != self._key:  # ``ObjectRef(ref.binary())`` must find this key again
            with _ids_lock:
                _keys_by_id[digits] = self._key
                _keys_by_id.move_to_end(digits)
                if len(_keys_by_id) > _IDS_KEPT:
                    _keys_by_id.popitem(last=False)
        return digits

    def binary(self) -> bytes:
        """The object's id (28 bytes, as Ray's)."""
        return bytes.fromhex(self.hex())

    def task_id(self) -> _ids.TaskID:
        """The id of the task that made the object, as Ray's ``TaskID``.

        Differences from Ray: drawn from the object's Dask key and the calling process's job
        (a ref is used in the job that made it). An actor call's id ends with its actor's id,
        as Ray's, and matches the state API's (``list_tasks``)."""
        actor_id = self._actor_call if isinstance(self._actor_call, str) else None
        return _ids.TaskID.from_hex(_ids.task_id(self._key, actor_id,
                                                 _context.current_job_id()))

    def job_id(self) -> _ids.JobID:
        """The id of the job the object belongs to (the calling process's)."""
        return self.task_id().job_id()

    def _on_completed(self, callback: Callable[[Any], object]) -> None:
        """Ray's private hook: call ``callback(value)`` from a background thread once the
        object is ready (with the exception instead where getting it raises). The callback
        is held until then, and dropped after; an error it raises is logged."""

        def deliver(fut: concurrent.futures.Future[T]) -> None:
            exc = fut.exception()
            try:
                callback(fut.result() if exc is None else exc)
            except Exception:  # logged as text: a kept record must not hold the callback
                logging.getLogger("raylike").error("Error in ObjectRef._on_completed callback "
                                                   "%s:\n%s", repr(callback),
                                                   traceback.format_exc())

        self.future().add_done_callback(deliver)

    def __hash__(self) -> int:
        return hash(self._key)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ObjectRef) and other._key == self._key

    def __repr__(self) -> str:
        return f"ObjectRef({self.hex()})"

    def __reduce__(self) -> Any:
        if self._direct is not None and self._future is None:
            self._direct.promote(self, block=False)  # other processes need a Dask key
        elif child_refs.active and self._key in child_refs.direct:
            child_refs.leaving(self._key)  # its worker makes the key a Dask one (``ChildRefs``)
        _Borrowed.note(self)
        args = (self._key, self._actor_call) if self._actor_call else (self._key,)
        if _pinning.active() and self._key not in _actor_keys and not self.is_nil():
            _pinning.pin(_rebuild(*args))  # out of band: pinned for the process's life
        return (_rebuild, args)

    def future(self) -> concurrent.futures.Future[T]:
        """A ``concurrent.futures.Future`` that resolves to the object's value."""
        fut: concurrent.futures.Future[T] = concurrent.futures.Future()

        def fill() -> None:
            try:
                value = get(self)
            except BaseException as exc:  # noqa: B036 - delivered through the future
                if fut.set_running_or_notify_cancel():  # not cancelled by its holder meanwhile
                    fut.set_exception(exc)
                return
            if fut.set_running_or_notify_cancel():
                fut.set_result(value)

        threading.Thread(target=fill, daemon=True, name="raylike-ref-future").start()
        return fut

    def __await__(self) -> Generator[Any, None, T]:
        return asyncio.wrap_future(self.future()).__await__()

    def as_future(self, _internal: bool = False) -> asyncio.Future[T]:
        """An ``asyncio.Future`` (of the current event loop) that resolves to the object's
        value; cancelling it does not cancel the task."""
        return asyncio.wrap_future(self.future())

    def __del__(self) -> None:
        if not hasattr(self, "_future"):  # its __init__ refused the id it was given
            return
        if _runtime._process is not None:
            if child_refs.active:
                child_refs.drop(self._key)
            return
        if self._future is not None:  # a driver's ref (a task's or a call's result may be
            # watched until it ends, to report its error; nothing else: an actor's own ref
            # must go, or the actor would never go out of scope)
            _releases.add((self._key, self._future,
                           self._watchable or bool(self._actor_call)))
        elif self._direct is not None:  # its answer: an error in it is reported if unhandled
            _releases.add((self._key, self._direct.future, True))


def actor_ref(ref: ObjectRef[Any]) -> None:
    """``ref`` is an actor handle's ref to its actor (its reservation task), not an object's:
    the reference table leaves it out, as Ray counts actor handles apart."""
    _actor_keys.add(ref._key)


_actor_keys: set[str] = set()


def reference_counts() -> dict[bytes, dict[str, int]]:
    """This process's reference table, as Ray's core worker reports it: for each object it
    refers to, ``{"local": live ObjectRef objects naming it, "submitted": unfinished tasks
    given it}``, keyed by the object's hex id (bytes). Objects not collected yet count: the
    caller collects garbage first if it must."""
    local = collections.Counter(o._key for o in gc.get_objects() if type(o) is ObjectRef)
    submitted = _submitted.snapshot()
    return {_ids.object_hex(key).encode("ascii"): {"local": local.get(key, 0),
                                                    "submitted": submitted.get(key, 0)}
            for key in {*local, *submitted} if key not in _actor_keys and key != _NIL}


def exists(ref: ObjectRef[Any]) -> bool:
    """Whether the cluster holds ``ref``'s object now (some node has its value), or this
    process does: the answer of a direct call or leased task, held by the ref itself until it
    leaves the process (Ray's in-process memory store)."""
    from raylike._api import state as _state

    direct = ref._direct
    if ref._future is None and direct is not None and getattr(direct, "future", None):
        return bool(direct.future.done())

    return bool(_state.object_locations([ref._key]).get(ref._key, {}).get("node_ids"))


def _key_of_id(object_id: bytes) -> str:
    """The Dask key of the object whose 28-byte id is ``object_id``: that of a ref whose id
    this process has shown, else the id's hex (the key of no object)."""
    if not isinstance(object_id, (bytes, bytearray)):
        raise TypeError(f"ObjectRef needs the object's id as bytes, got {type(object_id)}")
    if len(object_id) != _ids.OBJECT_ID_SIZE:
        raise ValueError(f"ID string needs to have length {_ids.OBJECT_ID_SIZE}, "
                         f"got {len(object_id)}")
    digits = bytes(object_id).hex()
    with _ids_lock:
        return _keys_by_id.get(digits, digits)


def _rebuild(key: str, actor_call: str | bool = False) -> ObjectRef[Any]:
    ref = _runtime.process_backend().ref(key)
    if actor_call:
        ref._actor_call = actor_call
    return ref


class _Borrowed:
    """While active on a thread, collects the refs pickled there, so a worker can hold their
    objects alive for as long as a child process uses the bare keys."""

    _local = threading.local()

    def __init__(self) -> None:
        self.refs: list[ObjectRef[Any]] = []

    def __enter__(self) -> _Borrowed:
        self._outer = getattr(self._local, "current", None)
        self._local.current = self
        return self

    def __exit__(self, *exc: object) -> None:
        self._local.current = self._outer

    @classmethod
    def note(cls, ref: ObjectRef[Any]) -> None:
        current = getattr(cls._local, "current", None)
        if current is not None:
            current.refs.append(ref)
        put = getattr(cls._local, "put", None)  # a ``put`` on this thread (see ``put``)
        if put is not None:
            put.append(ref)


def put(value: T, *, _owner: Any = None) -> ObjectRef[T]:
    """Store ``value`` in the cluster and return its ref.

    Differences from Ray: ``_owner`` is accepted and ignored.
    """
    if isinstance(value, ObjectRef):
        raise TypeError("Calling 'put' on an ray.ObjectRef is not allowed. If you really want "
                        "to do this, you can wrap the ray.ObjectRef in a list and call 'put' "
                        "on it.")
    backend = _runtime.backend(auto_init=True)
    inner: list[ObjectRef[Any]] = []
    outer = getattr(_Borrowed._local, "put", None)
    _Borrowed._local.put = inner  # the refs the value holds: captured in it (``_memory``)
    try:
        with _memory.annotate("(put object)"):
            ref: ObjectRef[T] = backend.put(value)
    finally:
        _Borrowed._local.put = outer
    _memory.owned([ref._key])
    _memory.contained(ref._key, [r._key for r in inner])
    return ref


@overload
def get(object_refs: ObjectRef[T], *, timeout: float | None = None) -> T: ...
@overload
def get(object_refs: Sequence[ObjectRef[T]], *, timeout: float | None = None) -> list[T]: ...
@overload
def get(object_refs: Any, *, timeout: float | None = None) -> Any: ...


def get(object_refs: Any, *, timeout: float | None = None) -> Any:
    """The value of a ref, or the values of a list of refs in order.

    Raises ``GetTimeoutError`` after ``timeout`` seconds, and the task's error (a
    ``RayTaskError`` that is also an instance of the original type) if the task failed.
    """
    _serialization.check_not_keeping()  # a Dask worker unpickling what it keeps: not now
    backend = _runtime.backend(auto_init=True)  # as Ray, before the arguments are checked
    single = isinstance(object_refs, ObjectRef)
    refs = [object_refs] if single else object_refs
    if not isinstance(refs, list):
        if _is_generator(object_refs):
            return object_refs  # as Ray does
        raise ValueError("'object_refs' must either be an ObjectRef or a list of ObjectRefs, "
                         f"got {type(object_refs).__name__}.")
    for ref in refs:
        if not isinstance(ref, ObjectRef):
            raise TypeError("'object_refs' must either be an ObjectRef or a list of "
                            f"ObjectRefs, got a list holding {type(ref).__name__}.")
    _check_timeout(timeout)
    if not refs:
        return []
    try:
        values = backend.get(list(refs), timeout)
    except RayError:  # raised here: dropping these refs reports nothing (``_unhandled``)
        _unhandled.handled([ref._key for ref in refs])
        raise
    for ref, value in zip(refs, values):  # a zero-copy view pins its object (``_memory``)
        _memory.pin(ref._key, value)
    return values[0] if single else values


def wait(object_refs: Sequence[Any], *, num_returns: int = 1,
         timeout: float | None = None, fetch_local: bool = True) -> tuple[list[Any], list[Any]]:
    """Wait until ``num_returns`` of the refs are ready or ``timeout`` passes.

    Returns ``(ready, not_ready)``, both in input order. ``timeout=0`` polls. A streaming
    generator (``ObjectRefGenerator``) is ready when ``next`` on it would return at once.
    """
    backend = _runtime.backend(auto_init=True)  # as Ray, before the arguments are checked
    if not isinstance(object_refs, list):
        raise TypeError("wait() expected a list of ray.ObjectRef, "
                        f"got {type(object_refs).__name__}")
    for ref in object_refs:
        if not isinstance(ref, ObjectRef) and not _is_generator(ref):
            raise TypeError(f"wait() expected a list of ray.ObjectRef, got list containing "
                            f"{type(ref).__name__}")
    if isinstance(num_returns, bool) or not isinstance(num_returns, int):
        raise TypeError(f"num_returns must be an int, got {type(num_returns).__name__}")
    if num_returns <= 0:
        raise ValueError(f"Invalid number of objects to return {num_returns}.")
    if not object_refs:
        return [], []
    if num_returns > len(object_refs):
        raise ValueError("num_returns cannot be greater than the number of objects provided "
                         f"to ray.wait ({num_returns} > {len(object_refs)}).")
    if len(set(object_refs)) != len(object_refs):
        raise ValueError("Wait requires a list of unique object refs.")
    _check_timeout(timeout)
    refs = list(object_refs)
    # a generator whose next ref is known here, or that ended, is ready with no wait; with
    # ``timeout=0`` one asks the scheduler once (Ray's owner knows its items locally)
    at_once = {id(r) for r in refs if not isinstance(r, ObjectRef) and (
        r._ended or r._known or (timeout == 0 and r._ask(0.0)[0] != "timeout"))}
    rest = [r for r in refs if id(r) not in at_once]
    done: set[int] = set()
    if rest and len(at_once) < num_returns:
        waitables = [r if isinstance(r, ObjectRef) else r._position() for r in rest]
        found = {id(w) for w in backend.wait(waitables, num_returns - len(at_once), timeout)}
        done = {id(r) for r, w in zip(rest, waitables) if id(w) in found}
    ready = [r for r in refs if id(r) in at_once or id(r) in done][:num_returns]
    chosen = {id(r) for r in ready}
    return ready, [r for r in refs if id(r) not in chosen]


def cancel(object_ref: ObjectRef[Any], *, force: bool = False, recursive: bool = True) -> None:
    """Cancel the task that makes ``object_ref``: a queued task never runs; a running one is
    interrupted (``KeyboardInterrupt`` inside it); ``force=True`` kills its process. ``get``
    then raises ``TaskCancelledError``.

    An actor method call that has not started never runs. A running one of a sync or threaded
    actor goes on, with ``ray.get_runtime_context().is_canceled()`` true in it; one of an async
    actor has its asyncio task cancelled (``asyncio.CancelledError`` in the method). Either
    way ``get`` raises ``TaskCancelledError``. ``force=True`` is a ``ValueError`` for an actor
    call that has not finished (``ray.kill`` ends an actor). ``recursive`` also cancels the
    tasks and actor calls the cancelled task or call submitted."""
    backend = _runtime.backend(auto_init=True)  # as Ray, before the arguments are checked
    generator = object_ref if _is_generator(object_ref) else None
    if generator is not None:
        object_ref = generator.completed()  # type: ignore[attr-defined] # its task
    if not isinstance(object_ref, ObjectRef):
        raise TypeError("ray.cancel() only supported for object refs. "
                        f"For actors, try ray.kill(). Got: {type(object_ref).__name__}.")
    if force and object_ref._actor_call and not backend.wait([object_ref], 1, 0):
        raise ValueError("force=True is not supported for actor tasks.")
    backend.cancel(object_ref, force, recursive)
    if generator is not None:  # its next ref raises why, unless the task had ended well
        generator._cancel_stream()  # type: ignore[attr-defined]


def _check_timeout(timeout: float | None) -> None:
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, (int, float))
                                or timeout < 0):
        raise ValueError(f"'timeout' must be a non-negative number or None, got {timeout!r}.")


def _is_generator(value: Any) -> bool:
    """Whether ``value`` is a streaming generator (``raylike._api.generators``, imported late:
    it builds on this module)."""
    from raylike._api.generators import ObjectRefGenerator

    return isinstance(value, ObjectRefGenerator)
