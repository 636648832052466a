"""``ray.util.state``: what runs on the cluster, as Ray's state API shows it.

Every query is one RPC to the scheduler's state plugin (``raylike._dask.scheduler.state``), which
builds the rows from Dask's scheduler state, raylike's actor and placement-group registries,
and what each worker recorded of its actor calls.

Differences from Ray: no dashboard is needed (nor used); rows name Dask's view where Ray has
finer detail (``worker_id`` of a task and ``pid`` of an object are not known; a task's
``parent_task_id`` is its driver's); objects are listed by the Dask keys clients hold.
Jobs, runtime environments, logs and cluster events are not listed.
"""
from __future__ import annotations

import os
import warnings
from typing import Any

from raylike.util.state.common import (
    DEFAULT_LIMIT,
    DEFAULT_RPC_TIMEOUT,
    MAX_LIMIT,
    ActorState,
    NodeState,
    ObjectState,
    PlacementGroupState,
    StateResource,
    TaskState,
    WorkerState,
    check_filters,
    dict_to_state,
)
from raylike.util.state.exception import RayStateApiException

Filters = list[tuple[str, str, Any]] | None


def _ask(address: str | None, kind: str, **kwargs: Any) -> dict[str, Any]:
    """The state plugin's answer for ``kind``: from the cluster of this process, else the
    one at ``address`` (or ``RAY_ADDRESS``)."""
    from raylike._api import runtime as _runtime
    from raylike._api import state as _state

    address = address or os.environ.get("RAY_ADDRESS")
    if address in (None, "", "auto") or _runtime.is_initialized():
        if not _runtime.is_initialized() and address in (None, "", "auto"):
            raise ConnectionError("Could not find any running Ray instance. Please specify "
                                  "the one to connect to by setting `--address` flag or "
                                  "`RAY_ADDRESS` environment variable, or call ray.init().")
        return _state.query(kind, **kwargs)
    from raylike._dask.client.connect import ask_cluster

    target = address if "://" in str(address) else f"tcp://{address}"
    return dict(ask_cluster(target, "raylike_state", kind=kind, **kwargs))


def _checked(answer: dict[str, Any], what: str, raise_on_missing_output: bool) -> None:
    if "error" in answer:
        raise RayStateApiException("API server internal error. See dashboard.log file for "
                                   f"more details. Error: {answer['error']}")
    if answer.get("partial"):
        message = (f"Failed to retrieve all {what} from the cluster because they are not "
                   f"reachable due to query failures to the data sources "
                   f"({len(answer['partial'])} node(s) did not answer). To avoid raising an "
                   "exception and allow having missing output, set "
                   "`raise_on_missing_output=False`. ")
        if raise_on_missing_output:
            raise RayStateApiException(message)
        warnings.warn(message, stacklevel=3)


def _conflicting(filters: list[tuple[str, str, Any]]) -> bool:
    """Ray's early empty answer: two ``=`` filters of one key with different values."""
    seen: dict[str, Any] = {}
    for key, predicate, value in filters:
        if predicate != "=":
            continue
        if key in seen and seen[key] != value:
            warnings.warn(f"There are multiple '=' filters with the same key '{key}' but "
                          f"different values'{seen[key]}' & '{value}'. Empty result set will "
                          "be returned", UserWarning, stacklevel=3)
            return True
        seen.setdefault(key, value)
    return False


# the states a ``state = X`` filter may name, where Ray's data source checks them (its GCS
# queries take the state as an enum): any other is the API server's error
_STATES = {
    StateResource.ACTORS: ("actor", ("DEPENDENCIES_UNREADY", "PENDING_CREATION", "ALIVE",
                                     "RESTARTING", "DEAD")),
    StateResource.NODES: ("node", ("ALIVE", "DEAD")),
}


def _check_states(kind: str, filters: list[tuple[str, str, Any]]) -> None:
    if kind not in _STATES:
        return
    what, states = _STATES[kind]
    for key, predicate, value in filters:
        if key == "state" and predicate == "=" and str(value).upper() not in states:
            raise RayStateApiException(
                "API server internal error. See dashboard.log file for more details. Error: "
                f"Invalid {what} state for filtering: {str(value).upper()}")


def _list(kind: str, address: str | None, filters: Filters, limit: int, timeout: int,
          detail: bool, raise_on_missing_output: bool,
          exclude_driver: bool = True) -> list[Any]:
    checked = check_filters(filters)
    _check_states(kind, checked)
    if _conflicting(checked):
        return []
    if int(limit) > MAX_LIMIT:
        raise RayStateApiException(
            f"API server internal error. Error: Given limit {limit} exceeds the supported "
            f"limit {MAX_LIMIT}. Use a lower limit, or set the "
            "`RAY_MAX_LIMIT_FROM_API_SERVER` environment variable to a larger value.")
    extra = {} if exclude_driver else {"exclude_driver": False}  # Ray's drivers as tasks
    answer = _ask(address, kind, filters=checked, limit=int(limit), detail=bool(detail),
                  timeout=timeout, **extra)
    _checked(answer, kind, raise_on_missing_output)
    return [dict_to_state(row, kind) for row in answer["result"]]


