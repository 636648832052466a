"""What describes an actor and one call to it, as both travel between processes.

Shared by the caller side (``_actors``), the worker that hosts the actor (``_actor_host``,
``_actor_calls``), the scheduler's registry (``_actor_registry``) and the actor's own process
(``_actor_proc``). Only plain data and the errors a dead actor raises live here.
"""
from __future__ import annotations

import dataclasses
import inspect
from dataclasses import dataclass, field
from typing import Any

from raylike.exceptions import ActorDiedError, ObjectLostError, RayTaskError

# Why an actor is dead: the last line of its ``ActorDiedError`` (Ray's wording).
KILLED = "The actor is dead because it was killed by `ray.kill`."
EXITED = ("The actor is dead because its worker process has died. Worker exit type: "
          "INTENDED_USER_EXIT Worker exit detail: Worker exits by an user request. "
          "exit_actor() is called.")
CRASHED = "The actor is dead because its worker process has died."
OUT_OF_SCOPE = "The actor is dead because all references to the actor were removed."
OWNER_DIED = ("The actor is dead because its owner has died: the driver that created it "
              "shut down.")
NODE_DIED = "The actor died because its node has died."
# why a node died, in Ray's words (also ``ray.nodes()``'s ``DeathReasonMessage``)
NODE_STOPPED = "received SIGTERM"  # its worker closed (SIGTERM, or retired)
NODE_LOST = "health check failed due to missing too many heartbeats"  # it vanished


def node_died(node_id: str, expected: bool) -> str:
    """Ray's reason of an actor dead with its node (``NODE_DIED``, the node and how it
    ended)."""
    how = f"expectedly: {NODE_STOPPED}" if expected else f"unexpectedly: {NODE_LOST}"
    return f"{NODE_DIED} Node Id: {node_id}\n\tthe actor's node was terminated {how}"
OWNER_ACTOR_DIED = ("The actor is dead because its owner has died: the actor that created it "
                    "died (its worker process exited or was killed).")
UNKNOWN = "The actor is unknown to this cluster (it was created by another cluster or session)."

# The concurrency groups Ray's core worker gives every actor, one thread each, for its own
# calls (collectives, compiled graphs): a call may name them without declaring them.
SYSTEM_CONCURRENCY_GROUPS = {"_ray_system": 1, "_ray_system_error": 1}


@dataclass(frozen=True)
class MethodMeta:
    """What a caller needs to know about one method: its signature and options."""

    num_returns: int = 1
    params: tuple[tuple[str, int, bool], ...] | None = None  # (name, kind, has default)
    max_task_retries: int | None = None
    retry_exceptions: Any = None  # ``@ray.method(retry_exceptions=...)``
    is_generator: bool = False  # it yields: its calls stream by default (Ray 2)
    backpressure: int = -1  # ``_generator_backpressure_num_objects`` from ``@ray.method``
    concurrency_group: str | None = None  # from ``@ray.method(concurrency_group=...)``
    decorator: Any = None  # Ray's ``__ray_invocation_decorator__``: wraps each submission
    task_events: bool | None = None  # ``@ray.method(enable_task_events=...)``

    def check(self, args: tuple[Any, ...], kwargs: dict[str, Any], what: str) -> None:
        """Raise ``TypeError`` (as calling the method would) if the arguments don't fit."""
        if self.params is None:
            return
        sig = inspect.Signature([
            inspect.Parameter(name, inspect._ParameterKind(kind),
                              default=None if has_default else inspect.Parameter.empty)
            for name, kind, has_default in self.params])
        try:
            sig.bind(*args, **kwargs)
        except TypeError as exc:
            raise TypeError(f"{what}: {exc}") from None


def method_meta(cls: type, name: str, fn: Any) -> MethodMeta:
    """The ``MethodMeta`` of ``cls.name`` (``@ray.method`` options included)."""
    from raylike._api.options import num_returns_code
    from raylike._api.tasks import is_generator_function

    generator = is_generator_function(fn)
    num_returns = num_returns_code(getattr(fn, "__ray_num_returns__", None), generator)
    backpressure = getattr(fn, "__ray_generator_backpressure__", -1)
    group = getattr(fn, "__ray_concurrency_group__", None)
    decorator = getattr(fn, "__ray_invocation_decorator__", None)
    events = getattr(fn, "__ray_enable_task_events__", None)
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        return MethodMeta(num_returns=num_returns, is_generator=generator,
                          backpressure=backpressure, concurrency_group=group,
                          decorator=decorator, task_events=events)
    static = isinstance(inspect.getattr_static(cls, name, None), (staticmethod, classmethod))
    if not static and params and not inspect.ismethod(fn):
        params = params[1:]  # self
    return MethodMeta(
        num_returns=num_returns,
        params=tuple((p.name, int(p.kind), p.default is not p.empty) for p in params),
        max_task_retries=getattr(fn, "__ray_max_task_retries__", None),
        retry_exceptions=getattr(fn, "__ray_retry_exceptions__", None),
        is_generator=generator,
        backpressure=backpressure,
        concurrency_group=group,
        decorator=decorator,
        task_events=events,
    )


@dataclass(frozen=True)
class ActorMeta:
    """What every handle of one actor carries."""

    actor_id: str
    class_name: str
    methods: dict[str, MethodMeta]
    is_async: bool = False
    max_task_retries: int = 0
    name: str | None = None
    namespace: str | None = None
    detached: bool = False
    concurrency_groups: dict[str, int] = field(default_factory=dict)  # name -> its limit
    qualname: str = ""  # the class's ``__qualname__``: Ray names the actor by it
    max_pending_calls: int = -1  # calls in flight from one process (``_api.pending_calls``)
    task_events: bool = True  # ``enable_task_events``: its methods' default too

    @property
    def full_name(self) -> str:
        """The class's name as Ray's GCS, state API, handle repr and errors give it."""
        return self.qualname or self.class_name


