"""Resources: node sizes, GPU discovery, and the cluster's resource views.

A Ray *node* is one Dask worker here (see ``docs/design.md``). Ray's resources are Dask worker
resources with the same names (``CPU``, ``GPU``, ``memory``, custom names), counted per worker.
"""
from __future__ import annotations

import importlib.util
import json
import logging
import os
import time
from typing import Any

from raylike._api import host_limits as _host_limits
from raylike._api.options import _resource_quantity, _resources
from raylike._common.constants import HEAD_NODE_RESOURCE_NAME, NODE_ID_PREFIX
from raylike.exceptions import DefaultResourceError

_ROUND = 4  # Ray keeps resources in fixed point (1e-4); round to avoid float drift
# A hidden resource of every node with CPUs (never reported): an actor that asks for no
# resource needs a node with CPUs, but holds none of them (see ``default_actor_request``)
CPU_NODE = "raylike-cpu-node"
CPU_NODE_SUPPLY = 1e9


def without_hidden(resources: dict[str, float]) -> dict[str, float]:
    """``resources`` less the hidden ones (what a user asked for, or a node reports)."""
    return {k: v for k, v in resources.items() if k != CPU_NODE}


def with_hidden(resources: dict[str, float]) -> dict[str, float]:
    """A node's declared resources plus the hidden ones it gets (``CPU_NODE``)."""
    if float(resources.get("CPU", 0)) > 0:
        return {**resources, CPU_NODE: CPU_NODE_SUPPLY}
    return dict(resources)


# a node's default resources and the argument that sets each (not a custom resource's name)
_DEFAULT_RESOURCES = {"CPU": "num_cpus", "GPU": "num_gpus", "memory": "memory",
                      "object_store_memory": "object_store_memory"}


def check_init_resources(num_cpus: Any, num_gpus: Any, resources: Any) -> None:
    """Validate ``init``'s resource arguments like task options."""
    _resource_quantity("num_cpus", num_cpus)
    _resource_quantity("num_gpus", num_gpus)
    for name, argument in _DEFAULT_RESOURCES.items():
        if isinstance(resources, dict) and name in resources:
            raise DefaultResourceError(
                f"{resources} -> `{name}` cannot be a custom resource because it is one of "
                f"the default resources ({set(_DEFAULT_RESOURCES)}). Use `{argument}` "
                "instead.")
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


ACCELERATOR_PREFIX = "accelerator_type:"  # Ray's resource for ``accelerator_type=``
ACCELERATOR_REQUEST = 0.001  # what a task or actor asks of it, as in Ray


def gpu_accelerator_type() -> str | None:
    """The accelerator type (``"V100"``, ``"A100"``, ...) of this machine's first GPU, from
    its pynvml name; None without a GPU or pynvml."""
    try:
        import pynvml

        pynvml.nvmlInit()
        try:
            if pynvml.nvmlDeviceGetCount() == 0:
                return None
            name = pynvml.nvmlDeviceGetName(pynvml.nvmlDeviceGetHandleByIndex(0))
        finally:
            pynvml.nvmlShutdown()
    except Exception:
        return None
    return accelerator_type_of(name.decode() if isinstance(name, bytes) else str(name))


def accelerator_type_of(gpu_name: str) -> str | None:
    """Ray's accelerator type for an NVIDIA product name: the model token after the brand,
    with the all-capital words before it (``"Tesla V100-SXM2-16GB"`` -> ``"V100"``,
    ``"NVIDIA RTX PRO 6000 ..."`` -> ``"RTX-PRO-6000"``); other names hyphen-joined without
    the leading ``NVIDIA``."""
    words = gpu_name.split()
    kept: list[str] = []
    for word in words[1:]:
        model = word.split("-", 1)[0]
        if not model.isupper() and not model.isdigit():
            break
        kept.append(model)
        if any(c.isdigit() for c in model):
            if len(kept) > 1 or len(model) > 1:
                return "-".join(kept)
            break
    cleaned = gpu_name[len("NVIDIA"):].strip() if gpu_name.startswith("NVIDIA") else gpu_name
    return "-".join(cleaned.split()) or None


def accelerator_resources(gpus: float) -> dict[str, float]:
    """The resource a node with ``gpus`` GPUs declares for their type (none without GPUs)."""
    kind = gpu_accelerator_type() if gpus else None
    return {ACCELERATOR_PREFIX + kind: 1.0} if kind else {}


def _accelerator_request(kind: str) -> dict[str, float]:
    """``accelerator_type=kind`` as a resource request, where the cluster knows accelerator
    types at all; else (no node with a GPU pynvml can name) a warning, once, and nothing."""
    if _cluster_accelerator_types():
        return {ACCELERATOR_PREFIX + kind: ACCELERATOR_REQUEST}
    from raylike._api import options as _options

    _options.warn_unsupported("accelerator_type", f"no node of the cluster declares an "
                              f"accelerator type (no GPU named by pynvml), so "
                              f"accelerator_type={kind!r} is ignored")
    return {}


_accelerators_seen: dict[str, Any] = {"at": -1e9, "kinds": set(), "runtime": None}


def _cluster_accelerator_types() -> set[str]:
    """The accelerator types the cluster's nodes declare (looked up at most every 5 s, and
    again after a new ``init``)."""
    from raylike._api import runtime as _runtime

    runtime = id(_runtime.driver())
    if (time.monotonic() - _accelerators_seen["at"] > 5.0
            or _accelerators_seen["runtime"] != runtime):
        from raylike._api import state as _state

        _accelerators_seen["runtime"] = runtime

        try:
            total = _state.cluster_resources()
        except Exception:  # no cluster view at hand: leave the option out
            total = {}
        _accelerators_seen["kinds"] = {name[len(ACCELERATOR_PREFIX):] for name in total
                                       if name.startswith(ACCELERATOR_PREFIX)}
        _accelerators_seen["at"] = time.monotonic()
    return set(_accelerators_seen["kinds"])


