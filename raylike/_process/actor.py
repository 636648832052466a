"""An actor's own process (a child of its worker): builds the instance and runs its calls.

The worker sends ``("actor-init", ...)`` once, then ``("actor-call", call_id, ...)`` messages in
the order the calls may start. How they run depends on the actor:

* a plain actor runs them one at a time, in that order, on the process's main thread;
* ``max_concurrency=N`` runs them on a pool of N threads;
* an async actor (any ``async def`` method) runs them on an asyncio loop in a thread of its own,
  up to ``max_concurrency`` (default 1000) at once;
* each of ``concurrency_groups`` has a thread pool (an asyncio loop and thread, for an async
  actor) of its own with its own limit; the default group is the one above (with a pool even
  at ``max_concurrency=1``, so a blocked group never holds the others up).

``("actor-cancel", call_id, recursive)`` (read by the pipe's reader thread, ahead of queued
calls) stops a call that has not started; a running one goes on (``is_canceled()`` is then
true in it), or, on an asyncio loop, has its task cancelled; either way it answers
``"cancelled"``.

Each answer is ``("actor-result", call_id, status, payload)``; API calls the methods make go to
the worker over the same pipe (``raylike._process.child.Channel``).
"""
from __future__ import annotations

import asyncio
import contextlib
import copy
import dataclasses
import functools
import inspect
import os
import sys
import threading
from collections.abc import Iterator
from typing import Any

from raylike._api import context as _context
from raylike._api import logs as _logs
from raylike._api import memory as _memory
from raylike._api.actor_spec import SYSTEM_CONCURRENCY_GROUPS
from raylike._api.objects import ObjectRef, _Borrowed
from raylike._api.options import DYNAMIC, STREAMING
from raylike._api.ref_counts import child_refs
from raylike._api.serialization import dumps_frames, import_failure, loads
from raylike._process import env_setup as _env_setup
from raylike._process import proctitle as _proctitle
from raylike._process.actor_gate import Gate
from raylike._process.call_pool import CallPool
from raylike._process.child import (
    Channel,
    _check_returns,
    _one_return,
    _retryable,
    error_payload,
    exit_process,
)
from raylike.exceptions import AsyncioActorExit, TaskCancelledError

ASYNC_DEFAULT_CONCURRENCY = 1000


class ActorExit(SystemExit):
    """Raised by ``ray.actor.exit_actor()``: the actor ends after the current call."""


@dataclasses.dataclass(eq=False)
class _Call:
    """A call this process holds, from its arrival to its answer."""

    info: _context.TaskInfo  # as the call sees it (``is_canceled()``, the calls it made)
    cancelled: bool = False  # ``ray.cancel`` reached it: it answers "cancelled"
    task: asyncio.Task[Any] | None = None  # its asyncio task, once started on a loop
    started: bool = False  # its coroutine began (a cancel then fails it as a task error)
    dep_keys: list[str] = dataclasses.field(default_factory=list)  # its top-level refs' objects
    # a streaming generator method's ``retry_exceptions`` while it has retries left: an error
    # they name is the call's (its host runs it again), not the stream's last item
    retry: Any = None


