"""Rows of the state API in Ray's columns, built on the scheduler from Dask's and raylike's
records (``_state_plugin``), and Ray's filtering of them."""
from __future__ import annotations

from typing import Any

from raylike._api import ids as _ids
from raylike._api import labels as _labels
from raylike._api import resources as _resources

DRIVER_TASK = "ff" * 20  # Ray's driver task id: 20 ``ff`` bytes, then the job id
TERMINAL = ("FINISHED", "FAILED")
_HOST_MODULES = ("raylike._dask.worker.node", "raylike._dask.worker.actor_host",
                 "raylike._api.scheduling")  # the last: a task or actor refused (``refuse``)
# Dask's exception names -> Ray's error_type
ERROR_TYPES = (("TaskCancelledError", "TASK_CANCELLED"), ("WorkerCrashedError", "WORKER_DIED"),
               ("ActorDiedError", "ACTOR_DIED"), ("ActorUnavailableError", "ACTOR_UNAVAILABLE"),
               ("OutOfMemoryError", "OUT_OF_MEMORY"), ("ObjectLostError", "OBJECT_LOST"),
               ("NodeDiedError", "NODE_DIED"),
               ("TaskUnschedulableError", "TASK_UNSCHEDULABLE_ERROR"),
               ("ActorUnschedulableError", "ACTOR_UNSCHEDULABLE_ERROR"),
               ("RuntimeEnvSetupError", "RUNTIME_ENV_SETUP_FAILED"),
               ("TaskPlacementGroupRemoved", "TASK_PLACEMENT_GROUP_REMOVED"),
               ("ActorPlacementGroupRemoved", "ACTOR_PLACEMENT_GROUP_REMOVED"))


def node_of(address: str | None) -> str | None:
    return _ids.node_id(address) if address else None


def host_of(address: str) -> str:
    return address.split("://", 1)[-1].rsplit(":", 1)[0].strip("[]")


def worker_id(worker: str, pid: int) -> str:
    """The state API's id of process ``pid`` of the worker at address ``worker`` (what its
    runtime context's ``get_worker_id()`` gives)."""
    return _ids.task_process_worker_id(_ids.node_id(worker), pid)


def ms(seconds: float | None) -> int | None:
    return None if seconds is None else int(seconds * 1000)


def call_of(run_spec: Any) -> Any:
    """The raylike call a Dask task's ``run_spec`` runs (its first argument), or None; a
    generator item's rebuild (``ItemRebuild``) gives its generator task's call."""
    args = getattr(run_spec, "args", ())
    spec = getattr(args[0], "value", args[0]) if args else None
    return getattr(spec, "call", spec) if type(spec).__name__ == "ItemRebuild" else spec


def task_record(key: str, run_spec: Any) -> dict[str, Any] | None:
    """What to remember of a new Dask task, if it is a raylike task or an actor's creation
    (its reservation task); None for other tasks (actor calls are recorded by the workers)."""
    func = getattr(run_spec, "func", None)
    name = getattr(func, "__name__", "")
    if getattr(func, "__module__", "") not in _HOST_MODULES or \
            name not in ("execute_task", "host_actor", "refuse"):
        return None
    spec = call_of(run_spec)
    if spec is None or not getattr(getattr(spec, "meta", spec), "task_events", True):
        return None  # ``enable_task_events=False``: not in the state API
    placement = getattr(spec, "placement", None)
    row: dict[str, Any] = {
        "key": key, "state": None, "created": None, "started": None, "ended": None,
        "worker": None, "job_id": getattr(spec, "job_id", ""),
        "resources": _resources.without_hidden(dict(getattr(spec, "resources", {}) or {})),
        "pg": getattr(placement, "pg_id", None),
        "label_selector": dict(getattr(spec, "label_selector", None) or {}),
        "fallback_strategy": getattr(spec, "fallback_strategy", None),
        "parent": getattr(spec, "parent_task_id", None)}
    if name == "execute_task" or (name == "refuse" and not hasattr(spec, "meta")):
        function = getattr(spec, "function_name", "") or spec.name
        row.update(type="NORMAL_TASK", name=spec.name, actor_id=None,
                   func=function.rsplit(".", 1)[-1], full_name=function,
                   max_retries=getattr(spec, "max_retries", 3))
    else:
        meta = spec.meta
        init = f"{meta.class_name}.__init__"
        row.update(type="ACTOR_CREATION_TASK", actor_id=meta.actor_id, func=init,
                   name=f"{meta.name}:{init}" if meta.name else init, full_name=init)
    return row