def total_memory() -> int:
    """This host's memory in bytes (a container's limit where it has one, as Ray)."""
    return _host_limits.system_memory()


OVERRIDE_ENV = "RAY_OVERRIDE_RESOURCES"  # Ray's: a node's resources as JSON, over its options


def env_override() -> dict[str, float]:
    """The resources ``RAY_OVERRIDE_RESOURCES`` (a JSON object) sets for a node started here;
    they replace those of its options (``num_cpus``, ``resources``, ...), as in Ray."""
    text = os.environ.get(OVERRIDE_ENV)
    if not text:
        return {}
    try:
        value = json.loads(text)
        return {str(k): float(v) for k, v in value.items()}
    except (ValueError, TypeError, AttributeError) as exc:
        raise ValueError(f"{OVERRIDE_ENV} must be a JSON object of resource quantities, "
                         f"not {text!r}: {exc}") from None


def embedded_node_resources(num_cpus: float | None, num_gpus: float | None,
                            resources: dict[str, float] | None, head: bool = False,
                            host: str | None = "127.0.0.1") -> dict[str, float]:
    """The embedded node's Dask worker resources, sized like Ray's default node, with Ray's
    ``node:<ip>`` (1) for the node's ``host``; the head node also has
    ``node:__internal_head__`` (1)."""
    node: dict[str, float] = {
        "CPU": float(_host_limits.num_cpus()) if num_cpus is None else float(num_cpus),
        "GPU": float(len(detect_gpus())) if num_gpus is None else float(num_gpus),
        "memory": float(int(total_memory() * 0.7)),
    }
    if num_gpus is None:  # the GPUs found here: their type too
        node.update(accelerator_resources(node["GPU"]))
    node.update({k: float(v) for k, v in (resources or {}).items()})
    node.update(env_override())  # Ray's RAY_OVERRIDE_RESOURCES: over what was asked
    if host:
        node[NODE_ID_PREFIX + host] = 1.0
    if head:
        node[HEAD_NODE_RESOURCE_NAME] = 1.0
    return node


def dashboard_wanted(include_dashboard: bool | None) -> bool:
    """Whether to serve the dashboard's web pages (Dask's, which need bokeh); ``None`` means
    on where bokeh is installed. What Ray's dashboard also serves (the state API,
    metrics) works here without it, so a dashboard asked for where bokeh is missing starts
    without its pages, with one warning, rather than failing ``init``."""
    has_bokeh = importlib.util.find_spec("bokeh") is not None
    if include_dashboard and not has_bokeh:
        logging.getLogger("raylike").warning(
            "A dashboard was asked for, but its web pages are Dask's and need bokeh "
            "(pip install 'bokeh>=3.1'); starting without them (the state API and metrics "
            "work without them).")
        return False
    return has_bokeh if include_dashboard is None else bool(include_dashboard)


# resources whose units are devices (Ray's predefined and custom unit-instance resources): a
# request above one must be whole
UNIT_INSTANCE = frozenset({"GPU", "neuron_cores", "TPU", "NPU", "HPU", "RBLN"})


def request(options: dict[str, Any], default_cpus: float) -> dict[str, float]:
    """The Dask resource restrictions of a task or actor with these options."""
    cpus = options.get("num_cpus")
    wanted: dict[str, float] = {"CPU": default_cpus if cpus is None else float(cpus)}
    if options.get("num_gpus"):
        wanted["GPU"] = float(options["num_gpus"])
    if options.get("memory"):
        wanted["memory"] = float(int(options["memory"]))  # whole bytes, rounded down as Ray
    wanted.update({k: float(v) for k, v in (options.get("resources") or {}).items()})
    if options.get("accelerator_type"):
        wanted.update(_accelerator_request(options["accelerator_type"]))
    for name, amount in wanted.items():  # checked at submission, as Ray's core worker does
        if name in UNIT_INSTANCE and amount > 1 and amount != int(amount):
            raise ValueError(f"{name} resource quantities >1 must be whole numbers. The "
                             f"specified quantity {amount} is invalid.")
    return {k: v for k, v in wanted.items() if v > 0}


def default_actor_request(options: dict[str, Any]) -> dict[str, float]:
    """The Dask restrictions of an actor that asks for no CPU, GPU or custom resource.

    Ray places such an actor on a node with CPUs but holds none while it lives (its docs: "1
    CPU for scheduling and 0 CPU for running"), so any number of them fit on a node whose CPUs
    are all taken. ``CPU: 0`` with one unit of the hidden ``CPU_NODE`` (which only nodes with
    CPUs have, a practically endless supply) keeps it to such nodes without taking a CPU."""
    wanted = {"CPU": 0.0, CPU_NODE: 1.0}
    if options.get("memory"):
        wanted["memory"] = float(options["memory"])
    return wanted


def clean(values: dict[str, float]) -> dict[str, float]:
    """Round away float drift and drop zero entries, as Ray reports resources."""
    out = {}
    for name, value in values.items():
        if name == CPU_NODE:
            continue
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
    if not wanted or backend.client is None:
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
            [without_hidden(node) for node in _node_cache["nodes"]])