@dataclass
class ActorSpec:
    """How to build (and rebuild, on restart) one actor: sent to its reservation task."""

    meta: ActorMeta
    cls: bytes  # the pickled class
    args: bytes  # constructor arguments, packed by ``_tasks.pack_arguments``
    deps: list[Any]  # the top-level ObjectRefs among them
    resources: dict[str, float]  # held by the reservation task for the actor's life
    max_restarts: int = 0
    max_concurrency: int = 1
    job_id: str = ""
    creator_namespace: str | None = None  # the namespace code inside the actor sees
    reservation: str = ""  # the Dask key of the reservation task
    strategy: Any = None  # the scheduling strategy
    label_selector: dict[str, str] | None = None  # Ray's ``label_selector`` (``_labels``)
    fallback_strategy: list[dict[str, Any]] | None = None
    class_path: str = ""  # "module.Class", as Ray names the actor's methods
    runtime_env: dict[str, Any] | None = None  # the effective one (``_runtime_env``)
    out_of_order: bool = False  # ``allow_out_of_order_execution`` (as Ray resolves it)
    placement: Any = None  # a bundle of a placement group (``_pg_options.Placement``)
    owner: str | None = None  # the actor that created it (it dies with it, unless detached)
    detached_default: bool = False  # its job's actors are detached unless told otherwise
    depth: int = 1  # Ray's task depth of its creation task (and of its calls)


@dataclass
class ActorCall:
    """One method call as it travels to the actor (inside a Dask task, or over RPC)."""

    key: str  # the Dask key of the call's task (its result is the call's return value)
    name: str  # "Class.method"
    actor_id: str
    method: str
    caller: str  # the calling process
    seq: int  # the call's position among this caller's calls to this actor
    args: bytes  # packed by ``_tasks.pack_arguments``
    dep_keys: list[str] = field(default_factory=list)  # top-level refs, resolved by the host
    nested_keys: list[str] = field(default_factory=list)  # refs nested deeper in the arguments
    num_returns: int = 1
    return_keys: list[str] = field(default_factory=list)
    max_task_retries: int = 0
    # errors the method raises that are retried (within ``max_task_retries``): all (True), none
    # (False) or these types
    retry_exceptions: bool | tuple[type, ...] = False
    backpressure: int = -1  # a streaming generator pauses with this many items not taken
    strategy: Any = None  # unused: calls go where the actor is
    concurrency_group: str = ""  # "" is the default group
    cancelled: bool = False  # cancelled by its caller before it was sent: it keeps its turn
    task_events: bool = True  # ``enable_task_events``: False keeps it out of the state API
    parent_task_id: str | None = None  # Ray's task id of its caller (None: the driver)


def died(reason: str, *, class_name: str = "", actor_id: str = "", name: str | None = None,
         namespace: str | None = None, cause: BaseException | None = None) -> ActorDiedError:
    """The error of a call to a dead actor, worded as Ray words it."""
    if isinstance(cause, ObjectLostError) and not isinstance(cause, RayTaskError):
        # a constructor argument that could not be made (lost, not rebuilt): Ray's wording
        message = ("The actor died because of an error raised in its creation task, "
                   f"{class_name or 'the actor'}.__init__(): At least one of the input "
                   "arguments for this task could not be computed:\n"
                   f"ray.exceptions.{type(cause).__name__}: {cause}")
    elif cause is not None:
        message = f"The actor died because of an error raised in its creation task, {cause}"
    else:
        lines = [ActorDiedError.BASE_ERROR_MSG, f"\tclass_name: {class_name}",
                 f"\tactor_id: {actor_id}"]
        if name:
            lines.append(f"\tname: {name}")
        if namespace:
            lines.append(f"\tnamespace: {namespace}")
        lines.append(reason)
        message = "\n".join(lines)
    return ActorDiedError(error_msg=message, actor_id=actor_id or None, cause=cause)


def died_of(meta: ActorMeta, reason: str, cause: BaseException | None = None) -> ActorDiedError:
    """``died`` for the actor described by ``meta``."""
    return died(reason, class_name=meta.full_name, actor_id=meta.actor_id, name=meta.name,
                namespace=meta.namespace, cause=cause)


@dataclass(frozen=True)
class ActorClassMetadata:
    """An actor class's ``__ray_metadata__`` (read-only): the class, named by its qualified
    name as Ray does, and the options it was declared with that Ray's metadata names."""

    modified_class: type
    class_name: str
    max_restarts: int
    max_task_retries: int
    num_cpus: float | None
    num_gpus: float | None
    memory: float | None
    object_store_memory: int | None
    resources: dict[str, float] | None
    label_selector: dict[str, str] | None
    fallback_strategy: list[dict[str, Any]] | None
    accelerator_type: str | None
    runtime_env: dict[str, Any] | None
    concurrency_groups: Any
    scheduling_strategy: Any
    enable_tensor_transport: bool | None


def retry_after_worker_death(call: ActorCall) -> ActorCall | None:
    """The call to send again after its actor's worker died with it in flight, or ``None``:
    as in Ray, such a call runs again (once the actor restarted) within its
    ``max_task_retries``; without retries it fails with ``RayActorError``."""
    if call.max_task_retries == 0:
        return None
    if call.max_task_retries < 0:
        return call
    return dataclasses.replace(call, max_task_retries=call.max_task_retries - 1)
