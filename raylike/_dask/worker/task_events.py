"""What a worker records of its actors' method calls and of the tasks its leases ran, for the
state API and the timeline.

Actor calls mostly never become Dask tasks (``_direct``, ``_lane``), nor do tasks a driver
pushes to a lease (``leases``), so the scheduler does not see them: each worker's call queues
(``_actor_calls.CallQueue``) and lease queues note here when a call or task arrives, starts
and ends. The record is per worker process and bounded (the oldest calls are dropped
first); the scheduler's state plugin collects it from every worker for a query
(:func:`collect`, run through Dask's ``run``). Recording costs a dict per call.
"""
from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import Any

KEPT = 10_000  # calls remembered per worker (Ray keeps 10,000 task rows per data source)
_LOCK = threading.Lock()
_CALLS: OrderedDict[str, dict[str, Any]] = OrderedDict()


def arrived(call: Any, meta: Any) -> None:
    """Actor call ``call`` (an ``ActorCall``) of the actor ``meta`` reached its queue."""
    if not getattr(call, "task_events", True):  # ``enable_task_events=False``
        return
    row = {"key": call.key, "name": call.name, "method": call.method,
           "actor_id": call.actor_id, "class_name": getattr(meta, "class_name", ""),
           "created": time.time(), "started": None, "ended": None, "state": "PENDING",
           "parent": getattr(call, "parent_task_id", None)}
    _record(row)


def task_arrived(call: Any) -> None:
    """A driver's task (a ``TaskCall``) reached this node's lease queue
    (``raylike._dask.worker.leases``): Dask's scheduler never sees it."""
    if not getattr(call, "task_events", True):  # ``enable_task_events=False``
        return
    function = call.function_name or call.name
    row = {"key": call.key, "name": call.name, "method": function, "actor_id": None,
           "class_name": "", "created": time.time(), "started": None, "ended": None,
           "state": "PENDING", "type": "NORMAL_TASK", "job_id": call.job_id,
           "resources": dict(call.resources), "max_retries": call.max_retries,
           "parent": getattr(call, "parent_task_id", None)}
    _record(row)


_PIDS: OrderedDict[str, int] = OrderedDict()  # the process each task ran in, latest last


def ran_in(key: str, pid: int) -> None:
    """Task ``key`` runs in process ``pid`` (kept once it ended: its row names its worker)."""
    with _LOCK:
        _PIDS[key] = pid
        _PIDS.move_to_end(key)
        while len(_PIDS) > KEPT:
            _PIDS.popitem(last=False)


def task_left(key: str) -> None:
    """A task its driver took back from this node's lease queue before it started (it runs
    on another node, which records it)."""
    with _LOCK:
        _CALLS.pop(key, None)


def _record(row: dict[str, Any]) -> None:
    with _LOCK:
        _CALLS[row["key"]] = row
        _CALLS.move_to_end(row["key"])
        while len(_CALLS) > KEPT:
            _CALLS.popitem(last=False)


def ended_now(key: str, status: str, error: bytes | None = None) -> None:
    """The task or call ``key`` ended: ``status`` ``"ok"`` or ``"err"`` (``error``, pickled)."""
    row = _CALLS.get(key)
    if row is None or row.get("intended"):
        return
    row["ended"] = time.time()
    row["state"] = "FINISHED" if status == "ok" else "FAILED"
    if status != "ok":
        row["error"] = error


def ended_by_exit(key: str) -> None:
    """The call ran ``exit_actor()`` (or ``sys.exit(0)``): Ray's intended exit, so the call is
    FINISHED, whatever its caller is told (the actor is gone)."""
    ended_now(key, "ok")
    row = _CALLS.get(key)
    if row is not None:
        row["intended"] = True


def started(key: str) -> None:
    """The call was handed to the actor's process."""
    row = _CALLS.get(key)
    if row is not None and row["started"] is None:
        row["started"], row["state"] = time.time(), "RUNNING"


def ended(key: str, answer: Any) -> None:
    """The call's answer is ``answer`` (a done future of ``(status, payload)``)."""
    row = _CALLS.get(key)
    if row is None:
        return
    try:
        status, payload = answer.result()
    except BaseException:  # cancelled future: the actor went away
        status, payload = "err", None
    ended_now(key, status, payload if isinstance(payload, bytes) else None)


_EXITED: OrderedDict[int, dict[str, Any]] = OrderedDict()  # task processes that died


def exited(pid: int, code: int | None, process: Any = None) -> None:
    """Task or actor process ``pid`` died unasked (exit ``code``, negative: the signal that
    killed it; or read from ``process`` when listed, if not known yet), as the state API's
    dead workers report it."""
    with _LOCK:
        _EXITED[pid] = {"pid": pid, "at": time.time(), "code": code, "process": process}
        while len(_EXITED) > 1000:
            _EXITED.popitem(last=False)


