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
        self.known: dict[str, Any] = dict(scheduler.workers)  # WorkerState, kept past removal
        self._running: set[str] | None = None  # keys running on workers, for this query
        self.hard_pins: set[str] = set()  # tasks and actors of a hard node affinity
        internals.add_scheduler_handlers(scheduler, {"raylike_state": self.query,
                                                     "raylike_dead_nodes": self.dead_nodes},
                                         {"raylike_hard_pin": self._hard_pin})

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

    def _unpin(self, key: str) -> None:
        internals.unpin_if_stranded(self.scheduler, key, f"raylike-unpin-{time.time()}")

    def transition(self, key: Any, start: str, finish: str, *args: Any, **kwargs: Any) -> None:
        if finish == "no-worker" and key not in self.hard_pins:
            # its nodes may all have left (a SPREAD choice, a soft affinity): as in Ray it
            # runs elsewhere (looked at once this transition is over)
            self.scheduler.loop.add_callback(self._unpin, key)
        elif finish == "forgotten":
            self.hard_pins.discard(key)
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
            if finish == "erred":
                record["error_type"], record["error_message"] = rows.error_of(kwargs)
                record["exception"] = kwargs.get("exception")
        elif finish == "forgotten" and record["state"] not in rows.TERMINAL:
            # every raylike task runs to its end unless cancelled (or its driver left)
            record.update(state="FAILED", ended=now, error_type="TASK_CANCELLED",
                          error_message="The task was cancelled.")
        elif finish in ("waiting", "released", "queued", "no-worker"):
            record["state"] = None

    def add_worker(self, scheduler: Any, worker: str) -> None:
        self.joined[worker] = time.time()
        self.known[worker] = scheduler.workers.get(worker)

    def remove_worker(self, scheduler: Any, worker: str, **_: Any) -> None:
        # Dask calls this once the worker is out of its table: its record from add_worker
        ws = scheduler.workers.get(worker) or self.known.pop(worker, None)
        self.left[worker] = {"resources": dict(getattr(ws, "resources", {}) or {}),
                             "name": getattr(ws, "name", None), "since": self.joined.pop(
                                 worker, None), "at": time.time(),
                             "extra": dict(getattr(ws, "extra", {}) or {})}
        while len(self.left) > 1000:
            self.left.popitem(last=False)

    def log_event(self, topic: str, msg: Any) -> None:
        """A worker's removal: the tasks it ran use up a retry each (below). A node lost
        without notice (Dask's removal of a worker it did not expect to leave: killed,
        crashed, unreachable) is Ray's ``node_removed`` error, pushed to drivers."""
        if topic != "all" or not isinstance(msg, dict) or msg.get("action") != "remove-worker":
            return
        running = [k for k in msg.get("processing-tasks", ()) if k in self.tasks]
        if running:  # looked at once Dask has placed them again
            self.scheduler.loop.add_callback(self._node_died_under, running,
                                             str(msg.get("worker", "")))
        if msg.get("expected"):
            return
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

    def dead_nodes(self, **_: Any) -> dict[str, dict[str, Any]]:
        """The nodes (workers) that left, as ``ray.nodes()`` lists them (Ray keeps dead nodes
        in its node table): ``{address: {"resources", "name", "extra"}}``."""
        return {address: {"resources": info["resources"], "name": info["name"],
                          "extra": info["extra"]}
                for address, info in self.left.items() if address not in self.scheduler.workers}

    # -- the query ----------------------------------------------------------------------------
    async def query(self, kind: str, filters: list[Any] | None = None, limit: int = 100,
                    detail: bool = False, timeout: float = 30.0) -> dict[str, Any]:
        """``{"total", "result", "partial"}`` for ``kind``; ``{"error": message}`` for a bad
        filter. ``partial`` names the workers that did not answer in time."""
        from raylike.util.state.common import resource_to_schema

        reports, partial = ({}, []) if kind in ("objects", "nodes", "placement_groups") \
            else await self._reports(min(float(timeout), 30.0))
        self._running = {k for r in reports.values() for k in r.get("running", ())} \
            if reports else None
        if kind == "timeline":
            return {"result": self._timeline(reports), "partial": partial}
        if kind == "demands":
            return {"result": self._demands(), "partial": partial}
        found = self._rows(kind, reports)
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
        if kind == "objects":
            return self._object_rows()
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
        records = list(self.tasks.values())
        for worker, report in reports.items():
            records += [rows.call_record(c, worker) for c in report["calls"]]
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

    def _object_rows(self) -> list[dict[str, Any]]:
        found = []
        for ts in self.scheduler.tasks.values():
            holders = [c.client_key for c in ts.who_wants or () if c.client_key not in (
                "fire-and-forget", "raylike-streams")]
            if not holders or not isinstance(ts.key, str):
                continue
            owner = "WORKER" if any(str(h).startswith("Client-worker") for h in holders) \
                and not any(not str(h).startswith("Client-worker") for h in holders) \
                else "DRIVER"
            live = self._live(ts.key) or "NIL"
            found.append(rows.object_row(ts, "SUBMITTED_TO_WORKER" if live == "RUNNING"
                                         else live, owner))
        return found

    def _worker_rows(self, reports: dict[str, Any]) -> list[dict[str, Any]]:
        found = []
        for client in self.scheduler.clients:
            if client == "fire-and-forget" or str(client).startswith("Client-worker"):
                continue
            found.append({"worker_id": client, "is_alive": True, "worker_type": "DRIVER",
                          "exit_type": None, "node_id": None, "ip": "", "pid": 0})
        for worker, report in reports.items():
            for proc in report["processes"]:
                found.append({"worker_id": f"{worker}/{proc['pid']}", "is_alive": True,
                              "worker_type": "WORKER", "exit_type": None,
                              "node_id": rows.node_of(worker), "ip": rows.host_of(worker),
                              "pid": proc["pid"]})
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
        for ts in self.scheduler.tasks.values():
            if not isinstance(ts.key, str) or ts.key not in self.tasks or \
                    self._live(ts.key) != "PENDING_NODE_ASSIGNMENT":
                continue
            shape = repr(dict(sorted((ts.resource_restrictions or {}).items())))
            target = infeasible if ts.state == "no-worker" else pending
            target[shape] = target.get(shape, 0) + 1
        return {"pending": pending, "infeasible": infeasible}


def _value(result: Any) -> Any:
    """A worker's answer as a value (the scheduler receives it still serialized)."""
    from distributed.protocol import Serialized, deserialize

    return deserialize(result.header, result.frames) if isinstance(result, Serialized) \
        else result
