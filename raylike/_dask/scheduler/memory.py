"""The memory report (``memory_summary``) gathered on the scheduler, for the state plugin.

Every process answers for its own references (``raylike._api.memory.table``): the workers
ask their task and actor processes (``raylike._dask.worker.memory.collect``, through Dask's
``run``) and each driver is asked through Dask's event system (it subscribed to
:data:`TOPIC` at ``init`` and replies with ``raylike_memory_reply``). The scheduler then adds
what it knows of each object: its size and the status of the task making it.
"""
from __future__ import annotations

import asyncio
import itertools
import pickle
import time
from typing import Any

from raylike._api.memory import TOPIC
from raylike._dask import internals

_queries = itertools.count()


class MemoryQueries:
    """The drivers' answers to the queries in flight."""

    def __init__(self, scheduler: Any) -> None:
        self.scheduler = scheduler
        self.waiting: dict[str, tuple[set[str], list[dict[str, Any]], asyncio.Event]] = {}

    def reply(self, query: str = "", process: dict[str, Any] | None = None,
              client: str = "", **_: Any) -> None:
        """A driver's answer (RPC ``raylike_memory_reply``)."""
        waiting = self.waiting.get(query)
        if waiting is None or process is None:
            return
        expected, found, done = waiting
        found.append(process)
        expected.discard(client)
        if not expected:
            done.set()

    async def gather(self, timeout: float) -> dict[str, Any]:
        """``{"processes": [...], "store": {...}, "missing": [...]}``."""
        query = f"{time.time()}-{next(_queries)}"
        # Dask keeps a client's subscription after it left: only connected ones can answer
        drivers = internals.topic_subscribers(self.scheduler, TOPIC) & set(self.scheduler.clients)
        found: list[dict[str, Any]] = []
        done = asyncio.Event()
        self.waiting[query] = (set(drivers), found, done)
        if not drivers:
            done.set()
        try:
            self.scheduler.log_event(TOPIC, {"query": query})
            internals.forget_topic_events(self.scheduler, TOPIC)
            workers, missing = await self._workers(timeout)
            try:
                await asyncio.wait_for(done.wait(), timeout)
            except asyncio.TimeoutError:
                missing += [f"driver {c}" for c in self.waiting[query][0]]
        finally:
            self.waiting.pop(query, None)
        processes = found + workers
        self._fill(processes)
        return {"processes": processes, "store": self._store(), "missing": missing}

    async def _workers(self, timeout: float) -> tuple[list[dict[str, Any]], list[str]]:
        from raylike._dask.worker import memory as _worker_memory

        workers = list(self.scheduler.workers)
        if not workers:
            return [], []
        msg = {"op": "run", "function": pickle.dumps(_worker_memory.collect),
               "kwargs": pickle.dumps({"timeout": max(0.5, timeout - 1.0)}), "wait": True}
        try:
            answers = await asyncio.wait_for(self.scheduler.broadcast(
                msg=msg, workers=workers, on_error="return"), timeout)
        except (asyncio.TimeoutError, OSError):
            return [], workers
        from raylike._dask.scheduler.state import _value

        processes, missing = [], []
        for worker in workers:
            answer = answers.get(worker)
            if not isinstance(answer, dict) or answer.get("status") != "OK":
                missing.append(worker)
                continue
            report = _value(answer["result"])
            processes += report["processes"]
            missing += [f"{worker} process {pid}" for pid in report["missing"]]
        return processes, missing

    def _fill(self, processes: list[dict[str, Any]]) -> None:
        """Each row's ``size`` (-1: unknown) and the ``status`` of the task making its object,
        for the objects its process owns (others show Ray's ``-``)."""
        tasks = self.scheduler.tasks
        for process in processes:
            for row in process["rows"]:
                ts = tasks.get(row["key"])
                nbytes = getattr(ts, "nbytes", -1) if ts is not None and ts.state == "memory" \
                    else -1
                # unknown to Dask: the size its process knows (a direct answer held there)
                row["size"] = int(nbytes) if nbytes is not None and nbytes >= 0 \
                    else int(row.get("size", -1))
                if row.get("status") is None:
                    row["status"] = _status(ts) if row.get("owned") else "NIL"

    def _store(self) -> dict[str, Any]:
        """What the workers hold: bytes and objects, and their memory limits summed."""
        used = count = 0
        for ts in self.scheduler.tasks.values():
            if ts.state == "memory" and ts.who_has:
                used += max(0, int(ts.nbytes or 0))
                count += 1
        limit = sum(int(getattr(ws, "memory_limit", 0) or 0)
                    for ws in self.scheduler.workers.values())
        return {"used": used, "objects": count, "available": limit}


def _status(ts: Any) -> str:
    """Ray's status of a task its owner submitted, from the Dask task making the object; an
    object made by ``put`` (no task) is ``FINISHED``."""
    if ts is None:  # not sent yet (a burst's graph), or forgotten
        return "PENDING_ARGS_AVAIL"
    if ts.state == "memory" or ts.run_spec is None:
        return "FINISHED"
    if ts.state == "erred":
        return "FAILED"
    if ts.state == "processing":
        return "SUBMITTED_TO_WORKER"
    if ts.state == "waiting" and ts.waiting_on:
        return "PENDING_ARGS_AVAIL"
    return "PENDING_NODE_ASSIGNMENT"