def error_of(kwargs: dict[str, Any]) -> tuple[str, str]:
    """Ray's ``error_type`` of a Dask task's failure, and a short message (the exception's
    ``repr``; :func:`error_message` gives its full text when asked)."""
    text = str(kwargs.get("exception_text") or "")
    kind = next((ray for dask, ray in ERROR_TYPES if dask in text), "TASK_EXECUTION_EXCEPTION")
    return kind, text


def error_message(rec: dict[str, Any]) -> str | None:
    """The text of a failed task's error, as Ray's ``error_message`` (its traceback): read
    from the pickled exception Dask holds, only when a row is built."""
    exc = rec.get("exception")
    if exc is not None:
        try:
            from distributed.protocol import Serialized, deserialize

            value = deserialize(exc.header, exc.frames) if isinstance(exc, Serialized) else exc
            if isinstance(value, bytes):  # raylike's one pickle of the error
                from raylike._api.serialization import loads

                value = loads(value)
            rec["error_message"], rec["exception"] = str(value), None
        except Exception:  # a class the scheduler cannot load: keep the short message
            rec["exception"] = None
    return rec.get("error_message")


def task_row(rec: dict[str, Any], live: str | None, actors: dict[str, Any]) -> dict[str, Any]:
    """A ``TaskState`` row of a recorded task; ``live``: its state from the scheduler now."""
    state = rec["state"] or live or "PENDING_NODE_ASSIGNMENT"
    actor_id = rec.get("actor_id")
    job = rec.get("job_id") or ""
    if rec["type"] == "ACTOR_CREATION_TASK":
        record = actors.get(actor_id or "")
        job = getattr(record, "job_id", job)
        if record is not None and record.constructed:
            state = "FINISHED"
        elif record is not None and record.state == "DEAD":
            state = "FAILED"  # its constructor failed, or it died before it was made
    elif actor_id and actor_id in actors:
        job = actors[actor_id].job_id
    name = rec["name"]
    repr_name = getattr(actors.get(actor_id or ""), "repr_name", "")
    if rec.get("default_name") and repr_name:  # Ray names an unnamed call by the actor's repr
        name = f"{repr_name}.{rec['func'].rsplit('.', 1)[-1]}"
    events = [{"state": s, "created_ms": ms(rec.get(t))} for s, t in (
        ("PENDING_NODE_ASSIGNMENT", "created"), ("RUNNING", "started"))
        if rec.get(t) is not None]
    if state in TERMINAL and rec.get("ended") is not None:
        events.append({"state": state, "created_ms": ms(rec["ended"])})
    task_id = (("ff" * 8 + actor_id) if rec["type"] == "ACTOR_CREATION_TASK" and actor_id
               else _ids.task_id(rec["key"], actor_id, job))
    return {
        "task_id": task_id, "attempt_number": 0, "name": name, "state": state,
        "job_id": job, "actor_id": actor_id, "type": rec["type"],
        "func_or_class_name": rec["func"],
        "parent_task_id": rec.get("parent") or DRIVER_TASK + job,
        "node_id": node_of(rec.get("worker")), "worker_id": rec.get("worker_id"),
        "worker_pid": rec.get("pid"), "error_type": rec.get("error_type"),
        "language": "PYTHON", "required_resources": rec.get("resources") or {},
        "runtime_env_info": None, "placement_group_id": rec.get("pg"), "events": events,
        "profiling_data": None, "creation_time_ms": ms(rec.get("created")),
        "start_time_ms": ms(rec.get("started")), "end_time_ms": ms(rec.get("ended")),
        "task_log_info": None, "error_message": error_message(rec),
        "is_debugger_paused": False, "call_site": None,
        "label_selector": rec.get("label_selector") or {},
        "fallback_strategy": rec.get("fallback_strategy"), "_key": rec["key"],
        "_full_name": rec.get("full_name")}


