"""Resources: node sizes, GPU discovery, and the cluster's resource views.

A Ray *node* is one Dask worker here (see ``docs/design.md``). Ray's resources are Dask worker
resources with the same names (``CPU``, ``GPU``, ``memory``, custom names), counted per worker.
"""
from __future__ import annotations

import importlib.util
import logging
import os
import time
from typing import Any

from raylike._options import _resource_quantity, _resources

_ROUND = 4  # Ray keeps resources in fixed point (1e-4); round to avoid float drift


def check_init_resources(num_cpus: Any, num_gpus: Any, resources: Any) -> None:
    """Validate ``init``'s resource arguments like task options."""
    _resource_quantity("num_cpus", num_cpus)
    _resource_quantity("num_gpus", num_gpus)
    _resources("resources", resources)
    declared = {"CPU": num_cpus, "GPU": num_gpus, **(resources or {})}
    for name, quantity in declared.items():
        if quantity is not None and not float(quantity).is_integer():
            raise ValueError(f"Resource quantities must all be whole numbers. Violated by "
                             f"resource '{name}' in {declared}.")


def detect_gpus() -> list[str]:
    """Ids of this machine's visible GPUs: ``CUDA_VISIBLE_DEVICES`` if set, else every device
    pynvml finds. No driver or no pynvml: ``[]``, silently."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        return [v.strip() for v in visible.split(",") if v.strip() and v.strip() != "-1"]
    try:
        import pynvml

        pynvml.nvmlInit()
        try:
            return [str(i) for i in range(pynvml.nvmlDeviceGetCount())]
        finally:
            pynvml.nvmlShutdown()
    except Exception:  # no library, no driver, no device: zero GPUs
        return []


def total_memory() -> int:
    """This machine's memory in bytes."""
    try:
        import psutil

        return int(psutil.virtual_memory().total)
    except Exception:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))


def embedded_node_resources(num_cpus: float | None, num_gpus: float | None,
                            resources: dict[str, float] | None) -> dict[str, float]:
    """The embedded node's Dask worker resources, sized like Ray's default node."""
    node: dict[str, float] = {
        "CPU": float(os.cpu_count() or 1) if num_cpus is None else float(num_cpus),
        "GPU": float(len(detect_gpus())) if num_gpus is None else float(num_gpus),
        "memory": float(int(total_memory() * 0.7)),
    }
    node.update({k: float(v) for k, v in (resources or {}).items()})
    return node


def dashboard_wanted(include_dashboard: bool | None) -> bool:
    """The dashboard needs bokeh; ``None`` means on where bokeh is installed."""
    has_bokeh = importlib.util.find_spec("bokeh") is not None
    if include_dashboard and not has_bokeh:
        raise ValueError("include_dashboard=True needs bokeh: pip install 'bokeh>=3.1'")
    return has_bokeh if include_dashboard is None else bool(include_dashboard)


def request(options: dict[str, Any], default_cpus: float) -> dict[str, float]:
    """The Dask resource restrictions of a task or actor with these options."""
    cpus = options.get("num_cpus")
    wanted: dict[str, float] = {"CPU": default_cpus if cpus is None else float(cpus)}
    if options.get("num_gpus"):
        wanted["GPU"] = float(options["num_gpus"])
    if options.get("memory"):
        wanted["memory"] = float(options["memory"])
    wanted.update({k: float(v) for k, v in (options.get("resources") or {}).items()})
    return {k: v for k, v in wanted.items() if v > 0}


def default_actor_request(options: dict[str, Any]) -> dict[str, float]:
    """The Dask restrictions of an actor that asks for no CPU, GPU or custom resource.

    Ray places such an actor on a node with CPUs but holds none while it lives (its docs: "1
    CPU for scheduling and 0 CPU for running"), so any number of them fit on a node whose CPUs
    are all taken. ``CPU: 0`` keeps it to workers that declare CPUs without taking any."""
    wanted = {"CPU": 0.0}
    if options.get("memory"):
        wanted["memory"] = float(options["memory"])
    return wanted


def clean(values: dict[str, float]) -> dict[str, float]:
    """Round away float drift and drop zero entries, as Ray reports resources."""
    out = {}
    for name, value in values.items():
        value = round(float(value), _ROUND)
        if value > 0:
            out[name] = value
    return out


def add(total: dict[str, float], more: dict[str, float]) -> None:
    """Add ``more`` into ``total`` (per-resource sums over nodes)."""
    for name, value in more.items():
        total[name] = total.get(name, 0.0) + float(value)


_node_cache: dict[str, Any] = {"at": 0.0, "nodes": []}
_infeasible_warned: set[tuple[str, tuple[tuple[str, float], ...]]] = set()


def _node_totals(backend: Any, max_age: float) -> list[dict[str, float]]:
    if time.monotonic() - _node_cache["at"] > max_age:
        workers = backend.scheduler_info().get("workers", {}).values()
        _node_cache["nodes"] = [dict(w.get("resources") or {}) for w in workers]
        _node_cache["at"] = time.monotonic()
    return list(_node_cache["nodes"])


def _fits(node: dict[str, float], wanted: dict[str, float]) -> bool:
    return all(node.get(name, 0.0) + 1e-9 >= amount for name, amount in wanted.items())


def warn_if_infeasible(what: str, wanted: dict[str, float], backend: Any) -> None:
    """Log a warning, once per ``what`` and request, when no node could ever run it (it waits,
    and runs if a node that can joins later), as Ray does."""
    if not wanted or not hasattr(backend, "scheduler_info"):
        return  # inside a task the worker's view is not at hand; the driver warned already
    try:
        if any(_fits(n, wanted) for n in _node_totals(backend, max_age=5.0)):
            return
        if any(_fits(n, wanted) for n in _node_totals(backend, max_age=0.0)):
            return  # a node joined since the last look
    except Exception:  # introspection must never break a submission
        return
    key = (what, tuple(sorted(wanted.items())))
    if key not in _infeasible_warned:
        _infeasible_warned.add(key)
        logging.getLogger("raylike").warning(
            "Warning: %s requests %s, which no node of the cluster has (nodes: %s). It will "
            "wait until a node with these resources joins.", what, wanted,
            _node_cache["nodes"])
