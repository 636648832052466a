"""Ray's node labels and label selectors, on Dask workers.

A node's labels: Ray's defaults (``ray.io/node-id``; ``ray.io/accelerator-type`` where the
node declares an accelerator type; ``ray.io/market-type``, ``ray.io/node-group``,
``ray.io/availability-zone``, ``ray.io/availability-region`` from Ray's ``RAY_NODE_*``
variables), the node's own (``ray.init(labels=)``, ``Cluster.add_node(labels=)``,
``raylike start --labels``: the worker process reads them as ``RAYLIKE_NODE_LABELS``), then
Ray's ``RAY_OVERRIDE_LABELS`` (JSON), later ones winning. The worker hands them to the
scheduler as it registers (Dask's ``startup_information``: ``raylike._dask.worker.labels``), so they
appear in each worker's entry of ``scheduler_info``.

A selector is a list of conditions ``(key, op, values)``, ``op`` one of ``in``, ``not_in``
(true where the label is absent), ``exists``, ``not_exists``: a ``label_selector``'s values
``"v"``, ``"!v"``, ``"in(a, b)"``, ``"!in(a, b)"``, and ``NodeLabelSchedulingStrategy``'s
``In``/``NotIn``/``Exists``/``DoesNotExist``. A task or actor with a hard selector carries it
in its Dask worker restrictions as a :func:`sentinel` no worker has; the scheduler's label
plugin (``_dask/scheduler/labels.py``) adds the addresses of the workers that match, when the task
arrives and whenever a worker joins (see docs/design.md, "Node labels").
"""
from __future__ import annotations

import json
import os
from typing import Any

__all__ = ["NODE_ID", "conditions", "matches", "node_labels", "parse_cli_labels",
           "sentinel", "strategy_conditions"]

NODE_ID = "ray.io/node-id"
ACCELERATOR = "ray.io/accelerator-type"
EXTRA_KEY = "raylike_labels"  # the key of a worker's labels in its ``scheduler_info`` entry
_SENTINEL = "raylike-labels:"  # never an address: Dask keeps it as a host no worker has
_ENV_DEFAULTS = {"RAY_NODE_MARKET_TYPE": "ray.io/market-type",
                 "RAY_NODE_TYPE_NAME": "ray.io/node-group",
                 "RAY_NODE_ZONE": "ray.io/availability-zone",
                 "RAY_NODE_REGION": "ray.io/availability-region"}

_TPU_ENV = {"TPU_NAME": "ray.io/tpu-slice-name", "TPU_WORKER_ID": "ray.io/tpu-worker-id",
            "TPU_TOPOLOGY": "ray.io/tpu-topology", "TPU_ACCELERATOR_TYPE": "ray.io/tpu-pod-type"}

Condition = tuple[str, str, tuple[str, ...]]


# -- a node's labels ------------------------------------------------------------------------
def check_node_labels(labels: Any, syntax: bool = True) -> dict[str, str]:
    """Ray's checks of a node's labels (a dict of ``str`` keys and values; with ``syntax``,
    as ``ray start`` checks them, Kubernetes' syntax): ``ValueError``; returns them as a plain
    dict. (``init(labels=)`` and ``Cluster.add_node(labels=)`` check no syntax in Ray 2.60, and
    a value that is no string fails its node's start-up: here a ``ValueError`` at once.)"""
    from raylike._private.label_utils import validate_label_key, validate_label_value

    if not isinstance(labels, dict):
        raise ValueError("The format after deserialization is not a key-value pair map")
    for key, value in labels.items():
        if not isinstance(key, str):
            raise ValueError("The key is not string type.")
        if not isinstance(value, str):
            raise ValueError(f'The value of the "{key}" is not string type')
        if not syntax:
            continue
        error = validate_label_key(key)
        if error:
            raise ValueError(error)
        validate_label_value(value)
    return dict(labels)


def parse_cli_labels(text: str) -> dict[str, str]:
    """``ray start --labels``: ``k1=v1,k2=v2`` (surrounding quotes dropped), else a JSON
    object; ``ValueError`` if it is neither: as Ray's, the error of the first reading (the
    JSON one's is not shown)."""
    text = text[1:-1] if len(text) > 1 and text[0] == text[-1] == '"' else text
    try:
        labels: dict[str, str] = {}
        for pair in filter(None, text.split(",")) if text else ():
            parts = pair.split("=")
            if len(parts) != 2:
                raise ValueError("Label string is not a key-value pair.")
            labels[parts[0].strip()] = parts[1].strip()
        return check_node_labels(labels)
    except ValueError as first:
        try:
            parsed = json.loads(text)
        except ValueError:
            raise first from None
        if not isinstance(parsed, dict):
            raise first from None
        if any(str(k).startswith("ray.io/") for k in parsed):  # Ray's are reserved
            raise first from None
        try:
            return check_node_labels(parsed, syntax=False)  # as Ray's: types and prefix only
        except ValueError:
            raise first from None


