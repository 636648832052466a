"""Concrete GPU ids for the tasks and actors of one node.

Dask counts ``GPU`` as a number; Ray also gives each task the ids of its GPUs. The node keeps a
capacity of 1.0 per id: a whole-GPU request leases that many free ids, a fractional one is packed
onto the busiest id that still has room (as Ray packs fractions).
"""
from __future__ import annotations

import math
import os
import threading


class GpuIds:
    """The GPU ids of one node and what is leased on each."""

    def __init__(self, ids: list[str]) -> None:
        self._free = {gpu: 1.0 for gpu in ids}
        self._lock = threading.Lock()

    @classmethod
    def for_worker(cls, count: float) -> GpuIds:
        """Ids for a worker with ``count`` GPUs: its ``CUDA_VISIBLE_DEVICES`` where that names
        enough devices, else ``0..count-1``."""
        n = int(math.floor(count))
        visible = [v.strip() for v in os.environ.get("CUDA_VISIBLE_DEVICES", "").split(",")
                   if v.strip()]
        return cls(visible[:n] if len(visible) >= n else [str(i) for i in range(n)])

    def lease(self, amount: float) -> list[str]:
        """Ids for a request of ``amount`` GPUs (Dask has checked that they fit)."""
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
