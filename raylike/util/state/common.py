"""``ray.util.state.common``: the rows the state API returns, as Ray's dataclasses.

Each row is a dataclass whose fields are Ray's columns; it also answers ``row["state"]`` and
``row.get("state")`` as Ray's do. A column is *filterable* (usable in ``filters=``) and
*detail* (filled only with ``detail=True``) as in Ray.
"""
from __future__ import annotations

import dataclasses
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from raylike.util.state.exception import RayStateApiException

__all__ = ["DEFAULT_LIMIT", "DEFAULT_RPC_TIMEOUT", "ActorState", "ListApiOptions", "NodeState",
           "ObjectState",
           "PlacementGroupState", "StateResource", "StateSchema", "SummaryResource",
           "TaskState", "WorkerState", "check_filters", "dict_to_state", "resource_to_schema"]

DEFAULT_RPC_TIMEOUT = 30
DEFAULT_LIMIT = 100
MAX_LIMIT = 10_000  # Ray's RAY_MAX_LIMIT_FROM_API_SERVER default
SupportedFilterType = str | bool | int | float
PredicateType = str  # "=" or "!="


def _col(filterable: bool, detail: bool = False) -> Any:
    return field(default=None, metadata={"filterable": filterable, "detail": detail})


class StateSchema:
    """A row of the state API: a dataclass that also reads like a dict."""

    @classmethod
    def list_columns(cls, detail: bool = True) -> list[str]:
        return [f.name for f in fields(cls)  # type: ignore[arg-type]
                if detail or not f.metadata.get("detail", False)]

    @classmethod
    def columns(cls) -> set[str]:
        return set(cls.list_columns(detail=True))

    @classmethod
    def filterable_columns(cls) -> set[str]:
        return {f.name for f in fields(cls)  # type: ignore[arg-type]
                if f.metadata.get("filterable", False)}

    @classmethod
    def base_columns(cls) -> set[str]:
        return set(cls.list_columns(detail=False))

    @classmethod
    def detail_columns(cls) -> set[str]:
        return set(cls.list_columns(detail=True))

    @classmethod
    def humanify(cls, state: dict[str, Any]) -> dict[str, Any]:
        return state

    def asdict(self) -> dict[str, Any]:
        return asdict(self)  # type: ignore[call-overload]

    def __getitem__(self, key: str) -> Any:
        return getattr(self, key)

    def __setitem__(self, key: str, value: Any) -> None:
        setattr(self, key, value)

    def get(self, key: str, default: Any = None) -> Any:
        return getattr(self, key, default)


@dataclass
class ActorState(StateSchema):
    """An actor: ``state`` is ``DEPENDENCIES_UNREADY``, ``PENDING_CREATION``, ``ALIVE``,
    ``RESTARTING`` or ``DEAD``."""

    actor_id: str = _col(True)
    class_name: str = _col(True)
    state: str = _col(True)
    job_id: str = _col(True)
    name: str | None = _col(True)
    node_id: str | None = _col(True)
    pid: int | None = _col(True)
    ray_namespace: str | None = _col(True)
    serialized_runtime_env: str | None = _col(False, True)
    required_resources: dict[str, Any] | None = _col(False, True)
    death_cause: dict[str, Any] | None = _col(False, True)
    is_detached: bool | None = _col(False, True)
    placement_group_id: str | None = _col(True, True)
    repr_name: str | None = _col(True, True)
    num_restarts: int | None = _col(False, True)
    num_restarts_due_to_lineage_reconstruction: int | None = _col(False, True)
    num_restarts_due_to_node_preemption: int | None = _col(False, True)
    call_site: str | None = _col(False, True)
    label_selector: dict[str, Any] | None = _col(False, True)
    fallback_strategy: dict[str, Any] | None = _col(False, True)


@dataclass
class PlacementGroupState(StateSchema):
    """A placement group: ``state`` is ``PENDING``, ``CREATED``, ``REMOVED`` or
    ``RESCHEDULING``."""

    placement_group_id: str = _col(True)
    name: str = _col(True)
    creator_job_id: str = _col(True)
    state: str = _col(True)
    bundles: list[dict[str, Any]] | None = _col(False, True)
    is_detached: bool | None = _col(True, True)
    stats: dict[str, Any] | None = _col(False, True)
    topology_strategy: dict[str, Any] | None = _col(False, True)
    topology_assignments: dict[str, Any] | None = _col(False, True)


@dataclass
class NodeState(StateSchema):
    """A node (a Dask worker): ``state`` is ``ALIVE`` or ``DEAD``."""

    node_id: str = _col(True)
    node_ip: str = _col(True)
    is_head_node: bool = _col(True)
    state: str = _col(True)
    state_message: str | None = _col(False)
    node_name: str = _col(True)
    resources_total: dict[str, Any] = _col(False)
    labels: dict[str, Any] = _col(False)
    start_time_ms: int | None = _col(False, True)
    end_time_ms: int | None = _col(False, True)


