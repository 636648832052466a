"""A driver on the worker's host gets a task's result from the node as soon as it is made
(``_local_objects.watch``), before Dask has reported the task done; everything Dask says later
agrees with it, and whatever the node cannot hand over still comes the Dask way."""
from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

import raylike as ray
from raylike._api.serialization import loads
from raylike._dask.client import local_objects as _local_objects

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def cluster() -> Iterator[None]:
    ray.init(num_cpus=2, include_dashboard=False)
    backend = ray._runtime.driver().backend
    deadline = time.monotonic() + 30
    while not backend._local_lanes():  # the driver's lane opens in the background at init
        assert time.monotonic() < deadline
        time.sleep(0.05)
    yield
    ray.shutdown()


@pytest.fixture(autouse=True)
def _raylike_shutdown() -> Iterator[None]:  # the module's cluster stays up between tests
    yield


@ray.remote
def slow(value: Any, seconds: float = 0.2) -> Any:
    time.sleep(seconds)
    return value


@ray.remote
def fails() -> None:
    time.sleep(0.1)
    raise ValueError("boom")


@ray.remote
def two() -> tuple[int, int]:
    time.sleep(0.1)
    return 1, 2


@ray.remote
def nested() -> list[Any]:
    return [ray.put("inner")]


def test_a_running_tasks_result_comes_from_its_node(cluster: None) -> None:
    # whether Dask's report or the node's comes first is a race the node nearly always wins;
    # so the node's answer is checked on the lane itself, and get only for its result
    [lane] = ray._runtime.driver().backend._local_lanes()
    ref = slow.remote("x", 1.0)
    [answer] = lane.watch([ref._key])
    status, frames = answer.result(timeout=60)
    assert status == "ok" and loads(frames) == "x"
    assert ray.get(ref) == "x"
    refs = [slow.remote(i, 0.1) for i in range(8)]
    assert ray.get(refs) == list(range(8))


def test_large_results_come_through_shared_memory(cluster: None) -> None:
    ref = slow.remote(np.arange(3_000_000, dtype=np.float64))
    arr = ray.get(ref)
    assert arr.shape == (3_000_000,) and arr[-1] == 2_999_999
    assert not arr.flags.writeable  # a mapping of the shared memory, by either way


def test_what_the_node_cannot_hand_over_comes_the_dask_way(cluster: None) -> None:
    with pytest.raises(ray.exceptions.RayTaskError, match="boom"):
        ray.get(fails.remote())
    a, b = two.options(num_returns=2).remote()
    assert ray.get([a, b]) == [1, 2] and not a._delivered
    [inner] = ray.get(nested.remote())
    assert ray.get(inner) == "inner"
    many = [slow.remote(i, 0.05) for i in range(_local_objects.WATCH_LIMIT + 1)]
    assert ray.get(many) == list(range(len(many)))
    assert not any(r._delivered for r in many)  # a large batch: throughput over latency
