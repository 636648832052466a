"""Objects are freed once no ref to them is left anywhere."""
from __future__ import annotations

import gc
import time

import numpy as np
import pytest

import raylike as ray


def _held_bytes() -> int:
    client = ray._runtime.driver().client  # raylike-only test: read the workers' stores

    def nbytes(dask_worker):
        return sum(getattr(v, "nbytes", 0) for v in dask_worker.data.values())

    return sum(client.run(nbytes).values())


def _held_keys() -> list[str]:
    client = ray._runtime.driver().client

    def keys(dask_worker):
        return [str(k) for k, v in dask_worker.data.items() if getattr(v, "nbytes", 0) > 1000]

    return [k for ks in client.run(keys).values() for k in ks]


def _wait_below(limit: int, timeout: float = 30.0) -> int:
    deadline = time.monotonic() + timeout
    held = _held_bytes()
    while held > limit and time.monotonic() < deadline:
        time.sleep(0.1)
        gc.collect()
        held = _held_bytes()
    return held


@pytest.mark.timeout(120)
def test_memory_returns_to_baseline_when_refs_are_dropped():
    ray.init(num_cpus=2, include_dashboard=False)

    @ray.remote
    def make(n):
        return np.ones(n)

    @ray.remote
    def total(array):
        return float(array.sum())

    baseline = _held_bytes()
    puts = [ray.put(np.ones(6_250_000)) for _ in range(14)]  # 14 x 50 MB
    made = [make.remote(6_250_000) for _ in range(6)]  # 6 x 50 MB, made by tasks
    assert ray.get([total.remote(r) for r in puts + made]) == [6_250_000.0] * 20
    # the puts (700 MB) are held by the workers; the tasks' results (leased tasks) by the
    # driver, in the shared memory their answers came in
    assert _held_bytes() >= baseline + 700_000_000
    del puts, made
    assert _wait_below(baseline + 1_000_000) <= baseline + 1_000_000


@pytest.mark.timeout(120)
def test_a_driver_loop_creating_and_dropping_refs_does_not_grow():
    ray.init(num_cpus=2, include_dashboard=False)

    @ray.remote
    def double(array):
        return array * 2

    for _ in range(30):
        ref = double.remote(ray.put(np.ones(500_000)))  # 4 MB in, 4 MB out
        assert float(ray.get(ref)[0]) == 2.0
    del ref
    held = _wait_below(1_000_000)
    assert held <= 1_000_000, f"{held} bytes still held: {_held_keys()}"


@pytest.mark.timeout(120)
def test_a_long_lived_actor_and_task_keep_only_the_objects_they_still_refer_to():
    """An actor's (or a task's) process refers to objects by bare keys its worker holds; a key
    none of its refs names any more is released with its next request, so a loop that puts
    and drops arrays inside an actor or a task does not keep them all until it ends."""
    ray.init(num_cpus=2, include_dashboard=False)

    @ray.remote
    def loop(n):
        for _ in range(n):
            ray.get(ray.put(np.ones(1_000_000)))  # 8 MB each, dropped at once
        return len(_kept)

    _kept: list = []

    @ray.remote
    class Looper:
        def __init__(self):
            self.kept = ray.put(np.ones(1_000_000))  # still referred to: stays

        def run(self, n):
            for _ in range(n):
                ray.get(ray.put(np.ones(1_000_000)))
            return float(ray.get(self.kept).sum())

    baseline = _held_bytes()
    assert ray.get(loop.remote(40), timeout=60) == 0
    looper = Looper.remote()
    assert ray.get(looper.run.remote(40), timeout=60) == 1_000_000.0
    assert ray.get(looper.run.remote(1), timeout=60) == 1_000_000.0  # its releases went
    assert _wait_below(baseline + 40_000_000) <= baseline + 40_000_000  # not 80 x 8 MB