def driver_row(job: dict[str, Any]) -> dict[str, Any]:
    """A ``DRIVER_TASK`` row of a job of the job table (``jobs.JobRegistry``): RUNNING while
    its driver is connected, then FINISHED, as Ray lists its drivers."""
    job_id = job["JobID"]
    state = "FINISHED" if job["IsDead"] else "RUNNING"
    started, ended = job["StartTime"], job["EndTime"] or None
    events = [{"state": "RUNNING", "created_ms": started}]
    if ended:
        events.append({"state": "FINISHED", "created_ms": ended})
    return {
        "task_id": DRIVER_TASK + job_id, "attempt_number": 0, "name": "", "state": state,
        "job_id": job_id, "actor_id": None, "type": "DRIVER_TASK", "func_or_class_name": "",
        "parent_task_id": "ff" * 24, "node_id": None, "worker_id": None,
        "worker_pid": job["DriverPid"], "error_type": None, "language": "PYTHON",
        "required_resources": {}, "runtime_env_info": None, "placement_group_id": None,
        "events": events, "profiling_data": None, "creation_time_ms": started,
        "start_time_ms": started, "end_time_ms": ended, "task_log_info": None,
        "error_message": None, "is_debugger_paused": False, "call_site": None,
        "label_selector": {}, "fallback_strategy": None, "_key": DRIVER_TASK + job_id,
        "_full_name": ""}


def call_record(call: dict[str, Any], worker: str) -> dict[str, Any]:
    """A worker's record of an actor call or of a task a lease ran (``_task_events``) as a
    task record."""
    error = call.get("error") or (None, None)
    kind = call.get("type", "ACTOR_TASK")
    # RUNNING: handed to the process; PENDING: queued on its worker (Ray's actor-task state for
    # a call waiting for its turn or a free slot; a task waiting for its lease's slot)
    waiting = ("PENDING_NODE_ASSIGNMENT" if kind == "NORMAL_TASK"
               else "PENDING_ACTOR_TASK_ORDERING_OR_CONCURRENCY")
    state = waiting if call["state"] == "PENDING" else call["state"]
    if kind == "NORMAL_TASK":
        function = call["method"].rsplit(".", 1)[-1]
    else:  # Ray's ``ClassName.method``, whatever name the call was given
        short = (call.get("class_name") or "").rsplit(".", 1)[-1]
        function = f"{short}.{call['method']}" if short and call.get("method") else call["name"]
    return {"key": call["key"], "state": state,
            "created": call["created"], "started": call["started"], "ended": call["ended"],
            "worker": worker, "type": kind, "actor_id": call["actor_id"],
            "name": call["name"], "func": function,
            "default_name": kind != "NORMAL_TASK" and call["name"] == function,
            "full_name": call["method"],
            "error_type": error[0], "error_message": error[1],
            "resources": _resources.without_hidden(call.get("resources") or {}),
            "job_id": call.get("job_id", ""), "pg": None,
            "max_retries": call.get("max_retries", 0), "parent": call.get("parent")}


def actor_row(record: Any, pids: dict[str, int]) -> dict[str, Any]:
    """An ``ActorState`` row of an ``_actor_registry`` record."""
    state = {"PENDING": "PENDING_CREATION"}.get(record.state, record.state)
    death = None
    if record.state == "DEAD" and record.dead:
        try:
            from raylike._api.serialization import loads

            message = str(loads(record.dead))
        except Exception:  # a class the scheduler cannot load: say what we know
            message = "The actor is dead."
        death = {"actor_died_error_context": {
            "error_message": message, "actor_id": record.actor_id,
            "class_name": record.class_name, "name": record.name or "",
            "ray_namespace": record.namespace or "", "never_started": not record.started}}
    return {
        "actor_id": record.actor_id, "class_name": record.class_name, "state": state,
        "job_id": record.job_id, "name": record.name or "", "node_id": node_of(record.address),
        "pid": pids.get(record.actor_id, 0), "ray_namespace": record.namespace,
        "serialized_runtime_env": "{}", "required_resources": {}, "death_cause": death,
        "is_detached": record.detached, "placement_group_id": None,
        "repr_name": getattr(record, "repr_name", ""),
        "num_restarts": record.restarts, "num_restarts_due_to_lineage_reconstruction": 0,
        "num_restarts_due_to_node_preemption": 0, "call_site": None, "label_selector": {},
        "fallback_strategy": None}