class _Actor:
    """The instance and the way its calls run."""

    def __init__(self, channel: Channel, instance: Any, info: _context.TaskInfo,
                 class_name: str, concurrency: int, loop: asyncio.AbstractEventLoop | None,
                 groups: dict[str, int] | None = None) -> None:
        self.channel = channel
        self.instance = instance
        self.info = info
        self.class_name = class_name
        self.loop = loop
        self.gate = Gate(loop, concurrency) if loop is not None else None
        self.pool = (CallPool(concurrency, "raylike-actor")
                     if loop is None and (concurrency > 1 or groups) else None)
        # the concurrency groups: a loop and its gate each (async), or a pool each
        self.group_gates: dict[str, Gate] = {}
        self.group_pools: dict[str, CallPool] = {}
        for name, limit in (groups or {}).items():
            if loop is not None:
                self.group_gates[name] = Gate(_start_loop(name), limit)
            else:
                self.group_pools[name] = CallPool(limit, f"raylike-actor-{name}")
        self.exiting = False
        self.exit_code = 0  # the process's, once the calls it drains have ended
        self.active = 0
        self.lock = threading.Lock()
        self.calls: dict[int, _Call] = {}  # held: queued in their group, or running
        self.last_id = -1  # the latest call id that arrived (ids grow)
        self.cancelled: set[int] = set()  # answered "cancelled" before they arrived

    # -- dispatch -----------------------------------------------------------------------------
    def submit(self, call: tuple[Any, ...]) -> None:
        """Start one call (``call_id, key, method, args, deps, num_returns, backpressure,
        group, name, dep_keys, retry``)."""
        call_id, group = call[0], (call[7] if len(call) > 7 else "")
        with self.lock:
            if call_id in self.cancelled:  # answered when the cancel came: it never runs
                self.cancelled.discard(call_id)
                return
            if self.exiting:
                self.channel.send(("actor-result", call_id, "dead", None))
                return
            self.active += 1
            self.last_id = max(self.last_id, call_id)
            name = call[8] if len(call) > 8 else ""
            self.calls[call_id] = _Call(self._call_info(call[1], call[2], name),
                                        dep_keys=list(call[9]) if len(call) > 9 else [],
                                        retry=loads(call[10]) if len(call) > 10 and call[10]
                                        else None)
            call = call[:9]
            if group in SYSTEM_CONCURRENCY_GROUPS:
                self._system_group(group)
        if self.gate is not None:
            gate = self.group_gates.get(group, self.gate)
            gate.submit(call_id, functools.partial(self._run_async, *call))
        elif group in self.group_pools:
            self.group_pools[group].submit(self._run, *call)
        elif self.pool is not None:
            self.pool.submit(self._run, *call)
        else:
            self._run(*call)

    def _system_group(self, group: str) -> None:
        """Start Ray's system group ``group`` on its first call (every actor has it, few use
        it: its thread, or loop, is not started before)."""
        if group in self.group_gates or group in self.group_pools:
            return
        limit = SYSTEM_CONCURRENCY_GROUPS[group]
        if self.loop is not None:
            self.group_gates[group] = Gate(_start_loop(group), limit)
        else:
            self.group_pools[group] = CallPool(limit, f"raylike-actor-{group}")

    def cancel(self, call_id: int, recursive: bool) -> None:
        """``ray.cancel`` of call ``call_id`` (from the pipe's reader thread). Recursive: the
        worker waits for ``actor-cancelled``, sent once what the call submitted is cancelled
        (off this thread: those cancels are requests, whose answers this thread reads)."""
        children = self._cancel(call_id, recursive)
        if recursive:
            threading.Thread(target=_cancel_children, args=(self.channel, call_id, children),
                             daemon=True, name="raylike-actor-cancel").start()

    def _cancel(self, call_id: int, recursive: bool) -> list[str]:
        """Cancel the call; the keys of what it submitted, for a recursive cancel."""
        with self.lock:
            state = self.calls.get(call_id)
            if state is None:
                if call_id > self.last_id:  # queued behind others here: it ends now
                    self.cancelled.add(call_id)
                    self.channel.send(("actor-result", call_id, "cancelled", None), plain=True)
                return []  # else it has ended: nothing to cancel
            state.cancelled = state.info.canceled = True
            task = state.task
            children = list(state.info.children or ()) if recursive else []
        if task is not None:  # Ray cancels a running async call's asyncio task
            task.get_loop().call_soon_threadsafe(task.cancel)
        elif self.gate is not None:  # waiting for a slot: it answers now
            for gate in (self.gate, *self.group_gates.values()):
                gate.expedite(call_id)
        return children

    def _run(self, call_id: int, key: str, method: str, args: bytes, deps: bytes | None,
             num_returns: int, backpressure: int = -1, group: str = "", name: str = "") -> None:
        state = self.calls[call_id]
        if state.cancelled:  # cancelled while it waited for a thread
            self._answer(call_id, ("cancelled", None))
            return
        token = _context.enter(state.info)
        _proctitle.set_title(f"ray::{state.info.name}")
        try:  # in a frame of its own: its locals (the arguments' refs) are gone by the answer
            result = self._execute_using(state, key, method, args, deps, num_returns,
                                         backpressure)
        finally:
            _context.leave(token)
        _proctitle.set_title(f"ray::{self.class_name}")
        self._answer(call_id, result)

    @contextlib.contextmanager
    def _args_in_use(self, state: _Call, deps: bytes | None) -> Iterator[Any]:
        """The call's argument values (``deps`` unpickled), in use while it runs
        (``raylike._api.memory``); ``deps`` itself if they do not unpickle (the call then
        fails with that error as it prepares)."""
        try:
            values = loads(deps) if deps else []
        except Exception:  # noqa: BLE001 - raised again by ``_prepare``
            yield deps
            return
        label = f"(deserialize actor task arg) {state.info.function_name}"
        with _memory.args_in_use(state.dep_keys, values, label):
            yield values

    def _execute_using(self, state: _Call, key: str, method: str, args: bytes,
                       deps: bytes | None, num_returns: int, backpressure: int
                       ) -> tuple[str, Any]:
        with self._args_in_use(state, deps) as values:
            return self._execute(key, method, args, values, num_returns, backpressure,
                                 state.retry)

    def _execute(self, key: str, method: str, args: bytes, deps: Any,
                 num_returns: int, backpressure: int, retry: Any = None) -> tuple[str, Any]:
        try:
            fn, a, kw = self._prepare(method, args, deps)
            value = fn(*a, **kw)
            if num_returns < 0:  # a generator method (``raylike._process.generators``)
                value = _generator_result(key, value, num_returns, backpressure, method, self,
                                          retry)
            return self._pack(value, num_returns, method)
        except BaseException as exc:  # noqa: B036 - every error goes back to the caller
            return self._failure(exc, method)

    async def _run_async(self, call_id: int, key: str, method: str, args: bytes,
                         deps: bytes | None, num_returns: int, backpressure: int = -1,
                         group: str = "", name: str = "") -> None:
        state = self.calls[call_id]
        with self.lock:
            state.task = asyncio.current_task()
            cancelled = state.cancelled
        result: tuple[str, Any] = ("cancelled", None)
        try:
            if not cancelled:  # its gate gave it a slot (``raylike._process.actor_gate``)
                result = await self._call_async(state, method, args, deps, num_returns,
                                                backpressure)
        except asyncio.CancelledError:  # cancelled before its coroutine began
            pass
        self._answer(call_id, result)

    async def _call_async(self, state: _Call, method: str, args: bytes, deps: bytes | None,
                          num_returns: int, backpressure: int) -> tuple[str, Any]:
        _context.enter(state.info)  # this task's context
        _proctitle.set_title(f"ray::{state.info.name}")
        state.started = True
        try:
            with self._args_in_use(state, deps) as values:
                fn, a, kw = self._prepare(method, args, values)
                value = fn(*a, **kw)
                if num_returns < 0:  # a generator method (``raylike._process.generators``)
                    value = await _generator_result_async(state.info.key, value, num_returns,
                                                          backpressure, method, self,
                                                          state.retry)
                elif inspect.isawaitable(value) and not isinstance(value, ObjectRef):
                    value = await value  # a coroutine; a ref returned by a method is its result
            return self._pack(value, num_returns, method)
        except BaseException as exc:  # noqa: B036 - every error goes back to the caller
            return self._failure(exc, method)

    def _call_info(self, key: str, method: str, name: str = "") -> _context.TaskInfo:
        """The actor's info as one call of ``method`` (named ``name``, if given) sees it."""
        class_path = self.info.function_name.rsplit(".", 1)[0]
        info = copy.copy(self.info)  # ``dataclasses.replace`` rebuilt all 21 fields per call
        info.key = key
        info.name = name or f"{self.class_name}.{method}"
        info.function_name = f"{class_path}.{method}"
        info.canceled = False
        info.children = []
        return info

    # -- one call -----------------------------------------------------------------------------
    def _prepare(self, method: str, args: bytes, deps: Any
                 ) -> tuple[Any, list[Any], dict[str, Any]]:
        from raylike._api.tasks import unpack_arguments

        if method == "__ray_terminate__":
            return exit_actor, [], {}
        if method == "__ray_ready__":
            return (lambda: True), [], {}
        values = deps if isinstance(deps, list) else loads(deps) if deps else []
        info = _context.current()
        label = f"(deserialize actor task arg) {info.function_name if info else method}"
        with _memory.annotate(label, frames=False):
            a, kw = unpack_arguments(args, values)
        if method == "__ray_call__":  # Ray's generic call: fn(instance, *args, **kwargs)
            if not a or not callable(a[0]):
                raise TypeError("__ray_call__ takes a callable as its first argument, called "
                                "with the actor's instance and the other arguments")
            return a[0], [self.instance, *a[1:]], kw
        return _method(self.instance, method), a, kw

    def _pack(self, value: Any, num_returns: int, method: str) -> tuple[str, Any]:
        if _exit_requested():  # exit_actor() ran in this call and its SystemExit was caught:
            return self._failure(ActorExit(0), method)  # the actor still ends, as in Ray
        if num_returns == STREAMING:
            value = None
        elif num_returns > 1:
            value = _check_returns(value, num_returns, f"{self.class_name}.{method}")
        elif num_returns == 1:
            value = _one_return(value, f"{self.class_name}.{method}")
        elif num_returns == 0:
            value = None
        with _Borrowed() as borrowed:
            payload = dumps_frames(value, "return value")
        if borrowed.refs:
            child_refs.returned([r._key for r in borrowed.refs])
        return "ok", payload

    def _failure(self, exc: BaseException, method: str) -> tuple[str, Any]:
        if _intended_exit(exc):  # exit_actor() or sys.exit(0) in a method
            with self.lock:
                self.exiting = True
            return "exit", None
        if isinstance(exc, SystemExit):  # sys.exit(1): the process dies (Ray: a crash)
            exit_process(exc.code)
        return "err", error_payload(exc, f"{self.class_name}.{method}", actor=self._repr())

    def _repr(self) -> str:
        return _safe_repr(self.instance, self.class_name)

    def _cancelled(self, state: _Call) -> tuple[str, Any]:
        """A cancelled call's answer: Ray's ``TaskCancelledError``, or, for an async call whose
        coroutine had begun (its asyncio task was cancelled), ``RayTaskError(TaskCancelledError)``
        (an instance of both), whether or not the coroutine let ``CancelledError`` through."""
        if not state.started:
            return "cancelled", None
        try:
            raise TaskCancelledError(_context.task_id_hex(state.info))
        except TaskCancelledError as exc:
            return "err", error_payload(exc, state.info.name, actor=self._repr())

    def _answer(self, call_id: int, result: tuple[str, Any]) -> None:
        with self.lock:
            state = self.calls.pop(call_id, None)
        if state is not None and state.cancelled and result[0] != "exit":
            result = self._cancelled(state)  # Ray: a cancelled call's ref raises, whatever it did
        try:
            _logs.end_of_call()
            self.channel.send(("actor-result", call_id, result[0], result[1]), plain=True)
            del result
            # the objects the call alone referred to (its arguments, handles in them) are
            # released now, not with the process's next request: an idle actor would keep
            # them, and the actors their handles name, for ever
            self.channel.release_dropped()
        finally:
            with self.lock:
                self.active -= 1
                leave = self.exiting and self.active == 0
            if leave:
                _leave(self.exit_code)

    def runs(self, key: str) -> bool:
        """Whether the call ``key`` is queued or running here."""
        with self.lock:
            return any(state.info.key == key for state in self.calls.values())

    def stop(self, code: int = 0) -> None:
        """Exit once the calls that are running have finished (with ``code``: 0 is an
        intended end, else a crash)."""
        with self.lock:
            self.exiting = True
            self.exit_code = code or self.exit_code
            leave = self.active == 0
        if leave:
            _leave(self.exit_code)