@dataclass
class WorkerState(StateSchema):
    """A process that runs tasks (``WORKER``) or a driver (``DRIVER``)."""

    worker_id: str = _col(True)
    is_alive: bool = _col(True)
    worker_type: str = _col(True)
    exit_type: str | None = _col(True)
    node_id: str = _col(True)
    ip: str = _col(True)
    pid: int = _col(True)
    exit_detail: str | None = _col(False, True)
    worker_launch_time_ms: int | None = _col(False, True)
    worker_launched_time_ms: int | None = _col(False, True)
    start_time_ms: int | None = _col(False, True)
    end_time_ms: int | None = _col(False, True)
    debugger_port: int | None = _col(True, True)
    num_paused_threads: int | None = _col(True, True)


@dataclass
class TaskState(StateSchema):
    """A task, actor creation or actor method call. ``state``: ``PENDING_ARGS_AVAIL``,
    ``PENDING_NODE_ASSIGNMENT``, ``RUNNING``, ``FINISHED`` or ``FAILED`` (with
    ``error_type`` and, in detail, ``error_message``)."""

    task_id: str = _col(True)
    attempt_number: int = _col(True)
    name: str = _col(True)
    state: str = _col(True)
    job_id: str = _col(True)
    actor_id: str | None = _col(True)
    type: str = _col(True)
    func_or_class_name: str = _col(True)
    parent_task_id: str = _col(True)
    node_id: str | None = _col(True)
    worker_id: str | None = _col(True)
    worker_pid: int | None = _col(True)
    error_type: str | None = _col(True)
    language: str | None = _col(True, True)
    required_resources: dict[str, Any] | None = _col(False, True)
    runtime_env_info: dict[str, Any] | None = _col(False, True)
    placement_group_id: str | None = _col(True, True)
    events: list[dict[str, Any]] | None = _col(False, True)
    profiling_data: dict[str, Any] | None = _col(False, True)
    creation_time_ms: int | None = _col(False, True)
    start_time_ms: int | None = _col(False, True)
    end_time_ms: int | None = _col(False, True)
    task_log_info: dict[str, Any] | None = _col(False, True)
    error_message: str | None = _col(False, True)
    is_debugger_paused: bool | None = _col(True, True)
    call_site: str | None = _col(False, True)
    label_selector: dict[str, Any] | None = _col(False, True)
    fallback_strategy: dict[str, Any] | None = _col(False, True)


@dataclass
class ObjectState(StateSchema):
    """An object a ref points to; ``object_size`` in bytes (-1 while unknown)."""

    object_id: str = _col(True)
    object_size: int = _col(True)
    task_status: str = _col(True)
    attempt_number: int = _col(True)
    reference_type: str = _col(True)
    call_site: str = _col(True)
    type: str = _col(True)
    pid: int = _col(True)
    ip: str = _col(True)


@dataclass
class ListApiOptions:
    """The options of one ``StateApiClient.list`` (Ray's ``ListApiOptions``);
    ``exclude_driver=False`` lists each job's driver as a ``DRIVER_TASK`` row."""

    limit: int = DEFAULT_LIMIT
    timeout: int = DEFAULT_RPC_TIMEOUT
    detail: bool = False
    filters: list[tuple[str, str, Any]] | None = field(default_factory=list)
    exclude_driver: bool = True
    server_timeout_multiplier: float = 0.8


class StateResource:
    """The kinds of rows (Ray's ``StateResource`` values)."""

    ACTORS = "actors"
    PLACEMENT_GROUPS = "placement_groups"
    NODES = "nodes"
    WORKERS = "workers"
    TASKS = "tasks"
    OBJECTS = "objects"


class SummaryResource:
    ACTORS = "actors"
    TASKS = "tasks"
    OBJECTS = "objects"


_SCHEMAS: dict[str, type[StateSchema]] = {
    StateResource.ACTORS: ActorState, StateResource.PLACEMENT_GROUPS: PlacementGroupState,
    StateResource.NODES: NodeState, StateResource.WORKERS: WorkerState,
    StateResource.TASKS: TaskState, StateResource.OBJECTS: ObjectState,
}


def resource_to_schema(resource: str) -> type[StateSchema]:
    return _SCHEMAS[resource]


def dict_to_state(d: dict[str, Any], resource: str) -> StateSchema:
    """The row of ``resource`` holding ``d``'s columns."""
    schema = resource_to_schema(resource)
    known = {f.name for f in dataclasses.fields(schema)}  # type: ignore[arg-type]
    try:
        return schema(**{k: v for k, v in d.items() if k in known})
    except TypeError as exc:
        raise RayStateApiException(f"Failed to convert {d} to StateSchema: {exc}") from exc


def check_filters(filters: list[Any] | None) -> list[tuple[str, str, Any]]:
    """``filters`` as ``(key, predicate, value)`` triples; Ray's ``ValueError`` for a bad
    one (checked before any query, as Ray's options do)."""
    checked = []
    for item in filters or []:
        if not isinstance(item, (tuple, list)) or len(item) != 3:
            raise ValueError(f"The given filter has incorrect input type, {item}. "
                             "Provide (key, predicate, value) tuples.")
        key, predicate, value = item
        if predicate not in ("=", "!="):
            raise ValueError(f"Unsupported filter predicate {predicate} is given. "
                             "Available predicates: =, !=.")
        checked.append((str(key), predicate, value))
    return checked
