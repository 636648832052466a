"""Actors, caller side: ``ActorClass`` (``@ray.remote`` on a class), ``ActorHandle``,
``ActorMethod``, ``get_actor`` and ``kill``.

How an actor works (see ``docs/design.md``, "Actors"): a *reservation task* (a Dask task
holding the actor's resources) starts the actor in a dedicated child process of its worker
(``_actor_host``); each method call is sent straight to the actor's worker (``_direct``; from a
task or actor, by its worker) and its ``ObjectRef`` becomes an ordinary Dask object when
another process may need it (calls with several returns take the Dask-task path,
``_actor_calls.call_actor``). A registry on the scheduler (``_actor_registry``) knows where
every actor lives, its state and its name. Calls carry a per-caller sequence number so that
the host runs them in the order they were submitted.
"""
from __future__ import annotations

import dataclasses
import functools
import inspect
import itertools
import logging
import os
import threading
import uuid
from typing import Any, Generic, TypeVar

from raylike._api import context as _context
from raylike._api import ids as _ids
from raylike._api import memory as _memory
from raylike._api import options as _options
from raylike._api import pending_calls as _pending_calls
from raylike._api import pg_options as _pg_options
from raylike._api import pinning as _pinning
from raylike._api import resources as _resources
from raylike._api import runtime as _runtime
from raylike._api import runtime_env as _runtime_env
from raylike._api.actor_spec import (
    SYSTEM_CONCURRENCY_GROUPS,
    ActorCall,
    ActorClassMetadata,
    ActorMeta,
    ActorSpec,
    MethodMeta,
    method_meta,
)
from raylike._api.objects import ObjectRef, actor_ref
from raylike._api.serialization import check_definition_size, dumps, loads
from raylike._api.tasks import new_key, pack_arguments, return_keys, returned

T = TypeVar("T")

__all__ = ["ActorClass", "ActorHandle", "ActorMethod", "get_actor", "kill",
           "list_named_actors"]

_METHOD_OPTIONS = ("num_returns", "max_task_retries", "retry_exceptions", "name",
                   "concurrency_group", "enable_task_events",
                   "_generator_backpressure_num_objects")


class ActorClassInheritanceException(TypeError):
    """A class derives from an actor class (``class B(A)`` with ``A`` decorated with
    ``@ray.remote``), which Ray does not allow (exported by ``ray.actor``, as in Ray)."""