def _get(kind: str, column: str, id: str, address: str | None, timeout: int) -> list[Any]:
    return _list(kind, address, [(column, "=", id)], MAX_LIMIT, timeout, True, False)


# -- list ---------------------------------------------------------------------------------
def list_actors(address: str | None = None, filters: Filters = None,
                limit: int = DEFAULT_LIMIT, timeout: int = DEFAULT_RPC_TIMEOUT,
                detail: bool = False, raise_on_missing_output: bool = True,
                _explain: bool = False) -> list[ActorState]:
    """The cluster's actors (alive, pending, restarting and dead), as ``ActorState`` rows."""
    return _list(StateResource.ACTORS, address, filters, limit, timeout, detail,
                 raise_on_missing_output)


def list_tasks(address: str | None = None, filters: Filters = None,
               limit: int = DEFAULT_LIMIT, timeout: int = DEFAULT_RPC_TIMEOUT,
               detail: bool = False, raise_on_missing_output: bool = True,
               _explain: bool = False) -> list[TaskState]:
    """Tasks, actor creations and actor calls (the last 10,000), as ``TaskState`` rows."""
    return _list(StateResource.TASKS, address, filters, limit, timeout, detail,
                 raise_on_missing_output)


def list_objects(address: str | None = None, filters: Filters = None,
                 limit: int = DEFAULT_LIMIT, timeout: int = DEFAULT_RPC_TIMEOUT,
                 detail: bool = False, raise_on_missing_output: bool = True,
                 _explain: bool = False) -> list[ObjectState]:
    """Objects some process holds a ref to, as ``ObjectState`` rows."""
    return _list(StateResource.OBJECTS, address, filters, limit, timeout, detail,
                 raise_on_missing_output)


def list_nodes(address: str | None = None, filters: Filters = None,
               limit: int = DEFAULT_LIMIT, timeout: int = DEFAULT_RPC_TIMEOUT,
               detail: bool = False, raise_on_missing_output: bool = True,
               _explain: bool = False) -> list[NodeState]:
    """The nodes (Dask workers), those that left included, as ``NodeState`` rows."""
    return _list(StateResource.NODES, address, filters, limit, timeout, detail,
                 raise_on_missing_output)


def list_workers(address: str | None = None, filters: Filters = None,
                 limit: int = DEFAULT_LIMIT, timeout: int = DEFAULT_RPC_TIMEOUT,
                 detail: bool = False, raise_on_missing_output: bool = True,
                 _explain: bool = False) -> list[WorkerState]:
    """Drivers and the nodes' task and actor processes, as ``WorkerState`` rows."""
    return _list(StateResource.WORKERS, address, filters, limit, timeout, detail,
                 raise_on_missing_output)


def list_placement_groups(address: str | None = None, filters: Filters = None,
                          limit: int = DEFAULT_LIMIT, timeout: int = DEFAULT_RPC_TIMEOUT,
                          detail: bool = False, raise_on_missing_output: bool = True,
                          _explain: bool = False) -> list[PlacementGroupState]:
    """The placement groups, as ``PlacementGroupState`` rows."""
    return _list(StateResource.PLACEMENT_GROUPS, address, filters, limit, timeout, detail,
                 raise_on_missing_output)


def list_jobs(address: str | None = None, filters: Filters = None,
              limit: int = DEFAULT_LIMIT, timeout: int = DEFAULT_RPC_TIMEOUT,
              detail: bool = False, raise_on_missing_output: bool = True,
              _explain: bool = False) -> list[Any]:
    """Ray's job table (the job server's submissions and drivers): not kept by raylike."""
    raise NotImplementedError("ray.util.state.list_jobs is not available on raylike: it keeps "
                              "no job table (Ray's job server and GCS job records)")


# -- get ----------------------------------------------------------------------------------
def get_actor(id: str, address: str | None = None, timeout: int = DEFAULT_RPC_TIMEOUT,
              _explain: bool = False) -> ActorState | None:
    """The actor with id ``id`` (hex), or None."""
    found = _get(StateResource.ACTORS, "actor_id", id, address, timeout)
    return found[0] if found else None


def get_task(id: str, address: str | None = None, timeout: int = DEFAULT_RPC_TIMEOUT,
             _explain: bool = False) -> TaskState | list[TaskState] | None:
    """The task with id ``id`` (hex), or None."""
    found = _get(StateResource.TASKS, "task_id", str(id), address, timeout)
    if not found:
        return None
    return found[0] if len(found) == 1 else found


def get_node(id: str, address: str | None = None, timeout: int = DEFAULT_RPC_TIMEOUT,
             _explain: bool = False) -> NodeState | None:
    """The node with id ``id``, or None."""
    found = _get(StateResource.NODES, "node_id", id, address, timeout)
    return found[0] if found else None


