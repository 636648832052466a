"""Lineage reconstruction with Ray's limits (a scheduler plugin, part of the Dask boundary).

Dask keeps the graph of every task whose result, or a dependent's, is still wanted (a released
dependency stays as a record while its dependents live), and when a worker dies it runs again
each task whose result was only there and is still wanted: that is Ray's lineage
reconstruction, and it needs no help. What Dask does not do is Ray's accounting:

* a re-execution to rebuild a lost result uses up one of the task's ``max_retries``, shared
  with the retries after a node died under it (``StatePlugin``); once they are spent (or with
  ``max_retries=0``) the task is not run again and its result fails with
  ``ObjectReconstructionFailedError`` (``MAX_ATTEMPTS_EXCEEDED``, ``RETRIES_DISABLED``);
* a finished task that was cancelled (``ray.cancel`` does nothing else to it) is not run
  again (``TASK_CANCELLED``);
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
from collections import OrderedDict
from typing import Any

from distributed.diagnostics.plugin import SchedulerPlugin

from raylike._api.options import STREAMING
from raylike._dask import internals
from raylike._dask.scheduler import state_rows as rows

LINEAGE_PLUGIN = "raylike-lineage"
KEPT = 100_000  # re-execution counts kept at most (those of forgotten tasks go at once)
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
        self.rebuilt: OrderedDict[str, int] = OrderedDict()  # re-executions of each task
        self.last: dict[str, str] = {}  # the stimulus of each task's last re-execution
        self.item_of: dict[str, str] = {}  # a generator item's key -> its generator task's
        internals.intercept_transition(scheduler, "released", "waiting", self._may_wait)
        self.cancelled: set[str] = set()  # finished tasks cancelled: never run again
        internals.add_scheduler_handlers(scheduler, {"raylike_adopt_items": self.adopt_items},
                                         {"raylike-lineage-cancelled": self._cancelled})

    def _cancelled(self, key: str, **_: Any) -> None:
        if key in self.scheduler.tasks:
            self.cancelled.add(key)

    def adopt_items(self, key: str, items: list[str], **_: Any) -> None:
        """The values of dynamic generator task ``key``, in order: rebuilt if lost."""
        for index, item in enumerate(items):
            self.adopt_item(item, key, index)

    def transition(self, key: Any, start: str, finish: str, *args: Any, **kwargs: Any) -> None:
        if finish == "memory" and start == "processing":
            self.computed.add(key)
        elif finish == "forgotten":
            self.computed.discard(key)
            self.cancelled.discard(key)
            self.item_of.pop(key, None)
            self.last.pop(key, None)
            if key not in self.scheduler.plugins.get("raylike-streams", _NO_STREAMS).streams:
                self.rebuilt.pop(key, None)  # a generator's count lives as long as its items

    def retries_used(self, key: str) -> int:
        """The retries task ``key`` used to rebuild its lost results."""
        return self.rebuilt.get(key, 0)

    def adopt_item(self, item: str, key: str, index: int) -> None:
        """Item ``index`` of generator task ``key`` is stored as Dask data ``item``: give it
        a task that makes it again (the generator run again: ``ItemRebuild``), depending on
        what ``key`` depends on, so Dask rebuilds it when it is lost and still wanted."""
        from raylike._dask.scheduler.stream_registry import ItemRebuild

        ts, gen = self.scheduler.tasks.get(item), self.scheduler.tasks.get(key)
        spec = getattr(gen, "run_spec", None)
        record = rows.task_record(key, spec) if spec is not None else None
        if ts is None or ts.run_spec is not None or record is None or \
                record.get("type") != "NORMAL_TASK":  # an actor call's items: not rebuilt
            return
        call = rows.call_of(spec)
        ts.run_spec = internals.derived_task(spec, item, ItemRebuild(call, index))
        internals.run_like(ts, gen)
        self.computed.add(item)
        self.item_of[item] = key

    def _may_wait(self, key: Any, stimulus_id: str) -> BaseException | None:
        """Called as ``key`` is about to wait to run again: None to let it, else the error
        it fails with. A key that never finished is not a reconstruction. A generator's
        items lost together, and its own task, count as one re-execution of that task."""
        if key not in self.computed:
            return None
        ts = self.scheduler.tasks.get(key)
        record = rows.task_record(key, ts.run_spec) if ts is not None else None
        if record is None or record.get("type") != "NORMAL_TASK":
            return None
        self.computed.discard(key)  # counted again once it is in memory again
        task = self.item_of.get(key, key)
        call = rows.call_of(ts.run_spec)
        if task == key and getattr(call, "num_returns", 1) == STREAMING:
            # a streaming generator that ended: its own result is None and each of its items
            # is rebuilt by itself, so it is not run again (Ray does not either)
            from raylike._dask.scheduler.stream_registry import ItemRebuild

            ts.run_spec = internals.derived_task(ts.run_spec, key, ItemRebuild(call, -1))
            return None
        if self.enabled and self.last.get(task) == stimulus_id:
            return None  # the same loss: counted already
        allowed = int(record.get("max_retries", 3))
        used = self.rebuilt.get(task, 0) + _node_deaths(self.scheduler, task)
        if not self.enabled:
            reason = "OBJECT_UNRECONSTRUCTABLE_LINEAGE_DISABLED"
        elif task in self.cancelled:
            reason = "OBJECT_UNRECONSTRUCTABLE_TASK_CANCELLED"
        elif allowed == 0:
            reason = "OBJECT_UNRECONSTRUCTABLE_RETRIES_DISABLED"
        elif 0 <= allowed <= used:
            reason = "OBJECT_UNRECONSTRUCTABLE_MAX_ATTEMPTS_EXCEEDED"
        else:
            self.rebuilt[task] = self.rebuilt.get(task, 0) + 1
            self.last[task] = stimulus_id
            while len(self.rebuilt) > KEPT:
                self.rebuilt.popitem(last=False)
            logger.info("rebuilding the lost result of %s (retry %d of %s)", task,
                        used + 1, allowed if allowed >= 0 else "unlimited")
            return None
        from raylike._api import ids as _ids
        from raylike.exceptions import ObjectReconstructionFailedError

        logger.info("the lost result of %s is not rebuilt: %s", key, reason)
        return ObjectReconstructionFailedError(_ids.object_hex(key), reason)


class _NoStreams:
    streams: dict[str, Any] = {}


_NO_STREAMS = _NoStreams()


def _node_deaths(scheduler: Any, key: str) -> int:
    """The retries task ``key`` used on nodes that died while it ran (``StatePlugin``)."""
    state = scheduler.plugins.get("raylike-state")
    record = getattr(state, "tasks", {}).get(key) if state is not None else None
    return int(record.get("node_deaths", 0)) if record else 0