class ActorClass(Generic[T]):
    """A class decorated with ``@ray.remote``: create actors with ``.remote()``."""

    def __init__(self, cls: type, options: dict[str, Any]) -> None:
        self._setup(cls, _options.validate(_options.ACTOR, dict(options)))
        self._methods, self._init, self._is_async  # noqa: B018 - their errors come now

    def _setup(self, cls: type, options: dict[str, Any]) -> None:
        self._cls = cls
        self._options = options
        self._pickled: bytes | None = None
        for attr in ("__name__", "__qualname__", "__module__", "__doc__"):
            try:
                setattr(self, attr, getattr(cls, attr))
            except AttributeError:
                pass

    # Read from the class when first needed, not when the actor class is unpickled: a class
    # pickled by value whose methods refer to its own actor class (``Actor.remote()`` inside
    # a method) is rebuilt while it is still an empty skeleton, methods added after.
    @functools.cached_property
    def _methods(self) -> dict[str, MethodMeta]:
        return _methods_of(self._cls)

    @functools.cached_property
    def _init(self) -> MethodMeta:
        return method_meta(self._cls, "__init__", self._cls.__init__)  # type: ignore[misc]

    @functools.cached_property
    def _is_async(self) -> bool:
        return any(inspect.iscoroutinefunction(fn) or inspect.isasyncgenfunction(fn)
                   for _, fn in inspect.getmembers(self._cls, _is_method))

    @functools.cached_property
    def _class_path(self) -> str:
        return _context.function_name(self._cls, qualified=self._is_async)

    @property
    def __ray_metadata__(self) -> ActorClassMetadata:
        """The class and its declared options (Ray's ``ActorClass.__ray_metadata__``)."""
        fields = [f.name for f in dataclasses.fields(ActorClassMetadata)][2:]
        return ActorClassMetadata(self._cls, self._cls.__qualname__, **{
            name: self._options.get(name, _options.OPTIONS[name].default) for name in fields})

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        name = self._cls.__name__
        raise TypeError(f"Actors cannot be instantiated directly. Instead of '{name}()', "
                        f"use '{name}.remote()'.")

    def __getattr__(self, name: str) -> Any:
        # as Ray's actor class (a subclass of the user's): its class attributes, static and
        # class methods are reachable, e.g. ``Counter.LIMIT`` or ``Counter.helper(2)``
        cls = self.__dict__.get("_cls")
        if cls is None or name.startswith("__"):
            raise AttributeError(name)
        try:
            return getattr(cls, name)
        except AttributeError:
            raise AttributeError(f"'ActorClass({cls.__name__})' object has no attribute "
                                 f"'{name}'") from None

    def __dir__(self) -> list[str]:
        # Ray's actor class derives from the user's: its attributes are listed with the
        # actor class's own
        return sorted({*object.__dir__(self), *dir(self.__dict__.get("_cls", object))})

    def __mro_entries__(self, bases: tuple[Any, ...]) -> tuple[type, ...]:
        raise ActorClassInheritanceException(
            f"Attempted to define subclass of actor class '{self._cls.__name__}'. Inheriting "
            "from actor classes is not currently supported. You can instead inherit from a "
            "non-actor base class and make the derived class an actor class (with "
            "@ray.remote).")

    def __getstate__(self) -> dict[str, Any]:
        return {"cls": self._cls, "options": self._options}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._setup(state["cls"], state["options"])

    def options(self, **options: Any) -> ActorClass[T]:
        """A copy of this actor class with some options changed."""
        if "concurrency_groups" in options:
            raise ValueError("Setting 'concurrency_groups' is not supported in '.options()'.")
        merged = _options.merged(_options.ACTOR, self._options, options)
        copy: ActorClass[T] = ActorClass(self._cls, merged)
        copy._pickled = self._pickled
        return copy

    def remote(self, *args: Any, **kwargs: Any) -> ActorHandle[T]:
        """Create an actor; returns its handle at once (the constructor runs in the
        background; an error in it surfaces on the first call as ``ActorDiedError``)."""
        return _create(self, args, kwargs)

    def bind(self, *args: Any, **kwargs: Any) -> Any:
        """A lazy actor (``ray.dag``): a ``ClassNode``; each ``execute()`` makes one."""
        from raylike._api.dag import ClassNode

        return ClassNode(self, args, kwargs)

    def _remote(self, args: Any = None, kwargs: Any = None, **options: Any) -> ActorHandle[T]:
        """Ray's lower-level form: ``A._remote(args=[...], kwargs={...}, **options)``."""
        actor_class = self.options(**options) if options else self
        return _create(actor_class, tuple(args or ()), dict(kwargs or {}))


# Ray's ``gcs_pb2.ActorTableData.ActorState`` values of the state API's actor states
_ACTOR_STATE_NUMBERS = {"DEPENDENCIES_UNREADY": 0, "PENDING_CREATION": 1, "ALIVE": 2,
                        "RESTARTING": 3, "DEAD": 4}


class ActorHandle(Generic[T]):
    """A reference to an actor: call its methods with ``handle.method.remote(...)``.

    A handle can be passed to tasks and other actors, and returned from them. In Ray an actor
    ends when every handle to it is gone; here a handle holds the actor's reservation task
    (see ``docs/design.md``, "Actors"), with the same effect.
    """

    def __init__(self, meta: ActorMeta, reservation: ObjectRef[Any] | None) -> None:
        self._meta = meta
        self._reservation = reservation
        if reservation is not None:
            actor_ref(reservation)

    @property
    def _actor_id(self) -> _ids.ActorID:
        """The actor's id as Ray's ``ActorID`` (``.hex()`` gives the state API's id)."""
        return _ids.ActorID.from_hex(self._meta.actor_id)

    _ray_actor_id = _actor_id  # the attribute Ray's handle keeps it in

    def _get_local_state(self) -> int | None:
        """The actor's state as Ray's ``ActorTableData.ActorState`` number (``ALIVE`` 2,
        ``DEAD`` 4, ...), or None if the cluster does not know it. Differences from Ray: read
        from the scheduler's actor records (Ray: what this process's core worker knows)."""
        from raylike._api import state as _state

        rows = _state.query("actors", filters=[("actor_id", "=", self._meta.actor_id)],
                            limit=1, detail=False, timeout=30)["result"]
        return _ACTOR_STATE_NUMBERS.get(rows[0]["state"]) if rows else None

    def __getattr__(self, name: str) -> ActorMethod:
        meta = self.__dict__.get("_meta")
        method = meta.methods.get(name) if meta is not None else None
        if method is None:
            raise AttributeError(f"'ActorHandle' object has no attribute '{name}'")
        return ActorMethod(self, name, method, {})

    def __dir__(self) -> list[str]:
        # as Ray's: the actor's methods (what autocompletion offers), ``__init__`` included
        return sorted({"__init__", *self._meta.methods})

    def __reduce__(self) -> Any:
        return (ActorHandle, (self._meta, self._reservation))

    def __repr__(self) -> str:
        return f"Actor({self._meta.full_name}, {self._meta.actor_id})"

    def __hash__(self) -> int:
        return hash(self._meta.actor_id)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ActorHandle) and other._meta.actor_id == self._meta.actor_id


