"""A worker's part of the memory report (``memory_summary``): the reference tables of its task
and actor processes (``raylike._api.memory.table``), each asked over its pipe.

Run on each worker by the scheduler's state plugin (``raylike._dask.scheduler.memory``). A
process answers from its pipe reader thread, so one busy running user code answers too; one
that does not answer within the timeout is left out (named in ``missing``). The answers of
running processes are read by whoever reads their pipe (``TaskScope.serve``, an actor's link);
idle processes of the pool (refs a task left in a global) are taken out of the pool and read
here.
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import itertools
import os
import threading
import time
from typing import Any

_ids = itertools.count()
_pending: dict[int, concurrent.futures.Future[list[dict[str, Any]]]] = {}
_lock = threading.Lock()


def answered(query: int, rows: list[dict[str, Any]]) -> None:
    """A process's answer (its ``("refs", query, rows)`` message)."""
    with _lock:
        fut = _pending.pop(query, None)
    if fut is not None and not fut.done():
        fut.set_result(rows)


async def collect(dask_worker: Any = None, timeout: float = 5.0) -> dict[str, Any]:
    """``{"processes": [{"pid", "ip", "type", "rows"}], "missing": [pids]}`` of this worker's
    running task and actor processes."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(None, _collect, dask_worker, timeout)


def _children(node: Any) -> list[Any]:
    children = [scope.child for scope in list(node.running.values())]
    for host in list(node.actors.values()):
        link = getattr(host, "link", None)
        if link is not None and not link.closed:
            children.append(link.child)
    return list({child.pid: child for child in children}.values())


def _collect(dask_worker: Any, timeout: float) -> dict[str, Any]:
    from raylike._dask.scheduler.state_rows import host_of

    node = dask_worker.plugins.get("raylike-node") if dask_worker is not None else None
    if node is None:
        return {"processes": [], "missing": []}
    asked = []
    for child in _children(node):
        query = next(_ids)
        fut: concurrent.futures.Future[list[dict[str, Any]]] = concurrent.futures.Future()
        with _lock:
            _pending[query] = fut
        try:
            child.send(("refs?", query), plain=True)
        except (OSError, ValueError):  # it just ended
            with _lock:
                _pending.pop(query, None)
            continue
        asked.append((child, query, fut))
    ip = host_of(dask_worker.address)
    found, missing = _idle(node, ip, timeout)
    concurrent.futures.wait([fut for _, _, fut in asked], timeout=timeout)
    for child, query, fut in asked:
        with _lock:
            _pending.pop(query, None)
        if not fut.done():
            missing.append(child.pid)
            continue
        rows = fut.result()
        _direct_statuses(node, rows)
        found.append({"pid": child.pid, "ip": ip, "type": "Worker", "rows": rows})
    return {"processes": found, "missing": missing, "worker_pid": os.getpid()}


def _idle(node: Any, ip: str, timeout: float) -> tuple[list[dict[str, Any]], list[int]]:
    """The tables of the pool's idle processes (nobody reads their pipes: read here)."""
    from raylike._api import logs as _logs

    children = node.pool.take_idle()
    found, missing = [], []
    try:
        asked = []
        for child in children:
            query = next(_ids)
            try:
                child.send(("refs?", query), plain=True)
                asked.append((child, query))
            except (OSError, ValueError):
                pass  # it just ended
        deadline = time.monotonic() + timeout
        for child, query in asked:
            while True:
                try:
                    if not child.conn.poll(max(0.0, deadline - time.monotonic())):
                        missing.append(child.pid)
                        break
                    message = child.recv()
                except (EOFError, OSError):
                    break  # it died: the pool drops it
                if message[0] == "refs" and message[1] == query:
                    _direct_statuses(node, message[2])
                    found.append({"pid": child.pid, "ip": ip, "type": "Worker",
                                  "rows": message[2]})
                    break
                if message[0] == "log":  # a thread it left prints
                    _logs.publish(node.worker, message[1], message[2])
    finally:
        for child in children:
            node.pool.release(child)
    return found, missing


def _direct_statuses(node: Any, rows: list[dict[str, Any]]) -> None:
    """The status of the direct actor calls a process made (its worker made them for it:
    the scheduler never hears of them unless their answer is passed on)."""
    backend = getattr(node, "_backend", None)
    direct = getattr(backend, "direct", None)
    if direct is None:
        return
    for row in rows:
        if row.get("owned") and row.get("status") is None:
            ref = direct.find(row["key"])
            if ref is not None and ref._direct is not None:
                row["status"] = "FINISHED" if ref._direct.future.done() \
                    else "SUBMITTED_TO_WORKER"