def node_row(address: str, ws: Any, head: str | None, since: float | None,
             dead_at: float | None = None) -> dict[str, Any]:
    """A ``NodeState`` row of a Dask worker (``ws``: its scheduler-side state, or a dict of
    what was known when it left)."""
    node_id = _ids.node_id(address)
    resources = dict(getattr(ws, "resources", None) or {}) if not isinstance(ws, dict) \
        else dict(ws.get("resources", {}))
    name = ws.get("name") if isinstance(ws, dict) else getattr(ws, "name", None)
    extra = ws.get("extra") if isinstance(ws, dict) else getattr(ws, "extra", None)
    labels = _labels.node_labels(address, {**(extra or {}), "resources": resources})
    return {
        "node_id": node_id, "node_ip": host_of(address), "is_head_node": address == head,
        "state": "DEAD" if dead_at else "ALIVE",
        "state_message": "The node left the cluster." if dead_at else None,
        "node_name": str(name if name is not None else host_of(address)),
        "resources_total": {k: float(v) for k, v in
                            _resources.without_hidden(resources).items()},
        "labels": labels, "start_time_ms": ms(since),
        "end_time_ms": ms(dead_at) if dead_at else 0}


def object_rows(memory: dict[str, Any]) -> list[dict[str, Any]]:
    """``ObjectState`` rows: one per object reference a process holds, from the memory report
    (``raylike._dask.scheduler.memory``), as Ray builds them from its workers' tables."""
    from raylike._api.memory_text import reference_type

    found = []
    for process in memory["processes"]:
        for row in process["rows"]:
            kind = reference_type(row)
            if kind is None:
                continue
            found.append({"object_id": row["object_id"], "object_size": row.get("size", -1),
                          "task_status": row.get("status") or "NIL", "attempt_number": 1,
                          "reference_type": kind, "call_site": row.get("call_site") or "disabled",
                          "type": str(process["type"]).upper(), "pid": process["pid"],
                          "ip": process["ip"]})
    return found


def pg_row(group: Any) -> dict[str, Any]:
    """A ``PlacementGroupState`` row of a ``_pg_registry`` group."""
    return {"placement_group_id": group.pg_id, "name": group.name,
            "creator_job_id": group.job_id, "state": group.state,
            "bundles": [{"bundle_id": {"placement_group_id": group.pg_id, "bundle_index": i},
                         "node_id": group.nodes.get(i), "unit_resources": dict(b)}
                        for i, b in enumerate(group.bundles)],
            "is_detached": group.detached, "stats": group.row().get("stats"),
            "topology_strategy": {}, "topology_assignments": {}}


def filtered(rows: list[dict[str, Any]], filters: list[Any], schema: Any) -> list[dict[str, Any]]:
    """The rows that pass every ``(column, predicate, value)`` filter, as Ray compares: a
    column not filterable is a ``ValueError``, strings compare without case."""
    columns = schema.filterable_columns()
    checks = []
    for column, predicate, value in filters:
        column = str(column).lower()
        if column not in columns:
            raise ValueError(
                f"The given filter column {column} is not supported. Enter filters with "
                f"--filter key=value or --filter key!=value Supported filter columns: "
                f"{columns}")
        checks.append((column, predicate == "=", value))
    return [row for row in rows if all(
        column in row and _equal(row[column], value) == equal
        for column, equal, value in checks)]


def _equal(have: Any, want: Any) -> bool:
    if isinstance(have, bool) and isinstance(want, str):
        return have == (want.strip().lower() in ("true", "1"))
    if isinstance(have, str) and isinstance(want, str):
        return have.lower() == want.lower()
    if isinstance(have, (int, float)) and isinstance(want, str):
        try:
            return bool(have == type(have)(want))
        except ValueError:
            return False
    return bool(have == want)
