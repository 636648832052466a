"""The scheduler's side of label selectors (``raylike._api.labels``): a task or actor whose Dask
worker restrictions hold a label sentinel may run on every worker whose labels match it.

* When its graph arrives (``update_graph``, before Dask places it), a task with only the
  sentinel (no node matched where it was submitted, or none was looked at) gets the addresses
  of the workers that match now.
* When a worker joins (``add_worker``, before Dask retries the tasks no worker could run),
  every task not yet finished whose sentinel it matches gets its address: a task waiting for a
  node with its labels (its nodes died, or none had them yet) runs there, as Ray's would.

Resources stay Dask's business: a matching worker without them is no valid worker for it.
"""
from __future__ import annotations

from typing import Any

from distributed.diagnostics.plugin import SchedulerPlugin

from raylike._api import labels as _labels

__all__ = ["LABELS_PLUGIN", "LabelPlugin"]

LABELS_PLUGIN = "raylike-labels"
_DONE = ("memory", "erred", "forgotten")


def _selector(ts: Any) -> list[_labels.Condition] | None:
    for entry in getattr(ts, "host_restrictions", None) or ():
        conds = _labels.from_sentinel(entry)
        if conds is not None:
            return conds
    return None


class LabelPlugin(SchedulerPlugin):
    """Keeps the worker restrictions of label-selected tasks true to the workers' labels."""

    name = LABELS_PLUGIN
    idempotent = True

    def _labels_of(self, scheduler: Any, address: str) -> dict[str, str]:
        ws = scheduler.workers.get(address)
        info = {"resources": getattr(ws, "resources", {}), **(getattr(ws, "extra", {}) or {})}
        return _labels.node_labels(address, info)

    def update_graph(self, scheduler: Any, *, tasks: Any = (), **_: Any) -> None:
        nodes: dict[str, dict[str, str]] | None = None
        for key in tasks or ():
            ts = scheduler.tasks.get(key)
            conds = _selector(ts) if ts is not None else None
            if conds is None or ts.worker_restrictions:
                continue  # chosen where it was submitted (a soft preference): kept
            if nodes is None:
                nodes = {a: self._labels_of(scheduler, a) for a in scheduler.workers}
            ts.worker_restrictions = {a for a, labels in nodes.items()
                                      if _labels.matches(labels, conds)} or None

    def add_worker(self, scheduler: Any, worker: str) -> None:
        labels = self._labels_of(scheduler, worker)
        for ts in list(scheduler.tasks.values()):
            if ts.state in _DONE:
                continue
            conds = _selector(ts)
            if conds is not None and _labels.matches(labels, conds):
                ts.worker_restrictions = {*(ts.worker_restrictions or ()), worker}
