"""Where work that needs resources goes in a cluster of several nodes: to a node that has them
free (not to one whose GPUs are taken, or reserved by a placement group, while another node has
them free), and never to a node where an actor holds the GPUs it would need."""
from __future__ import annotations

import importlib
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

WAIT = 120  # seconds: a loaded machine starts nodes and processes slowly


@pytest.fixture
def gpu_cluster(ray_fresh: Any, request: pytest.FixtureRequest) -> Iterator[tuple[Any, Any]]:
    ray = ray_fresh
    nodes, gpus, cpus = request.param
    cluster = importlib.import_module(f"{ray.__name__}.cluster_utils").Cluster()
    try:
        for _ in range(nodes):
            cluster.add_node(num_cpus=cpus, num_gpus=gpus)
        ray.init(address=cluster.address)
        cluster.wait_for_nodes()
        yield ray, cluster
    finally:
        ray.shutdown()
        cluster.shutdown()


def _located(ray: Any, gpus: int) -> Any:
    @ray.remote(num_gpus=gpus)
    class Located:
        def where(self) -> tuple[str, tuple[int, ...]]:
            return (ray.get_runtime_context().get_node_id(),
                    tuple(int(i) for i in ray.get_gpu_ids()))

    return Located


@pytest.mark.parametrize("gpu_cluster", [(3, 3, 4)], indirect=True)
def test_a_waiting_actor_does_not_hide_a_free_gpu(gpu_cluster):
    ray, _ = gpu_cluster
    Two, One = _located(ray, 2), _located(ray, 1)
    pairs = [Two.remote() for _ in range(3)]
    placed = ray.get([a.where.remote() for a in pairs], timeout=WAIT)
    assert len({node for node, _ in placed}) == 3  # one two-GPU actor on each node
    waiting = Two.remote()  # no node has two GPUs free: it waits
    pending = waiting.where.remote()
    ones = [One.remote() for _ in range(3)]  # each node has one GPU free
    singles = ray.get([a.where.remote() for a in ones], timeout=WAIT)
    assert Counter(node for node, _ in singles) == Counter(node for node, _ in placed)
    for node, ids in singles:
        taken = {i for n, pair in placed if n == node for i in pair}
        assert not taken & set(ids)
    ready, _ = ray.wait([pending], timeout=0.5)
    assert ready == []


@pytest.mark.parametrize("gpu_cluster", [(2, 2, 4)], indirect=True)
def test_two_gpu_tasks_avoid_the_node_where_an_actor_holds_a_gpu(gpu_cluster):
    ray, _ = gpu_cluster
    holder = _located(ray, 1).remote()
    held_node, _ = ray.get(holder.where.remote(), timeout=WAIT)

    @ray.remote(num_gpus=2)
    def two() -> str:
        return ray.get_runtime_context().get_node_id()

    nodes = ray.get([two.remote() for _ in range(12)], timeout=WAIT)
    assert held_node not in nodes


@pytest.mark.parametrize("gpu_cluster", [(2, 2, 2)], indirect=True)
def test_work_outside_a_group_avoids_the_node_it_fills(gpu_cluster):
    ray, _ = gpu_cluster
    util = importlib.import_module(f"{ray.__name__}.util")
    strategies = importlib.import_module(f"{ray.__name__}.util.scheduling_strategies")
    pg = util.placement_group([{"CPU": 2, "GPU": 2}], strategy="STRICT_PACK")
    ray.get(pg.ready(), timeout=WAIT)
    in_group = strategies.PlacementGroupSchedulingStrategy(placement_group=pg)

    @ray.remote(num_cpus=1)
    def here() -> str:
        return ray.get_runtime_context().get_node_id()

    @ray.remote(num_cpus=1, num_gpus=1)
    def children() -> tuple[str, list[str], list[str]]:
        # a group task that does not capture its children: they are outside the group
        return (ray.get_runtime_context().get_node_id(),
                ray.get([here.remote() for _ in range(4)], timeout=WAIT),
                ray.get([here.options(num_gpus=1).remote() for _ in range(4)], timeout=WAIT))

    group_node, cpu_nodes, gpu_nodes = ray.get(
        children.options(scheduling_strategy=in_group).remote(), timeout=WAIT)
    assert group_node not in set(cpu_nodes) | set(gpu_nodes)

    @ray.remote(num_cpus=1, num_returns=2)
    def pair() -> tuple[str, str]:
        node = ray.get_runtime_context().get_node_id()
        return node, node

    driver_nodes = ray.get([here.remote() for _ in range(4)]
                           + [pair.remote()[0] for _ in range(4)], timeout=WAIT)
    assert group_node not in driver_nodes