def env_for(labels: dict[str, str] | None) -> dict[str, str]:
    """The environment that gives a worker process ``labels``."""
    from raylike._api import config as _config

    return {_config.SETTINGS["node_labels"].env: json.dumps(labels)} if labels else {}


def own_labels() -> dict[str, str]:
    """This worker process's labels, from its environment (see the module's doc)."""
    from raylike._api import config as _config

    labels = {label: os.environ[name] for name, label in _ENV_DEFAULTS.items()
              if os.environ.get(name)}
    for text in (_config.raw("node_labels"), os.environ.get("RAY_OVERRIDE_LABELS", "")):
        if text:
            try:
                labels.update(check_node_labels(json.loads(text), syntax=False))
            except ValueError:  # Ray logs a bad override and goes on
                import logging

                logging.getLogger(__name__).exception("bad node labels: %s", text)
    return labels


def tpu_accelerator_type() -> str | None:
    """Ray's accelerator type of a TPU host: ``TPU-`` and the generation of
    ``TPU_ACCELERATOR_TYPE`` (``v6e-32`` -> ``TPU-V6E``); None where it is not set."""
    pod_type = os.environ.get("TPU_ACCELERATOR_TYPE", "")
    return f"TPU-{pod_type.split('-')[0].upper()}" if pod_type else None


def tpu_labels(resources: dict[str, Any]) -> dict[str, str]:
    """Ray's default labels of a node with TPUs, from the variables of its TPU VM: the
    accelerator type, and the slice, worker id, topology and pod type used to place SPMD
    workloads on one slice."""
    if not resources.get("TPU"):
        return {}
    found = {ACCELERATOR: tpu_accelerator_type() or ""}
    for name, label in _TPU_ENV.items():
        found[label] = os.environ.get(name, "")
    return {key: value for key, value in found.items() if value}


def node_labels(address: str, info: dict[str, Any]) -> dict[str, str]:
    """The labels of the worker at ``address`` (its ``scheduler_info`` entry ``info``)."""
    from raylike._api import ids as _ids
    from raylike._api import resources as _resources

    labels: dict[str, str] = {}
    for name in info.get("resources") or {}:
        if name.startswith(_resources.ACCELERATOR_PREFIX):
            labels[ACCELERATOR] = name[len(_resources.ACCELERATOR_PREFIX):]
    labels.update(info.get(EXTRA_KEY) or {})
    labels[NODE_ID] = _ids.node_id(address)
    return labels


# -- selectors ------------------------------------------------------------------------------
def conditions(selector: dict[str, str] | None) -> list[Condition]:
    """A ``label_selector`` as conditions, read as Ray's raylet reads it: ``in(a,b)``'s
    values are split at each comma and kept as they are (``"in(a, b)"``'s second value is
    ``" b"``, which no valid label equals), and any other text is one value."""
    out: list[Condition] = []
    for key, value in (selector or {}).items():
        text = value or ""
        negated = text.startswith("!")
        text = text[1:] if negated else text
        values = tuple(text[3:-1].split(",")) if text.startswith("in(") and text.endswith(")") \
            else (text,)
        out.append((key, "not_in" if negated else "in", values))
    return out


def strategy_conditions(expressions: list[Any]) -> list[Condition]:
    """``NodeLabelSchedulingStrategy``'s ``hard`` or ``soft`` as conditions."""
    from raylike.util import scheduling_strategies as s

    out: list[Condition] = []
    for expr in expressions:
        op = expr.operator
        if isinstance(op, s.In):
            out.append((expr.key, "in", tuple(op.values)))
        elif isinstance(op, s.NotIn):
            out.append((expr.key, "not_in", tuple(op.values)))
        else:
            out.append((expr.key, "exists" if isinstance(op, s.Exists) else "not_exists", ()))
    return out


def matches(labels: dict[str, str], conds: list[Condition]) -> bool:
    """Whether a node with ``labels`` satisfies every condition."""
    for key, op, values in conds:
        value = labels.get(key)
        ok = (value is not None and value in values if op == "in"
              else value is None or value not in values if op == "not_in"
              else (value is not None) == (op == "exists"))
        if not ok:
            return False
    return True


def sentinel(conds: list[Condition]) -> str:
    """The worker restriction that stands for ``conds`` (no worker has it)."""
    return _SENTINEL + json.dumps([[k, op, list(v)] for k, op, v in conds])


def from_sentinel(text: Any) -> list[Condition] | None:
    """The conditions of a :func:`sentinel`, or None for anything else."""
    if not isinstance(text, str) or not text.startswith(_SENTINEL):
        return None
    try:
        return [(str(k), str(op), tuple(v)) for k, op, v in json.loads(text[len(_SENTINEL):])]
    except (ValueError, TypeError):
        return None
