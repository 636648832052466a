"""Raw Dask doing the microbenchmark figures that have a direct Dask equivalent: small and large
puts (``scatter``), small gets (``Future.result``), tasks one at a time and in batches
(``submit`` + ``gather``). Same cluster as the main suite's Dask engine."""
from __future__ import annotations

from collections.abc import Callable

import _micro_work
import numpy as np
from _engines import DaskEngine
from _figures import MAIN_CPUS
from _micro_figures import MicroSizes

Workload = tuple[Callable[[], object], Callable[[], None]]


def nothing() -> None:
    """No clean-up."""


class DaskBench:
    """``LocalCluster`` of single-threaded worker processes, a client talking to them directly."""

    def __init__(self, sizes: MicroSizes) -> None:
        self.engine = DaskEngine()
        import cloudpickle

        cloudpickle.register_pickle_by_value(_micro_work)
        self.s = sizes

    def start(self) -> None:
        self.engine.start(MAIN_CPUS)

    def version(self) -> str:
        return self.engine.version()

    def shutdown(self) -> None:
        self.engine.shutdown()

    def batch(self, n: int) -> list[object]:
        client = self.engine.client
        return list(client.gather([client.submit(_micro_work.small_value, pure=False)
                                   for _ in range(n)]))

    def burst(self, n: int) -> None:
        values = self.batch(n)
        if len(values) != n or any(v != b"ok" for v in values):
            raise AssertionError("the burst returned wrong results")

    def workload(self, name: str) -> Workload | None:
        """The timed call of the figure called ``name`` (None: Dask has no direct equivalent)."""
        client, s = self.engine.client, self.s
        if name == "single client get calls (Plasma Store)":
            future = client.scatter(0, direct=True, hash=False)
            return future.result, nothing
        if name == "single client put calls (Plasma Store)":
            return (lambda: client.scatter(0, direct=True, hash=False)), nothing
        if name == "single client put gigabytes":
            arr = np.zeros(s.put_elements, dtype=np.int64)
            return (lambda: client.scatter(arr, direct=True, hash=False)), nothing
        if name == "single client tasks and get batch":
            return (lambda: self.batch(s.batch)), nothing
        if name == "single client tasks sync":
            return (lambda: client.submit(_micro_work.small_value, pure=False).result()), nothing
        if name == "single client tasks async":
            return (lambda: self.batch(s.batch)), nothing
        return None
