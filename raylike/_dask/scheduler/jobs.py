"""Ray's job table on the scheduler: one job per driver (a Dask scheduler plugin).

A driver registers as it connects (``ray.init``) and gets its job id here: Ray numbers jobs
in the order their drivers connect (a 4-byte little-endian counter, ``01000000`` first), so
the ids of one cluster's jobs sort by age, as Ray's tests expect. The job ends when its
driver's Dask client leaves (``shutdown``, or its process died: the scheduler drops a client
whose connection broke). ``ray._private.state.jobs()`` and the state API's driver rows
(``DRIVER_TASK``) read the table.
"""
from __future__ import annotations

import time
from collections import OrderedDict
from typing import Any

from distributed.diagnostics.plugin import SchedulerPlugin

from raylike._dask import internals

JOBS_PLUGIN = "raylike-jobs"
KEPT = 1000  # jobs remembered (the oldest ended ones are forgotten first)


class JobRegistry(SchedulerPlugin):
    """The cluster's jobs, by job id, in the order they started."""

    name = JOBS_PLUGIN
    idempotent = True  # a second driver must not reset the table of a shared cluster

    async def start(self, scheduler: Any) -> None:
        self.scheduler = scheduler
        self.jobs: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self.by_client: dict[str, str] = {}
        self.counter = 0
        internals.add_scheduler_handlers(scheduler, {"raylike_job_register": self.register,
                                                     "raylike_jobs": self.table,
                                                     "raylike_job_next": self.next_id})

    def next_id(self, **_: Any) -> str:
        """Take the next job number without a driver (Ray's ``next_job_id``)."""
        self.counter += 1
        return self.counter.to_bytes(4, "little").hex()

    def register(self, client: str, pid: int, ip: str, entrypoint: str = "",
                 namespace: str = "", **_: Any) -> str:
        """A new driver: its job id (the next number)."""
        self.counter += 1
        job_id = self.counter.to_bytes(4, "little").hex()
        now = int(time.time() * 1000)
        self.jobs[job_id] = {"JobID": job_id, "DriverIPAddress": ip, "DriverPid": int(pid),
                             "StartTime": now, "EndTime": 0, "Timestamp": now,
                             "IsDead": False, "Entrypoint": entrypoint,
                             "Namespace": namespace, "client": client}
        self.by_client[client] = job_id
        ended = [j for j, row in self.jobs.items() if row["IsDead"]]
        while len(self.jobs) > KEPT and ended:
            self.jobs.pop(ended.pop(0), None)
        return job_id

    def remove_client(self, scheduler: Any, client: str) -> None:
        job_id = self.by_client.pop(client, None)
        row = self.jobs.get(job_id or "")
        if row is not None and not row["IsDead"]:
            now = int(time.time() * 1000)
            row.update(IsDead=True, EndTime=now, Timestamp=now)

    def table(self, **_: Any) -> list[dict[str, Any]]:
        return [{k: v for k, v in row.items() if k != "client"} for row in self.jobs.values()]
