"""Lineage reconstruction with Ray's limits (a scheduler plugin, part of the Dask boundary).

Dask keeps the graph of every task whose result, or a dependent's, is still wanted (a released
dependency stays as a record while its dependents live), and when a worker dies it runs again
each task whose result was only there and is still wanted: that is Ray's lineage
reconstruction, and it needs no help. What Dask does not do is Ray's accounting:

* a re-execution to rebuild a lost result uses up one of the task's ``max_retries``, shared
  with the retries after a node died under it (``StatePlugin``); once they are spent (or with
  ``max_retries=0``) the task is not run again and its result fails with
  ``ObjectReconstructionFailedError`` (``MAX_ATTEMPTS_EXCEEDED``, ``RETRIES_DISABLED``);
* with Ray's system setting ``lineage_pinning_enabled`` off (``RAY_lineage_pinning_enabled``
  in the scheduler's environment: a head node's ``_system_config``) nothing is rebuilt
  (``LINEAGE_DISABLED``).

A lost result's task goes from ``released`` to ``waiting`` again; this plugin stands in front
of that transition (``internals.intercept_transition``): a task that may not run again goes
to ``erred`` instead, before any worker is given it, and the tasks waiting for it fail with it
(a dependent's ``get`` raises Ray's "input arguments could not be computed"). Only raylike's
tasks (``execute_task``) are counted; an actor call's result is not rebuilt (its host refuses
to run a call twice), a ``put`` value has no lineage (``ObjectLostError``).
"""
from __future__ import annotations

import logging
import os
import time
from typing import Any

from distributed.diagnostics.plugin import SchedulerPlugin

from raylike._dask import internals
from raylike._dask.scheduler import state_rows as rows

LINEAGE_PLUGIN = "raylike-lineage"
logger = logging.getLogger("raylike.lineage")


def _setting(name: str, default: bool) -> bool:
    """Ray's boolean system setting ``name`` (``RAY_<name>``), read as Ray reads it."""
    value = os.environ.get(f"RAY_{name}")
    if value is None or not value.strip():
        return default
    return value.strip().lower() not in ("0", "false", "no", "off")


class LineagePlugin(SchedulerPlugin):
    """Counts re-executions of raylike's tasks against ``max_retries``; refuses those past it."""

    name = LINEAGE_PLUGIN
    idempotent = True

    async def start(self, scheduler: Any) -> None:
        self.scheduler = scheduler
        self.enabled = _setting("lineage_pinning_enabled", True)
        self.computed: set[str] = set()  # keys whose result reached memory (and may be lost)
        self.rebuilt: dict[str, int] = {}  # re-executions of each task to rebuild its result
        internals.intercept_transition(scheduler, "released", "waiting", self._may_wait)

    def transition(self, key: Any, start: str, finish: str, *args: Any, **kwargs: Any) -> None:
        if finish == "memory" and start == "processing":
            self.computed.add(key)
        elif finish == "forgotten":
            self.computed.discard(key)
            self.rebuilt.pop(key, None)

    def retries_used(self, key: str) -> int:
        """The retries task ``key`` used to rebuild its lost result."""
        return self.rebuilt.get(key, 0)

    def _may_wait(self, key: Any) -> BaseException | None:
        """Called as ``key`` is about to wait to run again: None to let it, else the error
        it fails with. A key that never finished is not a reconstruction."""
        if key not in self.computed:
            return None
        ts = self.scheduler.tasks.get(key)
        record = rows.task_record(key, ts.run_spec) if ts is not None else None
        if record is None or record.get("type") != "NORMAL_TASK":
            return None
        self.computed.discard(key)  # counted again once it is in memory again
        allowed = int(record.get("max_retries", 3))
        used = self.rebuilt.get(key, 0) + _node_deaths(self.scheduler, key)
        if not self.enabled:
            reason = "OBJECT_UNRECONSTRUCTABLE_LINEAGE_DISABLED"
        elif allowed == 0:
            reason = "OBJECT_UNRECONSTRUCTABLE_RETRIES_DISABLED"
        elif 0 <= allowed <= used:
            reason = "OBJECT_UNRECONSTRUCTABLE_MAX_ATTEMPTS_EXCEEDED"
        else:
            self.rebuilt[key] = self.rebuilt.get(key, 0) + 1
            logger.info("rebuilding the lost result of %s (retry %d of %s)", key,
                        used + 1, allowed if allowed >= 0 else "unlimited")
            return None
        from raylike._api import ids as _ids
        from raylike.exceptions import ObjectReconstructionFailedError

        logger.info("the lost result of %s is not rebuilt: %s (%s)", key, reason, time.time())
        return ObjectReconstructionFailedError(_ids.object_hex(key), reason)


def _node_deaths(scheduler: Any, key: str) -> int:
    """The retries task ``key`` used on nodes that died while it ran (``StatePlugin``)."""
    state = scheduler.plugins.get("raylike-state")
    record = getattr(state, "tasks", {}).get(key) if state is not None else None
    return int(record.get("node_deaths", 0)) if record else 0