def _exit_detail(pid: int, code: int | None) -> str:
    import signal

    if code is not None and code < 0:
        try:
            how = f"it was killed by signal {signal.Signals(-code).name}"
        except ValueError:
            how = f"it was killed by signal {-code}"
    else:
        how = f"it exited with code {code}"
    return f"The worker process {pid} died unexpectedly: {how}."


def crash_detail(pid: int, code: int | None) -> str:
    """Why a task's process died, in Ray's words (the task's ``WorkerCrashedError`` and its
    state row's ``error_message`` end with it)."""
    import signal

    if code is not None and code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = str(-code)
        return f"Worker exits unexpectedly by a signal. (pid {pid}, signal {name})"
    if code is None:
        return f"The worker process ended. (pid {pid})"
    return f"Worker exits with an exit code {code}. (pid {pid})"


def _dead() -> list[dict[str, Any]]:
    with _LOCK:
        rows = list(_EXITED.values())
    found = []
    for row in rows:
        if row["code"] is None and row["process"] is not None:
            row["code"] = row["process"].exitcode
        found.append({"pid": row["pid"], "at": row["at"],
                      "detail": _exit_detail(row["pid"], row["code"])})
    return found


def collect(dask_worker: Any = None) -> dict[str, Any]:
    """This worker's recorded calls (errors described, not pickled), its processes and the
    process running each of its tasks (``pids``): run on each worker by the scheduler's state
    plugin."""
    from raylike._api.serialization import loads

    node = getattr(dask_worker, "plugins", {}).get("raylike-node") if dask_worker else None
    pids = {key: scope.child.pid for key, scope in list(getattr(node, "running", {}).items())}
    with _LOCK:
        pids = {**_PIDS, **pids}
        for key, pid in pids.items():  # a leased task's process, kept once it ended
            row = _CALLS.get(key)
            if row is not None and row["actor_id"] is None:
                row["pid"] = pid
        calls = [dict(row) for row in _CALLS.values()]
    for row in calls:
        error = row.pop("error", None)
        if error is not None:
            try:
                row["error"] = describe(loads(error))
            except Exception:  # a user's exception that does not unpickle here
                row["error"] = ("TASK_EXECUTION_EXCEPTION", "")
    state = getattr(dask_worker, "state", None)
    running = [ts.key for group in (getattr(state, "executing", ()),
                                    getattr(state, "long_running", ())) for ts in group]
    processes = _processes(dask_worker)
    return {"calls": calls, "processes": processes, "running": running, "pids": pids,
            "exited": _dead()}


def interrupted(error: Any) -> bool:
    """Whether a task's error says it was interrupted as it ran (a cancel, its own
    ``KeyboardInterrupt``): ``RayTaskError(TaskCancelledError)``; Ray lists it FINISHED."""
    from raylike import exceptions as ex

    return isinstance(error, ex.RayTaskError) and isinstance(error, ex.TaskCancelledError)


def describe(error: BaseException) -> tuple[str, str]:
    """Ray's ``error_type`` and ``error_message`` of a task's error."""
    from raylike import exceptions as ex

    kinds = [(ex.TaskCancelledError, "TASK_CANCELLED"), (ex.ActorDiedError, "ACTOR_DIED"),
             (ex.ActorUnavailableError, "ACTOR_UNAVAILABLE"),
             (ex.WorkerCrashedError, "WORKER_DIED"), (ex.ObjectLostError, "OBJECT_LOST"),
             (ex.OutOfMemoryError, "OUT_OF_MEMORY"), (ex.NodeDiedError, "NODE_DIED"),
             (ex.TaskUnschedulableError, "TASK_UNSCHEDULABLE_ERROR"),
             (ex.ActorUnschedulableError, "ACTOR_UNSCHEDULABLE_ERROR"),
             (ex.RuntimeEnvSetupError, "RUNTIME_ENV_SETUP_FAILED"),
             (ex.TaskPlacementGroupRemoved, "TASK_PLACEMENT_GROUP_REMOVED"),
             (ex.ActorPlacementGroupRemoved, "ACTOR_PLACEMENT_GROUP_REMOVED")]
    kind = next((name for cls, name in kinds if isinstance(error, cls)),
                "TASK_EXECUTION_EXCEPTION")
    return kind, str(error)


def _processes(dask_worker: Any) -> list[dict[str, Any]]:
    """The worker's task and actor processes: ``pid`` and, for an actor's, ``actor_id``."""
    import os

    node = getattr(dask_worker, "plugins", {}).get("raylike-node") if dask_worker else None
    if node is None:
        return [{"pid": os.getpid(), "actor_id": None}]
    for child in list(getattr(node.pool, "_idle", ())):  # an idle one died: listed dead
        code = child.process.exitcode
        if code is not None:
            exited(child.pid, code)
            node.pool.discard(child)
    rows = [{"pid": pid, "actor_id": None} for pid in list(getattr(node.pool, "_all", {}))]
    for actor_id, host in list(node.actors.items()):
        child = getattr(getattr(getattr(host, "calls", None), "link", None), "child", None)
        if child is not None:
            rows.append({"pid": child.pid, "actor_id": actor_id})
    return rows