_actor: _Actor | None = None


def _generator_result(key: str, values: Any, num_returns: int, backpressure: int,
                      method: str, actor: _Actor, retry: Any = None) -> Any:
    """Run a generator method's generator: streamed, or (``"dynamic"``) put and returned as a
    ``DynamicObjectRefGenerator``. An error it raises while streaming is the item after its
    last one (as in Ray); the call itself succeeds, unless ``retry`` (its
    ``retry_exceptions``, retries left) names the error: then the call raises it and is run
    again from the start (the values the stream has already are not sent twice)."""
    from raylike._process import generators as _streams

    if num_returns == DYNAMIC:
        return _streams.collect(values, f"{actor.class_name}.{method}")
    try:
        _streams.stream(key, values, backpressure)
    except Exception as exc:
        if retry is not None and _retryable(exc, retry):
            raise
        _streams.end_with_error(key, error_payload(exc, f"{actor.class_name}.{method}",
                                                   actor=actor._repr()))
    return None


async def _generator_result_async(key: str, values: Any, num_returns: int, backpressure: int,
                                  method: str, actor: _Actor, retry: Any = None) -> Any:
    """:func:`_generator_result` on the actor's event loop."""
    from raylike._process import generators as _streams

    if num_returns == DYNAMIC:
        return await _streams.collect_async(values, f"{actor.class_name}.{method}")
    try:
        await _streams.stream_async(key, values, backpressure)
    except Exception as exc:
        if retry is not None and _retryable(exc, retry):
            raise
        await asyncio.to_thread(_streams.end_with_error, key, error_payload(
            exc, f"{actor.class_name}.{method}", actor=actor._repr()))
    return None