def get_worker(id: str, address: str | None = None, timeout: int = DEFAULT_RPC_TIMEOUT,
               _explain: bool = False) -> WorkerState | None:
    """The worker with id ``id``, or None."""
    found = _get(StateResource.WORKERS, "worker_id", id, address, timeout)
    return found[0] if found else None


def get_placement_group(id: str, address: str | None = None,
                        timeout: int = DEFAULT_RPC_TIMEOUT,
                        _explain: bool = False) -> PlacementGroupState | None:
    """The placement group with id ``id``, or None."""
    found = _get(StateResource.PLACEMENT_GROUPS, "placement_group_id", id, address, timeout)
    return found[0] if found else None


def get_objects(id: str, address: str | None = None, timeout: int = DEFAULT_RPC_TIMEOUT,
                _explain: bool = False) -> list[ObjectState]:
    """The rows of object ``id`` (an empty list if none)."""
    return _get(StateResource.OBJECTS, "object_id", id, address, timeout)


# -- summaries ------------------------------------------------------------------------------
def _everything(kind: str, address: str | None, timeout: int,
                raise_on_missing_output: bool) -> list[Any]:
    return _list(kind, address, None, MAX_LIMIT, timeout, True, raise_on_missing_output)


def summarize_tasks(address: str | None = None, timeout: int = DEFAULT_RPC_TIMEOUT,
                    raise_on_missing_output: bool = True, _explain: bool = False
                    ) -> dict[str, Any]:
    """Tasks counted by name and state: ``{"cluster": {"summary": {...}, "total_tasks",
    "total_actor_tasks", "total_actor_scheduled", "summary_by": "func_name"}}``."""
    summary: dict[str, dict[str, Any]] = {}
    totals = {"NORMAL_TASK": 0, "ACTOR_TASK": 0, "ACTOR_CREATION_TASK": 0}
    for task in _everything(StateResource.TASKS, address, timeout, raise_on_missing_output):
        key = task.name or task.func_or_class_name
        entry = summary.setdefault(key, {"func_or_class_name": key, "type": task.type,
                                         "state_counts": {}})
        entry["state_counts"][task.state] = entry["state_counts"].get(task.state, 0) + 1
        totals[task.type] = totals.get(task.type, 0) + 1
    return {"cluster": {"summary": summary, "total_tasks": totals["NORMAL_TASK"],
                        "total_actor_tasks": totals["ACTOR_TASK"],
                        "total_actor_scheduled": totals["ACTOR_CREATION_TASK"],
                        "summary_by": "func_name"}}


def summarize_actors(address: str | None = None, timeout: int = DEFAULT_RPC_TIMEOUT,
                     raise_on_missing_output: bool = True, _explain: bool = False
                     ) -> dict[str, Any]:
    """Actors counted by class and state: ``{"cluster": {"summary": {...},
    "total_actors", "summary_by": "class"}}``."""
    summary: dict[str, dict[str, Any]] = {}
    actors = _everything(StateResource.ACTORS, address, timeout, raise_on_missing_output)
    for actor in actors:
        entry = summary.setdefault(actor.class_name, {"class_name": actor.class_name,
                                                      "state_counts": {}})
        entry["state_counts"][actor.state] = entry["state_counts"].get(actor.state, 0) + 1
    return {"cluster": {"summary": summary, "total_actors": len(actors),
                        "summary_by": "class"}}


def summarize_objects(address: str | None = None, timeout: int = DEFAULT_RPC_TIMEOUT,
                      raise_on_missing_output: bool = True, _explain: bool = False
                      ) -> dict[str, Any]:
    """Objects counted by call site (``"disabled"`` unless ``RAY_record_ref_creation_sites``
    is on, as in Ray)."""
    summary: dict[str, dict[str, Any]] = {}
    total_mb = 0.0
    objects = _everything(StateResource.OBJECTS, address, timeout, raise_on_missing_output)
    ips: dict[str, set[str]] = {}
    for obj in objects:
        entry = summary.setdefault(obj.call_site, {
            "total_objects": 0, "total_size_mb": 0.0, "total_num_workers": 0,
            "total_num_nodes": 0, "task_state_counts": {}, "task_attempt_number_counts": {},
            "ref_type_counts": {}})
        entry["total_objects"] += 1
        size = obj.object_size / 1024 ** 2 if obj.object_size and obj.object_size > 0 else 0.0
        entry["total_size_mb"] += size
        total_mb += size
        for column, value in (("task_state_counts", obj.task_status),
                              ("task_attempt_number_counts", str(obj.attempt_number)),
                              ("ref_type_counts", obj.reference_type)):
            entry[column][value] = entry[column].get(value, 0) + 1
        ips.setdefault(obj.call_site, set()).add(obj.ip)
    for site, entry in summary.items():
        entry["total_num_workers"] = entry["total_num_nodes"] = len(ips.get(site, ()))
    return {"cluster": {"summary": summary, "total_objects": len(objects),
                        "total_size_mb": total_mb,
                        "callsite_enabled": any(o.call_site != "disabled" for o in objects),
                        "summary_by": "callsite"}}
