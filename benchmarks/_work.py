"""The work every engine runs: the same functions and actor class for all of them.

Workers cannot import this module (it is not installed); the child ships it by value
(``_engines.ship_by_value``), as it would ship code defined in a script.
"""
from __future__ import annotations

import time
from typing import Any

import numpy as np


def inc(x: int) -> int:
    """The trivial task."""
    return x + 1


def spin(loops: int) -> int:
    """The CPU-bound task: a pure-Python loop that holds the GIL throughout."""
    total = 0
    for i in range(loops):
        total += i % 7
    return total


def nap(seconds: float) -> float:
    """A task that occupies a CPU slot without using it (to start every worker up)."""
    time.sleep(seconds)
    return seconds


class Counter:
    """The actor: a counter whose ``incr`` returns its new value."""

    def __init__(self) -> None:
        self.value = 0

    def incr(self) -> int:
        self.value += 1
        return self.value


def make_array(megabytes: int) -> np.ndarray:
    """A float64 array of ``megabytes`` * 10**6 bytes with non-trivial content."""
    return np.arange(megabytes * 10**6 // 8, dtype=np.float64)


def check_array(out: Any, expected: np.ndarray) -> None:
    """Fail loudly if a transfer returned something else."""
    if out.shape != expected.shape or out[-1] != expected[-1] or out[1] != expected[1]:
        raise AssertionError("array came back different")


def partition(values: list[int]) -> tuple[list[int], int, list[int]]:
    """Quicksort's split of ``values`` around its last element (Ray's nested-tasks example)."""
    pivot = values[-1]
    lesser = [v for v in values[:-1] if v <= pivot]
    greater = [v for v in values[:-1] if v > pivot]
    return lesser, pivot, greater


def sort_tree_ray(ray: Any, leaf: int) -> Any:
    """A remote quicksort: each task splits its list and passes the halves to two child tasks,
    then blocks in ``ray.get`` on them (nested tasks with large arguments)."""

    @ray.remote
    def quick_sort(values: list[int]) -> list[int]:
        if len(values) <= leaf:
            return sorted(values)
        lesser, pivot, greater = partition(values)
        left, right = quick_sort.remote(lesser), quick_sort.remote(greater)
        return ray.get(left) + [pivot] + ray.get(right)

    return quick_sort


def sort_tree_dask(values: list[int], leaf: int) -> list[int]:
    """The same tree on raw Dask: child tasks from inside a task through ``worker_client``."""
    from distributed import worker_client

    if len(values) <= leaf:
        return sorted(values)
    lesser, pivot, greater = partition(values)
    with worker_client() as client:
        left = client.submit(sort_tree_dask, lesser, leaf, pure=False)
        right = client.submit(sort_tree_dask, greater, leaf, pure=False)
        return list(client.gather(left)) + [pivot] + list(client.gather(right))


def make_unsorted(n: int) -> list[int]:
    """``n`` pseudo-random integers below 10**6, the same list every run."""
    return np.random.default_rng(0).integers(0, 1_000_000, n).tolist()