def cancel(call_id: int, recursive: bool = True) -> None:
    """``ray.cancel`` of a call sent to this process (from the pipe's reader thread)."""
    if _actor is not None:
        _actor.cancel(call_id, recursive)


def _cancel_children(channel: Channel, call_id: int, keys: list[str]) -> None:
    """A recursive cancel: cancel what the cancelled call submitted, then tell the worker."""
    for key in keys:
        try:
            channel.request("cancel", key, False, True)
        except Exception:  # noqa: S110 - already finished or gone: nothing to cancel
            pass
    try:
        channel.send(("actor-cancelled", call_id), plain=True)
    except (OSError, ValueError):  # noqa: S110 - the worker is gone
        pass


def _method(instance: Any, name: str) -> Any:
    """The bound method ``name`` of the actor, looked up on its class as Ray does: an
    instance attribute of the same name does not hide it."""
    try:
        attr = inspect.getattr_static(type(instance), name)
    except AttributeError:
        return getattr(instance, name)  # made by __getattr__
    binder = getattr(attr, "__get__", None)
    return binder(instance, type(instance)) if binder is not None else attr


def _safe_repr(instance: Any, class_name: str) -> str:
    try:
        return repr(instance)
    except Exception:
        return f"<{class_name} object>"


def _unbuilt_repr(cls: Any, class_name: str) -> str:
    """What Ray's header shows for an actor whose constructor failed: the object's default
    repr."""
    try:
        return object.__repr__(object.__new__(cls))
    except Exception:
        return f"<{class_name} object>"


