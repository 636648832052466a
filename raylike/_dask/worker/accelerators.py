"""Concrete accelerator ids for the tasks and actors of one node.

Dask counts ``GPU`` (and ``neuron_cores``, ``TPU``, ``HPU``, ``NPU``) as a number; Ray also gives
each task the ids of its accelerators (``get_accelerator_ids()``, ``get_gpu_ids()``) and names
them in the process's variable (``CUDA_VISIBLE_DEVICES``, ...: ``raylike._process.worker_env``).
The node keeps a capacity of 1.0 per id: a whole request leases that many free ids, a fractional
one is packed onto the busiest id that still has room (as Ray packs fractions).
"""
from __future__ import annotations

import math
import os
import threading

from raylike._process.worker_env import VISIBLE


class IdPool:
    """The ids of one accelerator resource of a node and what is leased on each."""

    def __init__(self, ids: list[str]) -> None:
        self._free = {gpu: 1.0 for gpu in ids}
        self._lock = threading.Lock()

    @classmethod
    def for_worker(cls, count: float, variable: str) -> IdPool:
        """Ids for a worker with ``count`` devices: those its ``variable`` (its
        ``CUDA_VISIBLE_DEVICES``, ...) names where that names enough, else ``0..count-1``."""
        n = int(math.floor(count))
        visible = [v.strip() for v in os.environ.get(variable, "").split(",") if v.strip()]
        return cls(visible[:n] if len(visible) >= n else [str(i) for i in range(n)])

    def lease(self, amount: float) -> list[str]:
        """Ids for a request of ``amount`` devices (Dask has checked that they fit)."""
        if amount <= 0 or not self._free:
            return []
        with self._lock:
            if amount < 1:
                fits = [g for g, room in self._free.items() if room + 1e-9 >= amount]
                if not fits:
                    return []
                gpu = min(fits, key=lambda g: self._free[g])  # best fit
                self._free[gpu] -= amount
                return [gpu]
            whole = [g for g, room in self._free.items() if room >= 1 - 1e-9][:int(amount)]
            for gpu in whole:
                self._free[gpu] = 0.0
            return whole

    def release(self, ids: list[str], amount: float | None = None) -> None:
        """Give back a lease made by :meth:`lease` (``amount`` for a fractional one)."""
        with self._lock:
            for gpu in ids:
                share = 1.0 if amount is None or amount >= 1 else amount
                self._free[gpu] = min(1.0, self._free[gpu] + share)


class AcceleratorIds:
    """Every accelerator resource of a node that has ids (Ray's accelerator resources)."""

    def __init__(self, totals: dict[str, float]) -> None:
        self.pools = {name: IdPool.for_worker(totals[name], variable)
                      for name, variable in VISIBLE.items() if totals.get(name, 0) >= 1}

    def lease(self, request: dict[str, float]) -> dict[str, list[str]]:
        """The ids for a task or actor asking for ``request`` (resource -> amount)."""
        return {name: pool.lease(request[name]) for name, pool in self.pools.items()
                if request.get(name, 0) > 0}

    def release(self, leased: dict[str, list[str]], request: dict[str, float]) -> None:
        """Give back what :meth:`lease` gave for ``request``."""
        for name, ids in leased.items():
            self.pools[name].release(ids, request.get(name))
