"""Lineage reconstruction: an object whose only copy is lost with its node is made again by
running the task that made it, within that task's ``max_retries``; past them (or with
``max_retries=0``, or lineage disabled cluster-wide) ``get`` raises
``ObjectReconstructionFailedError`` and a task given the object fails with a ``RayTaskError``.
Items of a streaming generator are made again by running the generator again. Nodes are
really killed (``cluster_utils``); the same tests run on Ray."""
from __future__ import annotations

import importlib
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

pytestmark = pytest.mark.timeout(400)

SIZE = 2_000_000  # bytes: stored in the object store on Ray (not inlined in its owner)
# a removed node is found dead within 10 s; a loaded head's own raylet must not be (on Ray, a
# driver whose raylet was taken for dead exits: a CI run lost its whole pytest process so)
CONFIG = {"health_check_initial_delay_ms": 5000, "health_check_period_ms": 100,
          "health_check_failure_threshold": 100, "object_timeout_milliseconds": 200}


@pytest.fixture
def cluster(ray_fresh: Any) -> Iterator[tuple[Any, Any]]:
    """A head with no CPUs (it runs no task) and the driver attached; tests add nodes."""
    ray = ray_fresh
    made = importlib.import_module(f"{ray.__name__}.cluster_utils").Cluster()
    made.add_node(num_cpus=0, _system_config=dict(CONFIG))
    try:
        ray.init(address=made.address)
        yield ray, made
    finally:
        ray.shutdown()
        made.shutdown()


def _replace(cluster: Any, node: Any) -> Any:
    """Kill ``node`` at once and start another with the same resources."""
    cluster.remove_node(node, allow_graceful=False)
    return cluster.add_node(num_cpus=1, resources={"doomed": 1})


def test_a_lost_result_is_made_again_while_retries_are_left(cluster: Any) -> None:
    ray, nodes = cluster
    node = nodes.add_node(num_cpus=1, resources={"doomed": 1})
    nodes.wait_for_nodes()

    @ray.remote(max_retries=1, resources={"doomed": 1})
    def make():
        return np.full(SIZE, 7, dtype=np.uint8)

    @ray.remote
    def total(x):
        return int(x.sum())

    ref = make.remote()
    assert ray.get(total.remote(ref), timeout=120) == 7 * SIZE
    node = _replace(nodes, node)
    # (the driver gets no copy of its own: Ray would keep that one on the head node)
    assert ray.get(total.remote(ref), timeout=180) == 7 * SIZE  # its one retry
    _replace(nodes, node)
    with pytest.raises(ray.exceptions.ObjectReconstructionFailedError) as info:
        ray.get(ref, timeout=180)  # no retry left
    assert "MAX_ATTEMPTS_EXCEEDED" in str(info.value)


def test_a_task_without_retries_is_not_run_again(cluster: Any) -> None:
    ray, nodes = cluster
    node = nodes.add_node(num_cpus=1, resources={"doomed": 1})
    nodes.add_node(num_cpus=1)
    nodes.wait_for_nodes()

    @ray.remote(max_retries=0, resources={"doomed": 1})
    def make():
        return np.zeros(SIZE, dtype=np.uint8)

    @ray.remote(num_cpus=1)
    def size(x):
        return len(x)

    ref = make.remote()  # read where it is made only: no copy elsewhere
    assert ray.get(size.options(resources={"doomed": 1}).remote(ref), timeout=120) == SIZE
    _replace(nodes, node)
    with pytest.raises(ray.exceptions.RayTaskError) as info:
        ray.get(size.remote(ref), timeout=180)  # a task given the lost object
    assert "ObjectReconstructionFailedError" in str(info.value)
    with pytest.raises(ray.exceptions.ObjectReconstructionFailedError) as lost:
        ray.get(ref, timeout=180)
    assert isinstance(lost.value, ray.exceptions.ObjectLostError)


def test_a_chain_of_tasks_is_made_again_from_its_start(cluster: Any) -> None:
    ray, nodes = cluster
    node = nodes.add_node(num_cpus=1, resources={"doomed": 1})
    nodes.wait_for_nodes()

    @ray.remote(resources={"doomed": 1})
    def make():
        return np.ones(SIZE, dtype=np.uint8)

    @ray.remote(resources={"doomed": 1})
    def double(x):
        return x * 2

    @ray.remote(resources={"doomed": 1})
    def last(x):
        return int(x[-1])

    ref = make.remote()
    for _ in range(4):
        ref = double.remote(ref)  # only the last result is still referenced
    assert ray.get(last.remote(ref), timeout=120) == 16
    _replace(nodes, node)
    assert ray.get(last.remote(ref), timeout=240) == 16


def test_lost_items_of_a_streaming_generator_are_made_again(cluster: Any) -> None:
    ray, nodes = cluster
    node = nodes.add_node(num_cpus=1, resources={"doomed": 1})
    nodes.wait_for_nodes()

    @ray.remote(max_retries=2, resources={"doomed": 1})
    def numbers(count):
        for i in range(count):
            yield np.full(SIZE, i, dtype=np.uint8)

    @ray.remote
    def first(x):
        return int(x[0])

    gen = numbers.remote(4)
    refs = [next(gen) for _ in range(2)]
    assert ray.get([first.remote(r) for r in refs], timeout=120) == [0, 1]
    _replace(nodes, node)
    refs += list(gen)
    assert ray.get([first.remote(r) for r in refs], timeout=240) == [0, 1, 2, 3]


def test_no_lineage_reconstruction_when_disabled(ray_fresh: Any) -> None:
    ray = ray_fresh
    nodes = importlib.import_module(f"{ray.__name__}.cluster_utils").Cluster()
    nodes.add_node(num_cpus=0, _system_config={**CONFIG, "lineage_pinning_enabled": False})
    try:
        ray.init(address=nodes.address)
        node = nodes.add_node(num_cpus=1, resources={"doomed": 1})
        nodes.wait_for_nodes()

        @ray.remote(resources={"doomed": 1})  # retries left, but no lineage kept
        def make():
            return np.zeros(SIZE, dtype=np.uint8)

        @ray.remote(resources={"doomed": 1})
        def size(x):
            return len(x)

        ref = make.remote()
        assert ray.get(size.remote(ref), timeout=120) == SIZE
        _replace(nodes, node)
        with pytest.raises(ray.exceptions.ObjectReconstructionFailedError):
            ray.get(ref, timeout=180)
    finally:
        ray.shutdown()
        nodes.shutdown()


def test_a_cancelled_task_is_not_run_again_to_rebuild_its_result(cluster: Any) -> None:
    ray, nodes = cluster
    node = nodes.add_node(num_cpus=1, resources={"doomed": 1})
    nodes.wait_for_nodes()

    @ray.remote(resources={"doomed": 1})
    def make():
        return np.zeros(SIZE, dtype=np.uint8)

    @ray.remote
    def read(refs):
        return len(ray.get(refs[0]))

    ref = make.remote()
    ray.wait([ref], timeout=120, fetch_local=False)
    ray.cancel(ref)  # it finished: nothing happens to it, but it is not run again
    _replace(nodes, node)
    with pytest.raises(ray.exceptions.ObjectReconstructionFailedError):
        ray.get(read.remote([ref]), timeout=180)