def _intended_exit(exc: BaseException) -> bool:
    """``exit_actor()`` or ``sys.exit(0)``: Ray's intended exit (the actor is not restarted).
    ``sys.exit()``/``exit()`` (code None) is a crash, as in Ray (only an exit code of 0 is
    the Python convention for a normal end)."""
    return isinstance(exc, (ActorExit, AsyncioActorExit)) or \
        isinstance(exc, SystemExit) and exc.code == 0


def _leave(code: int = 0) -> None:
    """End the process of an actor that ends gracefully (its shutdown hooks run first)."""
    from raylike._process.actor_exit import run_hooks

    run_hooks(_actor.instance if _actor is not None else None,
              _actor.loop if _actor is not None else None)
    _logs.end_of_call()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass
    os._exit(code)


def handle(channel: Channel, message: tuple[Any, ...]) -> None:
    """Handle one actor message from the worker (called by ``_child.handle``)."""
    kind = message[0]
    if kind == "actor-init":
        _init(channel, *message[1:])
    elif kind == "actor-call":
        if _actor is None:
            channel.send(("actor-result", message[1], "dead", None))
        else:
            _actor.submit(message[1:])
    elif kind == "actor-calls":  # several, in order (those of one turn of the worker's loop)
        for call in message[1]:
            handle(channel, ("actor-call", *call))
    elif kind == "actor-exit":
        if _actor is None:
            _leave()
        else:
            _actor.stop()


