"""A worker registers with its node labels (``raylike._api.labels``): a Dask preload
(``--preload raylike._dask.worker.labels`` for ``raylike start``'s workers;
``raylike._dask.cluster.preload`` calls it for the processes raylike starts)."""
from __future__ import annotations

from typing import Any

from raylike._api.labels import EXTRA_KEY, own_labels, tpu_labels


async def dask_setup(worker: Any) -> None:
    """Put this worker's labels in what it tells the scheduler as it registers (Ray's TPU
    defaults where it has TPUs, then its own)."""
    state = getattr(worker, "state", None)
    labels = {**tpu_labels(dict(getattr(state, "total_resources", None) or {})),
              **own_labels()}
    startup = getattr(worker, "startup_information", None)
    if isinstance(startup, dict):  # a worker (the scheduler has none)
        startup[EXTRA_KEY] = lambda _worker: labels
