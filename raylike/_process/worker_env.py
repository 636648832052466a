"""The environment variables Ray sets in the process that runs a task or an actor.

* ``OMP_NUM_THREADS``: where the process's environment does not set it (the user's, or the
  runtime environment's ``env_vars``), it is the task's CPUs rounded down, at least 1 (an actor
  that asked for no CPUs gets 1), so that numeric libraries do not start a thread per core in
  every worker.
* ``CUDA_VISIBLE_DEVICES``: the ids of the task's GPUs. A task given none leaves the variable
  as the process had it (Ray 2.60), unless ``RAY_ACCEL_ENV_VAR_OVERRIDE_ON_ZERO`` is true (then
  it is set to ``""``, Ray's earlier behaviour); ``RAY_EXPERIMENTAL_NOSET_CUDA_VISIBLE_DEVICES``
  true leaves it alone always.

A task's values are undone when it ends, since its process is reused; an actor's last as long
as its process.
"""
from __future__ import annotations

import math
import os
from typing import Any

OMP = "OMP_NUM_THREADS"
CUDA = "CUDA_VISIBLE_DEVICES"
NOSET_CUDA = "RAY_EXPERIMENTAL_NOSET_CUDA_VISIBLE_DEVICES"
# Ray's accelerator resources whose ids a node hands out, and the variable naming a process's
# ids of each (Ray's accelerator managers); ``RAY_EXPERIMENTAL_NOSET_<variable>`` leaves one alone
VISIBLE = {"GPU": CUDA, "neuron_cores": "NEURON_RT_VISIBLE_CORES", "TPU": "TPU_VISIBLE_CHIPS",
           "HPU": "HABANA_VISIBLE_MODULES", "NPU": "ASCEND_RT_VISIBLE_DEVICES"}
OVERRIDE_ON_ZERO = "RAY_ACCEL_ENV_VAR_OVERRIDE_ON_ZERO"


def _flag(name: str) -> bool:
    """Ray's reading of a boolean environment variable: ``1`` or ``true`` (any case)."""
    value = os.environ.get(name, "")
    return value == "1" or value.lower() == "true"


def apply(resources: dict[str, float], gpu_ids: list[str],
          accelerator_ids: dict[str, list[str]] | None = None) -> dict[str, str | None]:
    """Set the variables for a task or actor holding ``resources``, ``gpu_ids`` and the ids of
    its other accelerators; return the values they replaced (``None``: unset), for
    :func:`restore`."""
    saved: dict[str, str | None] = {}
    if OMP not in os.environ:
        saved[OMP] = None
        cpus = resources.get("CPU") or 1
        os.environ[OMP] = str(max(math.floor(cpus), 1))
    if not _flag(NOSET_CUDA) and (gpu_ids or _flag(OVERRIDE_ON_ZERO)):
        saved[CUDA] = os.environ.get(CUDA)
        os.environ[CUDA] = ",".join(gpu_ids)
    for name, ids in (accelerator_ids or {}).items():
        variable = VISIBLE.get(name)
        if name == "GPU" or variable is None or _flag(f"RAY_EXPERIMENTAL_NOSET_{variable}"):
            continue
        if ids or _flag(OVERRIDE_ON_ZERO):
            saved[variable] = os.environ.get(variable)
            os.environ[variable] = ",".join(ids)
    return saved


def restore(saved: dict[str, Any]) -> None:
    """Undo :func:`apply`."""
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