def _init(channel: Channel, cls_bytes: bytes, args: bytes, deps: bytes,
          info: _context.TaskInfo, class_name: str, concurrency: int, is_async: bool,
          groups: dict[str, int] | None = None) -> None:
    """Build the instance; answer ``("actor-ready", ok, error payload)``."""
    global _actor
    from raylike._api.tasks import unpack_arguments

    _context.set_actor(info, solo=concurrency == 1 and not is_async and not groups)
    _logs.set_source(class_name, info.job_id)
    _proctitle.set_title(f"ray::{class_name}.__init__")
    loop = _start_loop() if is_async else None
    try:
        _env_setup.check()  # the process's runtime environment could not be entered
        for group, limit in (groups or {}).items():
            if limit < 1:
                raise ValueError(f"max_concurrency must be greater than 0, but the "
                                 f"concurrency group {group!r} has {limit}.")
        cls = _load_class(cls_bytes, class_name)
        a, kw = unpack_arguments(args, loads(deps))
        if loop is not None:  # built on its loop, so __init__ may use asyncio
            instance = asyncio.run_coroutine_threadsafe(_construct(cls, a, kw), loop).result()
        else:
            instance = cls(*a, **kw)
    except BaseException as exc:  # noqa: B036 - reported as the actor's death
        if isinstance(exc, SystemExit) and not _intended_exit(exc):
            exit_process(exc.code)  # a crash: the actor may restart
        _logs.end_of_call()
        exited = _intended_exit(exc)  # exit_actor() in __init__: dead, no error of its own
        if exited:
            _end_in_constructor(loop)
        channel.send(("actor-ready", False, None if exited else error_payload(
            exc, f"{class_name}.__init__", actor=_unbuilt_repr(locals().get("cls"), class_name))))
        return
    _logs.end_of_call()
    if _exit_requested():  # exit_actor() in __init__, its SystemExit caught: it ends anyway
        _end_in_constructor(loop)
        channel.send(("actor-ready", False, None))
        return
    _proctitle.set_title(f"ray::{class_name}")
    if type(instance).__repr__ is not object.__repr__:  # Ray's prefix is then the repr
        _logs.set_source(_safe_repr(instance, class_name), info.job_id)
    if is_async:
        concurrency = concurrency or ASYNC_DEFAULT_CONCURRENCY
    _actor = _Actor(channel, instance, info, class_name, max(1, concurrency or 1), loop,
                    groups)
    if loop is not None or _actor.pool is not None or groups:
        from raylike._process.actor_exit import drain_on_sigterm

        drain_on_sigterm(_actor.stop)
    custom = type(instance).__repr__ is not object.__repr__  # Ray's ``repr_name``: its repr
    channel.send(("actor-ready", True, None, _safe_repr(instance, class_name) if custom else ""))


def _load_class(cls_bytes: bytes, class_name: str) -> type:
    try:
        return loads(cls_bytes)
    except Exception:  # noqa: BLE001 - any failure is Ray's import failure
        raise import_failure(f"The actor with name {class_name} failed to import on the "
                             "worker. This may be because needed library dependencies are "
                             "not installed in the worker environment") from None


async def _construct(cls: type, args: list[Any], kwargs: dict[str, Any]) -> Any:
    if not inspect.iscoroutinefunction(cls.__init__):  # type: ignore[misc]
        return cls(*args, **kwargs)
    # Ray allows ``async def __init__``: build the instance, then await its constructor
    new = cls.__new__
    instance = object.__new__(cls) if new is object.__new__ else new(cls, *args, **kwargs)
    await cls.__init__(instance, *args, **kwargs)  # type: ignore[misc]
    return instance


def _start_loop(group: str = "") -> asyncio.AbstractEventLoop:
    loop = asyncio.new_event_loop()
    name = f"raylike-actor-loop-{group}" if group else "raylike-actor-loop"
    threading.Thread(target=loop.run_forever, daemon=True, name=name).start()
    return loop


_exit_keys: set[str] = set()  # the calls (or constructor) that ran exit_actor()


def _exit_requested() -> bool:
    """Whether the running call (or constructor) called ``exit_actor()``."""
    if not _exit_keys:  # every call asks: the usual answer costs no context lookup
        return False
    info = _context.current()
    return info is not None and info.key in _exit_keys


def _end_in_constructor(loop: asyncio.AbstractEventLoop | None) -> None:
    """``exit_actor()`` in the constructor: the process ends, so its ``atexit`` handlers run
    (as in Ray), before the host hears of it and ends the process."""
    from raylike._process.actor_exit import run_hooks

    run_hooks(None, loop)


def exit_actor() -> None:
    """End the current actor after the call that runs this (see ``raylike.actor``)."""
    info = _context.current()
    if info is None or info.actor_id is None:
        raise TypeError("exit_actor API is called on a non-actor worker. Call this API inside "
                        "an actor method if you'd like to exit the actor gracefully.")
    _exit_keys.add(info.key)
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        raise ActorExit(0) from None
    if _actor is not None and not _actor.runs(info.key):
        # an asyncio task the actor started itself, outliving the call (or constructor) that
        # started it: no call's end reports the exit, so the actor ends now (as Ray's flag
        # does), once its running calls have finished; off the loop, which they may need
        _actor.channel.send(("actor-exiting",), plain=True)
        threading.Thread(target=_actor.stop, daemon=True, name="raylike-actor-exit").start()
    raise AsyncioActorExit()  # as Ray: on an async actor's loop, an exception, not SystemExit
