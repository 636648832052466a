"""What a worker records of its actors' method calls, for the state API and the timeline.

Actor calls mostly never become Dask tasks (``_direct``, ``_lane``), so the scheduler does not
see them: each worker's call queues (``_actor_calls.CallQueue``) note here when a call arrives,
starts and ends. The record is per worker process and bounded (the oldest calls are dropped
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
           "created": time.time(), "started": None, "ended": None, "state": "PENDING"}
    with _LOCK:
        _CALLS[call.key] = row
        _CALLS.move_to_end(call.key)
        while len(_CALLS) > KEPT:
            _CALLS.popitem(last=False)


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
    row["ended"] = time.time()
    try:
        status, payload = answer.result()
    except BaseException:  # cancelled future: the actor went away
        status, payload = "err", None
    row["state"] = "FINISHED" if status == "ok" else "FAILED"
    if status != "ok":
        row["error"] = payload if isinstance(payload, bytes) else None


def collect(dask_worker: Any = None) -> dict[str, Any]:
    """This worker's recorded calls (errors described, not pickled) and its processes: run
    on each worker by the scheduler's state plugin."""
    from raylike._api.serialization import loads

    with _LOCK:
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
    return {"calls": calls, "processes": _processes(dask_worker), "running": running}


def describe(error: BaseException) -> tuple[str, str]:
    """Ray's ``error_type`` and ``error_message`` of a task's error."""
    from raylike import exceptions as ex

    kinds = [(ex.TaskCancelledError, "TASK_CANCELLED"), (ex.ActorDiedError, "ACTOR_DIED"),
             (ex.ActorUnavailableError, "ACTOR_UNAVAILABLE"),
             (ex.WorkerCrashedError, "WORKER_DIED"), (ex.ObjectLostError, "OBJECT_LOST"),
             (ex.OutOfMemoryError, "OUT_OF_MEMORY")]
    kind = next((name for cls, name in kinds if isinstance(error, cls)),
                "TASK_EXECUTION_EXCEPTION")
    return kind, str(error)


def _processes(dask_worker: Any) -> list[dict[str, Any]]:
    """The worker's task and actor processes: ``pid`` and, for an actor's, ``actor_id``."""
    import os

    node = getattr(dask_worker, "plugins", {}).get("raylike-node") if dask_worker else None
    if node is None:
        return [{"pid": os.getpid(), "actor_id": None}]
    rows = [{"pid": pid, "actor_id": None} for pid in list(getattr(node.pool, "_all", {}))]
    for actor_id, host in list(node.actors.items()):
        child = getattr(getattr(getattr(host, "calls", None), "link", None), "child", None)
        if child is not None:
            rows.append({"pid": child.pid, "actor_id": actor_id})
    return rows