class ActorMethod:
    """One method of an actor, bound to a handle: ``.remote(...)`` calls it."""

    def __init__(self, handle: ActorHandle[Any], name: str, meta: MethodMeta,
                 options: dict[str, Any]) -> None:
        self._handle = handle
        self._name = name
        self._meta = meta
        self._options = options

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError(f"Actor methods cannot be called directly. Instead of running "
                        f"'object.{self._name}()', try 'object.{self._name}.remote()'.")

    def options(self, **options: Any) -> ActorMethod:
        """A copy of this method with some call options changed (``num_returns``, ...)."""
        for key, value in options.items():
            if key not in _METHOD_OPTIONS:
                raise ValueError(f"Invalid option keyword {key} for actor methods. Valid ones "
                                 f"are {sorted(_METHOD_OPTIONS)}.")
            if key == "num_returns":
                _options.OPTIONS["num_returns"].validate(key, value)
                _options.num_returns_code(value, self._meta.is_generator)
            elif key == "_generator_backpressure_num_objects":
                _options.OPTIONS[key].validate(key, value)
        return ActorMethod(self._handle, self._name, self._meta, {**self._options, **options})

    def remote(self, *args: Any, **kwargs: Any) -> Any:
        """Submit a call; returns an ``ObjectRef`` (a list of them for ``num_returns > 1``,
        ``None`` for ``num_returns=0``)."""
        return self._invoke(args, kwargs)

    def _remote(self, args: Any = None, kwargs: Any = None, **options: Any) -> Any:
        """Ray's lower-level form of ``remote``: ``method._remote(args=[...], kwargs={...},
        **options)``, the options as ``.options()`` takes them."""
        method = self.options(**options) if options else self
        return method._invoke(tuple(args or ()), dict(kwargs or {}))

    def _invoke(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        decorator = self._meta.decorator
        if decorator is None:
            return _call(self, args, kwargs)
        # Ray's hook: it wraps the submission of every call of the method
        return decorator(lambda a, k: _call(self, tuple(a or ()), dict(k or {})))(args, kwargs)

    def bind(self, *args: Any, **kwargs: Any) -> Any:
        """A lazy call on this actor (``ray.dag``): a ``ClassMethodNode``."""
        from raylike._api.dag import ClassMethodNode

        return ClassMethodNode(self._handle, self._name, args, kwargs, self._options)

    def __repr__(self) -> str:
        return f"ActorMethod({self._handle._meta.class_name}.{self._name})"


def _is_method(member: Any) -> bool:
    return inspect.isfunction(member) or inspect.ismethod(member)


def _methods_of(cls: type) -> dict[str, MethodMeta]:
    methods = {name: method_meta(cls, name, fn)
               for name, fn in inspect.getmembers(cls, _is_method) if name != "__init__"}
    methods["__ray_terminate__"] = MethodMeta(params=())
    methods["__ray_ready__"] = MethodMeta(params=())
    methods["__ray_call__"] = MethodMeta()  # any arguments: a callable and its own
    return methods


# -- calls ------------------------------------------------------------------------------------
class _Sequencer:
    """This process's caller id and its next sequence number for each actor."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pid = -1
        self._caller = ""
        self._counters: dict[str, itertools.count[int]] = {}

    def next(self, actor_id: str) -> tuple[str, int]:
        with self._lock:
            if self._pid != os.getpid():  # a forked process is a new caller
                self._pid, self._caller, self._counters = os.getpid(), uuid.uuid4().hex, {}
            counter = self._counters.get(actor_id)
            if counter is None:
                counter = self._counters[actor_id] = itertools.count()
            return self._caller, next(counter)


_sequencer = _Sequencer()


def _call(method: ActorMethod, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    meta = method._handle._meta
    backend = _runtime.backend(auto_init=True)
    method._meta.check(args, kwargs, f"{meta.class_name}.{method._name}()")
    num_returns = method._meta.num_returns
    if method._options.get("num_returns") is not None:
        num_returns = _options.num_returns_code(method._options["num_returns"],
                                                method._meta.is_generator)
    backpressure = method._options.get("_generator_backpressure_num_objects")
    group = method._options.get("concurrency_group") or method._meta.concurrency_group or ""
    if group and group not in meta.concurrency_groups and \
            group not in SYSTEM_CONCURRENCY_GROUPS:
        raise ValueError(f"The concurrency group {group!r} of {meta.class_name}."
                         f"{method._name} is not one of the actor's concurrency_groups "
                         f"{sorted(meta.concurrency_groups)}.")
    retries = method._options.get("max_task_retries", method._meta.max_task_retries)
    retry = method._options.get("retry_exceptions", method._meta.retry_exceptions) or False
    with _memory.annotate("(actor call)"):  # Ray's call site of its refs
        return _submit_call(method, backend, args, kwargs, num_returns, backpressure, group,
                            retries, retry)


def _submit_call(method: ActorMethod, backend: Any, args: tuple[Any, ...],
                 kwargs: dict[str, Any], num_returns: int, backpressure: Any, group: str,
                 retries: Any, retry: Any) -> Any:
    handle, meta = method._handle, method._handle._meta
    data, deps, nested = pack_arguments(args, kwargs, f"{meta.class_name}.{method._name}")
    keep = list(nested)
    if handle._reservation is not None:  # pending calls keep the actor alive (as in Ray)
        keep.append(handle._reservation)
    name = method._options.get("name") or f"{meta.class_name}.{method._name}"
    _pending_calls.admit(meta.actor_id, meta.max_pending_calls, name)
    events = method._options.get("enable_task_events", method._meta.task_events)
    key = new_key(name)
    caller, seq = _sequencer.next(meta.actor_id)
    call = ActorCall(
        key=key, name=name, actor_id=meta.actor_id, method=method._name, caller=caller,
        seq=seq, args=data, dep_keys=[d._key for d in deps],
        nested_keys=[n._key for n in nested], num_returns=num_returns,
        return_keys=return_keys(key, num_returns) if num_returns else [],
        max_task_retries=meta.max_task_retries if retries is None else retries,
        retry_exceptions=tuple(retry) if isinstance(retry, (list, tuple)) else bool(retry),
        backpressure=method._meta.backpressure if backpressure is None else backpressure,
        concurrency_group=group,
        task_events=meta.task_events if events is None else bool(events),
        parent_task_id=_context.parent_task_id())
    refs = backend.submit(call, deps, keep)
    _memory.owned([r._key for r in refs])
    result = _mark_actor_call(returned(refs, num_returns), call.actor_id)
    _pending_calls.add(meta.actor_id, meta.max_pending_calls, result)
    return result


def _mark_actor_call(result: Any, actor_id: str) -> Any:
    """Tag the refs of an actor call with its actor (``ray.cancel`` refuses ``force=True`` for
    them; ``task_id()`` ends with the actor's id)."""
    for ref in result if isinstance(result, list) else [result]:
        if isinstance(ref, ObjectRef):
            ref._actor_call = actor_id
    return result


# -- creation ---------------------------------------------------------------------------------
def _create(actor_class: ActorClass[Any], args: tuple[Any, ...],
            kwargs: dict[str, Any]) -> ActorHandle[Any]:
    backend = _runtime.backend(auto_init=True)
    cls, opts = actor_class._cls, actor_class._options
    if opts.get("name") == "":
        raise ValueError("Actor name cannot be an empty string.")
    if opts.get("get_if_exists") and not opts.get("name"):
        raise ValueError("The actor name must be specified to use `get_if_exists`.")
    actor_class._init.check(args, kwargs, f"{cls.__name__}.__init__()")
    if actor_class._pickled is None:
        with _pinning.out_of_band():  # refs it captures are pinned, as in Ray
            pickled = dumps(cls, f"actor class {cls.__module__}.{cls.__qualname__}.__init__",
                            named=True)
        check_definition_size(pickled, cls.__name__, "actor")
        actor_class._pickled = pickled
    with _memory.annotate("(actor call)"):
        spec, nested = _spec(actor_class, args, kwargs)
    default = spec.resources.get("CPU", -1.0) == 0.0  # see _resources.default_actor_request
    spec.placement = _pg_options.resolve(opts, _resources.without_hidden(spec.resources),
                                         cls.__qualname__,
                                         {"CPU": 1.0} if default else None)
    get_if_exists = bool(opts.get("get_if_exists"))
    with _memory.annotate("(actor call)"):  # Ray's call site of the handle's ref
        return backend.create_actor(spec, nested, get_if_exists)  # ChildBackend: its worker


def _lifetime(opts: dict[str, Any]) -> str:
    """The actor's lifetime: its option, else its job's default (``JobConfig``)."""
    if opts.get("lifetime") is not None:
        return str(opts["lifetime"])
    return "detached" if _context.default_detached() else "non_detached"


def _spec(actor_class: ActorClass[Any], args: tuple[Any, ...], kwargs: dict[str, Any]
          ) -> tuple[ActorSpec, list[ObjectRef[Any]]]:
    cls, opts = actor_class._cls, actor_class._options
    name = opts.get("name")
    namespace = _context.current_namespace()
    concurrency = opts.get("max_concurrency") or (1000 if actor_class._is_async else 1)
    out_of_order = _out_of_order(opts, actor_class._is_async, concurrency)
    groups = _concurrency_groups(actor_class, opts.get("concurrency_groups"))
    for group, limit in groups.items():
        if limit < 1:  # Ray's core worker reports it: the actor never starts
            logging.getLogger("raylike").error(
                "The actor %s cannot start: max_concurrency must be greater than 0 (its "
                "concurrency group %r has %d).", cls.__name__, group, limit)
            break
    meta = ActorMeta(
        actor_id=_ids.new_actor_id(_context.current_job_id()), class_name=cls.__name__,
        methods=actor_class._methods, is_async=actor_class._is_async,
        max_task_retries=_options.get(opts, "max_task_retries"), name=name,
        namespace=(opts.get("namespace") or namespace) if name else None,
        detached=_lifetime(opts) == "detached", concurrency_groups=groups,
        qualname=cls.__qualname__, max_pending_calls=_options.get(opts, "max_pending_calls"),
        task_events=_options.get(opts, "enable_task_events") is not False)
    data, deps, nested = pack_arguments(args, kwargs,
                                        f"{cls.__module__}.{cls.__qualname__}.__init__")
    simple = all(opts.get(k) is None for k in ("num_cpus", "num_gpus", "resources",
                                               "accelerator_type"))
    assert actor_class._pickled is not None
    spec = ActorSpec(
        meta=meta, cls=actor_class._pickled, args=data, deps=deps,
        resources=(_resources.default_actor_request(opts) if simple
                   else _resources.request(opts, default_cpus=1.0)),
        max_restarts=_options.get(opts, "max_restarts"), max_concurrency=concurrency,
        job_id=_context.current_job_id(), creator_namespace=namespace,
        reservation=new_key(f"actor.{cls.__name__}"), strategy=opts.get("scheduling_strategy"),
        label_selector=opts.get("label_selector"), fallback_strategy=opts.get("fallback_strategy"),
        class_path=actor_class._class_path, out_of_order=out_of_order,
        detached_default=_context.default_detached(), depth=_context.task_depth() + 1)
    spec.runtime_env = _runtime_env.for_call(opts.get("runtime_env"))
    info = _context.current()
    spec.owner = info.actor_id if info is not None else None  # Ray: the creator owns it
    return spec, nested


def _out_of_order(opts: dict[str, Any], is_async: bool, concurrency: int) -> bool:
    """``allow_out_of_order_execution`` as Ray resolves it: by default true for async and
    threaded actors, which may not set it to false."""
    value = opts.get("allow_out_of_order_execution")
    if value is None:
        return is_async or concurrency > 1
    if is_async and not value:
        raise ValueError("If you're using async actors, Ray can't execute actor tasks in "
                         "order. Set `allow_out_of_order_execution=True` to allow "
                         "out-of-order execution.")
    if concurrency > 1 and not value:
        raise ValueError("If you're using multi-threaded actors, Ray can't execute actor "
                         "tasks in order. Set `allow_out_of_order_execution=True` to allow "
                         "out-of-order execution.")
    return bool(value)


def _concurrency_groups(actor_class: ActorClass[Any], groups: Any) -> dict[str, int]:
    """The actor's ``concurrency_groups`` (name -> limit), checked against its methods'."""
    if groups is None:
        groups = {}
    if not isinstance(groups, dict):
        raise TypeError("concurrency_groups must be a dict of group names to their maximum "
                        f"concurrency, got {type(groups).__name__}.")
    for group, limit in groups.items():
        if not isinstance(group, str) or isinstance(limit, bool) or \
                not isinstance(limit, int) or limit < 0:
            raise ValueError("concurrency_groups must map group names (str) to a maximum "
                             f"concurrency >= 1, got {group!r}: {limit!r}.")
        # 0: as in Ray, the actor is created and fails to start ("max_concurrency must be
        # greater than 0", see ``_actor_proc._init``), the driver goes on
    for method, meta in actor_class._methods.items():
        if meta.concurrency_group is not None and meta.concurrency_group not in groups:
            raise ValueError(f"The method {method} of {actor_class._cls.__name__} is in the "
                             f"concurrency group {meta.concurrency_group!r}, which is not "
                             f"one of the actor's concurrency_groups {sorted(groups)}.")
    return dict(groups)


# -- named actors, kill, shutdown ------------------------------------------------------------
def get_actor(name: str, namespace: str | None = None) -> ActorHandle[Any]:
    """The handle of the live actor called ``name`` in ``namespace`` (default: the current
    one). Raises ``ValueError`` if there is none."""
    if not name or not isinstance(name, str):
        raise ValueError("Please supply a non-empty value to get_actor")
    _options.validate_namespace(namespace)
    backend = _runtime.backend(auto_init=True)
    namespace = namespace or _context.current_namespace()
    data = backend.lookup_actor(name, namespace)
    if data is None:
        raise ValueError(f"Failed to look up actor with name '{name}'. This could because 1. "
                         "You are trying to look up a named actor you didn't create. 2. The "
                         "named actor died. 3. You did not use a namespace matching the "
                         "namespace of the actor.")
    handle: ActorHandle[Any] = loads(data)
    # as in Ray, a handle got by name is weak: it does not keep a non-detached actor alive
    # once its creator's handles are gone
    return ActorHandle(handle._meta, None)


def kill(actor: ActorHandle[Any], *, no_restart: bool = True) -> None:
    """Kill an actor at once: its process is killed, calls in flight and later calls raise
    ``ActorDiedError``. With ``no_restart=False`` it restarts if ``max_restarts`` allows."""
    backend = _runtime.backend(auto_init=True)  # as Ray, before the argument is checked
    if not isinstance(actor, ActorHandle):
        raise ValueError("ray.kill() only supported for actors. For tasks, try ray.cancel(). "
                         f"Got: {type(actor)}.")
    backend.kill_actor(actor._meta.actor_id, bool(no_restart))


def on_shutdown(runtime: Any) -> None:
    """The driver is shutting down: its actors that are not detached die with it."""
    runtime.backend.scheduler_call("raylike_actor_shutdown_job", job_id=runtime.job_id)


def list_named_actors(all_namespaces: bool = False) -> list[Any]:
    """The names of the live named actors of the current namespace, or, with
    ``all_namespaces=True``, ``{"name": ..., "namespace": ...}`` for every one (as Ray)."""
    backend = _runtime.backend(auto_init=True)
    namespace = _context.current_namespace()
    entries = backend.list_named_actors(namespace, all_namespaces)
    if all_namespaces:
        return [{"name": name, "namespace": ns} for ns, name in entries]
    return [name for _, name in entries]


