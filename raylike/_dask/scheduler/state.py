"""The scheduler side of the state API and the timeline (a Dask scheduler plugin, part of the
Dask boundary with ``_backend``).

It remembers raylike's tasks and actor creations as the scheduler sees them (created, started
on a worker, ended, failed and why: Dask's transitions, with the worker's own start and stop
times of each run), the last 10,000 of them, so ended tasks stay listed after Dask forgot
them, as Ray keeps them. One RPC (``raylike_state``) answers a query: the rows of one kind in
Ray's columns, filtered and limited here, built from these records, the scheduler's own
state (a task's live state, objects, nodes), raylike's registries (actors, placement groups)
and, for actor calls and processes, from what each worker recorded (``_task_events``).
"""
from __future__ import annotations

import asyncio
import logging
import pickle
import time
from collections import OrderedDict
from typing import Any

from distributed.diagnostics.plugin import SchedulerPlugin

from raylike._dask import internals
from raylike._dask.scheduler import state_rows as rows
from raylike._dask.scheduler.memory import MemoryQueries

STATE_PLUGIN = "raylike-state"
KEPT = 10_000  # task records kept (Ray's data sources give 10,000 rows at most)
logger = logging.getLogger("raylike.state")


class StatePlugin(SchedulerPlugin):
    """Records of raylike's tasks; answers the state API's queries."""

    name = STATE_PLUGIN
    idempotent = True  # a second driver must not wipe the records of a shared cluster

    async def start(self, scheduler: Any) -> None:
        self.scheduler = scheduler
        self.tasks: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self.joined: dict[str, float] = {w: time.time() for w in scheduler.workers}
        self.left: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self.known: dict[str, dict[str, Any]] = {w: {
            "resources": dict(ws.resources or {}), "name": ws.name,
            "extra": dict(ws.extra or {})} for w, ws in scheduler.workers.items()}
        self.closing: set[str] = set()  # workers that said they are closing
        self._running: set[str] | None = None  # keys running on workers, for this query
        self.hard_pins: set[str] = set()  # tasks and actors of a hard node affinity
        self.interrupted: set[str] = set()  # tasks whose error says they were interrupted
        self.memory = MemoryQueries(scheduler)
        internals.add_scheduler_handlers(scheduler, {"raylike_state": self.query,
                                                     "raylike_memory_reply": self.memory.reply},
                                         {"raylike_hard_pin": self._hard_pin,
                                          "raylike-task-interrupted": self._interrupted})

    # -- scheduler events ---------------------------------------------------------------------
    def update_graph(self, scheduler: Any, *, keys: Any = (), tasks: Any = (),
                     **_: Any) -> None:
        now = time.time()
        for key in tasks or ():
            ts = scheduler.tasks.get(key)
            if ts is None or key in self.tasks or not isinstance(key, str):
                continue
            record = rows.task_record(key, ts.run_spec)
            if record is not None:
                record["created"] = now
                self.tasks[key] = record
        while len(self.tasks) > KEPT:
            self.tasks.popitem(last=False)

    def _node_died_under(self, keys: list[str], address: str) -> None:
        """As in Ray, a task whose node died while it ran is retried only while it has
        retries left (``max_retries``, shared with rebuilding its lost result: ``lineage``;
        Dask would run it again whatever they are): then it fails with ``NodeDiedError``."""
        from raylike.exceptions import NodeDiedError

        for key in keys:
            record = self.tasks.get(key)
            if record is None or record.get("type") != "NORMAL_TASK":
                continue
            record["node_deaths"] = deaths = record.get("node_deaths", 0) + 1
            allowed = record.get("max_retries", 3)
            lineage = self.scheduler.plugins.get("raylike-lineage")  # rebuilding lost results
            used = deaths + (lineage.retries_used(key) if lineage is not None else 0)
            if allowed < 0 or used <= allowed:
                continue
            error = NodeDiedError(
                "Task failed because the node it was running on is dead or unavailable. "
                f"Node IP: {rows.host_of(address)}, node ID: {rows.node_of(address)}. The "
                f"task ({record.get('name', key)}) had no retries left (max_retries).")
            internals.fail_task(self.scheduler, key, error, f"raylike-node-died-{time.time()}")

    def _hard_pin(self, key: str, **_: Any) -> None:
        self.hard_pins.add(key)

    def _interrupted(self, key: str, **_: Any) -> None:
        if key in self.tasks:  # a Dask task (a leased one's row is its worker's)
            self.interrupted.add(key)

    def _unpin(self, key: str) -> None:
        internals.unpin_if_stranded(self.scheduler, key, f"raylike-unpin-{time.time()}")

    def transition(self, key: Any, start: str, finish: str, *args: Any, **kwargs: Any) -> None:
        if finish == "no-worker" and key not in self.hard_pins:
            # its nodes may all have left (a SPREAD choice, a soft affinity): as in Ray it
            # runs elsewhere (looked at once this transition is over)
            self.scheduler.loop.add_callback(self._unpin, key)
        elif finish == "forgotten":
            self.hard_pins.discard(key)
            self.interrupted.discard(key)
        record = self.tasks.get(key) if isinstance(key, str) else None
        if record is None:
            return
        now = time.time()
        if finish == "processing":
            ts = self.scheduler.tasks.get(key)
            record["started"], record["state"] = now, None
            if ts is not None and ts.processing_on is not None:
                record["worker"] = ts.processing_on.address
        elif finish in ("memory", "erred"):
            stops = [s for s in kwargs.get("startstops") or () if s.get("action") == "compute"]
            if stops:  # the worker's own times of the run
                record["started"], now = stops[0]["start"], stops[-1]["stop"]
            record["ended"] = now
            record["worker"] = kwargs.get("worker") or record["worker"]
            record["state"] = "FINISHED" if finish == "memory" else "FAILED"
            if finish == "erred" and key in self.interrupted:
                # interrupted as it ran: Ray lists it as FINISHED, with no error type
                self.interrupted.discard(key)
                record["state"] = "FINISHED"
            elif finish == "erred":
                record["error_type"], record["error_message"] = rows.error_of(kwargs)
                record["exception"] = kwargs.get("exception")
        elif finish == "forgotten" and record["state"] not in rows.TERMINAL:
            # every raylike task runs to its end unless cancelled (or its driver left)
            record.update(state="FAILED", ended=now, error_type="TASK_CANCELLED",
                          error_message="The task was cancelled.")
        elif finish == "released" and record["state"] in rows.TERMINAL:
            pass  # its result or error let go (no ref left): it stays FINISHED or FAILED
            # (a lost result run again goes on to "waiting" next)
        elif finish in ("waiting", "released", "queued", "no-worker"):
            record["state"] = None

    def add_worker(self, scheduler: Any, worker: str) -> None:
        self.joined[worker] = time.time()
        ws = scheduler.workers.get(worker)  # kept: Dask forgets it before ``remove_worker``
        self.known[worker] = {"resources": dict(getattr(ws, "resources", {}) or {}),
                              "name": getattr(ws, "name", None),
                              "extra": dict(getattr(ws, "extra", {}) or {})}

    def remove_worker(self, scheduler: Any, worker: str, **_: Any) -> None:
        self.left[worker] = {**self.known.pop(worker, {"resources": {}, "name": None,
                                                        "extra": {}}),
                             "since": self.joined.pop(worker, None), "at": time.time(),
                             # it said it was closing (SIGTERM, retired): Ray's expected end
                             "expected": worker in self.closing}
        self.closing.discard(worker)
        while len(self.left) > 1000:
            self.left.popitem(last=False)

    def log_event(self, topic: str, msg: Any) -> None:
        """A worker's removal: the tasks it ran use up a retry each (below). A node lost
        without notice (Dask's removal of a worker it did not expect to leave: killed,
        crashed, unreachable) is Ray's ``node_removed`` error, pushed to drivers. A worker
        that says it is closing (SIGTERM) is remembered: its end is Ray's expected one."""
        if isinstance(msg, dict) and msg.get("action") == "worker-status-change" and \
                msg.get("status") in ("closing", "closing_gracefully"):
            self.closing.add(topic)
        if topic != "all" or not isinstance(msg, dict) or msg.get("action") != "remove-worker":
            return
        running = [k for k in msg.get("processing-tasks", ()) if k in self.tasks]
        if running:  # looked at once Dask has placed them again
            self.scheduler.loop.add_callback(self._node_died_under, running,
                                             str(msg.get("worker", "")))
        gone = str(msg.get("worker", ""))
        if msg.get("expected") or gone in self.closing or self.left.get(gone, {}).get("expected"):
            return  # it closed (SIGTERM): Ray's expected termination, no warning
        from raylike._api.error_pubsub import publish
        from raylike._api.ids import node_id

        address = str(msg.get("worker", ""))
        host = address.split("://", 1)[-1].rpartition(":")[0]
        ws = self.scheduler.workers.get(address)
        name = getattr(ws, "name", None) or self.left.get(address, {}).get("name") or host
        publish(self.scheduler, "node_removed",
                f"The node with node id: {node_id(address)} and address: {host} and node "
                f"name: {name} has been marked dead because the detector has missed too many "
                "heartbeats from it. This can happen when a \t(1) raylet crashes unexpectedly "
                "(OOM, etc.) \n\t(2) raylet has lagging heartbeats due to slow network or "
                "busy workload.")

    # -- the query ----------------------------------------------------------------------------
    async def query(self, kind: str, filters: list[Any] | None = None, limit: int = 100,
                    detail: bool = False, timeout: float = 30.0,
                    exclude_driver: bool = True) -> dict[str, Any]:
        """``{"total", "result", "partial"}`` for ``kind``; ``{"error": message}`` for a bad
        filter. ``partial`` names the workers that did not answer in time."""

        if kind == "memory":  # every process's references (``memory_summary``)
            return await self.memory.gather(min(float(timeout), 30.0))
        if kind == "objects":  # the same references, as rows (Ray's come from the same data)
            memory = await self.memory.gather(min(float(timeout), 30.0))
            return self._answer(kind, rows.object_rows(memory), filters, limit, detail,
                                memory["missing"])
        if kind == "left":  # the nodes that left, for ``ray.nodes()``
            return {"result": [{"address": a, **info} for a, info in self.left.items()]}
        reports, partial = ({}, []) if kind in ("nodes", "placement_groups") \
            else await self._reports(min(float(timeout), 30.0))
        self._running = {k for r in reports.values() for k in r.get("running", ())} \
            if reports else None
        if kind == "timeline":
            return {"result": self._timeline(reports), "partial": partial}
        if kind == "demands":
            return {"result": self._demands(), "partial": partial}
        found = self._rows(kind, reports)
        if kind == "tasks" and not exclude_driver:  # Ray's rows of the drivers (the jobs)
            found = [*self._driver_rows(), *found]
        return self._answer(kind, found, filters, limit, detail, partial)

    def _driver_rows(self) -> list[dict[str, Any]]:
        from raylike._dask.scheduler.jobs import JOBS_PLUGIN

        registry = self.scheduler.plugins.get(JOBS_PLUGIN)
        return [rows.driver_row(job) for job in registry.table()] if registry else []

    def _answer(self, kind: str, found: list[dict[str, Any]], filters: list[Any] | None,
                limit: int, detail: bool, partial: list[str]) -> dict[str, Any]:
        """The rows that pass ``filters``, ``limit`` of them, in the columns asked for."""
        from raylike.util.state.common import resource_to_schema

        try:
            kept = rows.filtered(found, list(filters or []), resource_to_schema(kind))
        except ValueError as exc:
            return {"error": str(exc)}
        columns = resource_to_schema(kind).list_columns(detail=detail)
        return {"total": len(found), "num_filtered": len(kept), "partial": partial,
                "result": [{c: row.get(c) for c in columns} for row in kept[:limit]]}

    async def _reports(self, timeout: float) -> tuple[dict[str, Any], list[str]]:
        """What each worker recorded (``_task_events.collect``), and those that did not say."""
        from raylike._dask.worker import task_events as _task_events

        workers = list(self.scheduler.workers)
        if not workers:
            return {}, []
        msg = {"op": "run", "function": pickle.dumps(_task_events.collect), "wait": True}
        try:
            answers = await asyncio.wait_for(self.scheduler.broadcast(
                msg=msg, workers=workers, on_error="return"), timeout)
        except (asyncio.TimeoutError, OSError):
            return {}, workers
        reports = {w: _value(a["result"]) for w, a in answers.items()
                   if isinstance(a, dict) and a.get("status") == "OK"}
        return reports, [w for w in workers if w not in reports]

    def _rows(self, kind: str, reports: dict[str, Any]) -> list[dict[str, Any]]:
        if kind == "tasks":
            return self._task_rows(reports)
        if kind == "actors":
            pids = {p["actor_id"]: p["pid"] for r in reports.values()
                    for p in r["processes"] if p["actor_id"]}
            return [rows.actor_row(r, pids) for r in self._actors().values()]
        if kind == "nodes":
            return self._node_rows()
        if kind == "workers":
            return self._worker_rows(reports)
        if kind == "placement_groups":
            registry = self.scheduler.plugins.get("raylike-placement-groups")
            return [rows.pg_row(g) for g in getattr(registry, "groups", {}).values()]
        raise ValueError(f"unknown state kind {kind!r}")

    def _actors(self) -> dict[str, Any]:
        return dict(getattr(self.scheduler.plugins.get("raylike-actors"), "actors", {}))

    def _live(self, key: str) -> str | None:
        """A task's state from the scheduler now, in Ray's words (None if forgotten)."""
        ts = self.scheduler.tasks.get(key)
        if ts is None:
            return None
        if ts.state == "processing":  # queued on its worker until it has the resources
            running = self._running
            return "RUNNING" if running is None or key in running else "PENDING_NODE_ASSIGNMENT"
        if ts.state == "memory":
            return "FINISHED"
        if ts.state == "erred":
            return "FAILED"
        if ts.state == "waiting" and ts.waiting_on:
            return "PENDING_ARGS_AVAIL"
        return "PENDING_NODE_ASSIGNMENT"

    def _task_records(self, reports: dict[str, Any]) -> list[dict[str, Any]]:
        creations = {r["actor_id"]: r for r in self.tasks.values()
                     if r.get("type") == "ACTOR_CREATION_TASK" and r.get("pid") is None}
        for worker, report in reports.items():  # the process of each running task, kept
            running = dict(report.get("pids", {}))
            running.update({creations[p["actor_id"]]["key"]: p["pid"]
                            for p in report["processes"] if p["actor_id"] in creations})
            for key, pid in running.items():
                record = self.tasks.get(key)
                if record is not None:
                    record["pid"], record["worker_id"] = pid, rows.worker_id(worker, pid)
        records = list(self.tasks.values())
        for worker, report in reports.items():
            actors = {p["actor_id"]: p["pid"] for p in report["processes"] if p["actor_id"]}
            for call in report["calls"]:
                record = rows.call_record(call, worker)
                pid = actors.get(call["actor_id"]) if call["actor_id"] else call.get("pid")
                if pid is not None:
                    record["pid"], record["worker_id"] = pid, rows.worker_id(worker, pid)
                records.append(record)
        return records

    def _task_rows(self, reports: dict[str, Any]) -> list[dict[str, Any]]:
        actors = self._actors()
        return [rows.task_row(r, None if r["state"] else self._live(r["key"]), actors)
                for r in self._task_records(reports)]

    def _node_rows(self) -> list[dict[str, Any]]:
        head = self._head()
        found = [rows.node_row(a, ws, head, self.joined.get(a))
                 for a, ws in self.scheduler.workers.items()]
        return found + [rows.node_row(a, info, head, info["since"], info["at"])
                        for a, info in self.left.items()]

    def _head(self) -> str | None:
        """The head node: the first worker on the scheduler's host (else the first one)."""
        host = rows.host_of(self.scheduler.address)
        workers = sorted(self.scheduler.workers, key=lambda a: self.joined.get(a, 0.0))
        return next((a for a in workers if rows.host_of(a) == host),
                    workers[0] if workers else None)

    def _worker_rows(self, reports: dict[str, Any]) -> list[dict[str, Any]]:
        found = []
        for client in self.scheduler.clients:
            if client == "fire-and-forget" or str(client).startswith("Client-worker"):
                continue
            found.append({"worker_id": client, "is_alive": True, "worker_type": "DRIVER",
                          "exit_type": None, "node_id": None, "ip": "", "pid": 0})
        for worker, report in reports.items():
            for proc in report["processes"]:
                found.append({"worker_id": rows.worker_id(worker, proc["pid"]),
                              "is_alive": True, "worker_type": "WORKER", "exit_type": None,
                              "node_id": rows.node_of(worker), "ip": rows.host_of(worker),
                              "pid": proc["pid"]})
            for dead in report.get("exited", ()):  # task processes that died
                found.append({"worker_id": rows.worker_id(worker, dead["pid"]),
                              "is_alive": False, "worker_type": "WORKER",
                              "exit_type": "SYSTEM_ERROR", "exit_detail": dead["detail"],
                              "node_id": rows.node_of(worker), "ip": rows.host_of(worker),
                              "pid": dead["pid"], "end_time_ms": rows.ms(dead["at"])})
        return found

    def _timeline(self, reports: dict[str, Any]) -> list[dict[str, Any]]:
        """Chrome-trace events (``ph: "X"``, times in µs) of tasks and calls that ran."""
        events = []
        actors = self._actors()
        for record in self._task_records(reports):
            if record.get("started") is None or record.get("ended") is None:
                continue  # Ray's trace has the runs that ended
            row = rows.task_row(record, None if record["state"] else self._live(record["key"]),
                                actors)
            end = record["ended"]
            worker = record.get("worker") or ""
            events.append({
                "cat": f"task::{row['name']}", "name": record.get("full_name") or row["name"],
                "pid": rows.host_of(worker) if worker else "", "tid": f"worker:{worker}",
                "ts": record["started"] * 1e6, "dur": max(0.0, end - record["started"]) * 1e6,
                "ph": "X", "cname": "generic_work",
                "args": {"name": row["name"], "task_id": row["task_id"],
                         "state": row["state"]}})
        return sorted(events, key=lambda e: e["ts"])

    def _demands(self) -> dict[str, Any]:
        """Resource shapes of tasks waiting for a node: pending (some node could run them
        once room frees up) and infeasible (no node has the resources)."""
        pending: dict[str, int] = {}
        infeasible: dict[str, int] = {}
        grouped: dict[str, int] = {}  # of the pending, those in a placement group
        for ts in self.scheduler.tasks.values():
            if not isinstance(ts.key, str):
                continue
            if ts.key.startswith(LEASE_PREFIX):  # a driver's tasks wait for this lease
                if self._live(ts.key) != "PENDING_NODE_ASSIGNMENT":
                    continue
            elif ts.key not in self.tasks or self._live(ts.key) != "PENDING_NODE_ASSIGNMENT":
                continue
            restrictions = dict(ts.resource_restrictions or {})
            in_group = any("_group_" in name for name in restrictions)
            shape = repr(dict(sorted(_ray_shape(restrictions).items())))
            target = infeasible if ts.state == "no-worker" else pending
            target[shape] = target.get(shape, 0) + 1
            if in_group and target is pending:
                grouped[shape] = grouped.get(shape, 0) + 1
        return {"pending": pending, "infeasible": infeasible, "grouped": grouped}


def _ray_shape(restrictions: dict[str, float]) -> dict[str, float]:
    """A task's resources by Ray's names, as ``ray status`` shows them: a placement group's
    (``CPU_group_<i>_<id>``, ``CPU_group_<id>``) as the resource itself, its bundle markers
    (``bundle_group_*``) left out."""
    shape: dict[str, float] = {}
    for name, value in restrictions.items():
        if "_group_" not in name:
            shape[name] = value
        elif not name.startswith("bundle_group_"):
            base = name.split("_group_", 1)[0]
            shape[base] = max(shape.get(base, 0.0), value)
    return shape


LEASE_PREFIX = "raylike-lease-"  # the keys of leases (``raylike._dask.worker.leases``)


def _value(result: Any) -> Any:
    """A worker's answer as a value (the scheduler receives it still serialized)."""
    from distributed.protocol import Serialized, deserialize

    return deserialize(result.header, result.frames) if isinstance(result, Serialized) \
        else result
