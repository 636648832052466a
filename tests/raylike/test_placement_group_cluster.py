"""Placement group strategies on a real multi-worker Dask cluster (hand-started ``dask
scheduler`` and ``dask worker --resources CPU=2`` processes)."""
from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

import raylike as ray
from raylike.util import placement_group, placement_group_table, remove_placement_group
from raylike.util.scheduling_strategies import PlacementGroupSchedulingStrategy

pytestmark = pytest.mark.timeout(180)


@pytest.fixture(scope="module")
def three_nodes(start_cluster: Any) -> Iterator[Any]:
    """A scheduler and three workers of 2 CPUs each."""
    cluster = start_cluster()
    try:
        for i in range(3):
            cluster.start_worker(nthreads=2, resources="CPU=2", name=f"n{i}", wait=False)
        cluster.wait_for_workers(3)
        yield cluster
    finally:
        cluster.close()


def _nodes_of(pg: Any) -> list[str]:
    row = placement_group_table(pg)
    return [row["bundles_to_node_id"][i] for i in sorted(row["bundles_to_node_id"])]


def _until(predicate: Any, timeout: float = 30.0) -> bool:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return bool(predicate())


@ray.remote(num_cpus=1)
def node_of() -> str:
    return ray.get_runtime_context().get_node_id()


def test_pack_puts_bundles_on_one_node(three_nodes: Any) -> None:
    ray.init(address=three_nodes.address)
    pg = placement_group([{"CPU": 1}, {"CPU": 1}], strategy="PACK")
    assert pg.wait(30)
    nodes = _nodes_of(pg)
    assert len(set(nodes)) == 1
    # bundles too big to share a node: PACK spills over (best effort)
    big = placement_group([{"CPU": 2}, {"CPU": 2}], strategy="PACK")
    assert big.wait(30)
    assert len(set(_nodes_of(big))) == 2
    remove_placement_group(pg)
    remove_placement_group(big)
    assert _until(lambda: ray.available_resources().get("CPU") == 6.0)


def test_strict_pack_one_node_or_pending(three_nodes: Any) -> None:
    ray.init(address=three_nodes.address)
    pg = placement_group([{"CPU": 1}, {"CPU": 1}], strategy="STRICT_PACK")
    assert pg.wait(30)
    assert len(set(_nodes_of(pg))) == 1
    too_big = placement_group([{"CPU": 1}] * 3, strategy="STRICT_PACK")
    assert not too_big.wait(2)  # no node has 3 CPUs
    assert placement_group_table(too_big)["state"] == "PENDING"


def test_spread_uses_distinct_nodes(three_nodes: Any) -> None:
    ray.init(address=three_nodes.address)
    pg = placement_group([{"CPU": 1}] * 3, strategy="SPREAD")
    assert pg.wait(30)
    assert len(set(_nodes_of(pg))) == 3
    more = placement_group([{"CPU": 0.5}] * 4, strategy="SPREAD")  # best effort: 4 on 3
    assert more.wait(30)
    assert len(set(_nodes_of(more))) == 3


def test_strict_spread_distinct_nodes_or_pending(three_nodes: Any) -> None:
    ray.init(address=three_nodes.address)
    pg = placement_group([{"CPU": 1}] * 3, strategy="STRICT_SPREAD")
    assert pg.wait(30)
    assert len(set(_nodes_of(pg))) == 3
    four = placement_group([{"CPU": 0.5}] * 4, strategy="STRICT_SPREAD")
    assert not four.wait(2)


def test_tasks_and_actors_run_on_their_bundles_node(three_nodes: Any) -> None:
    ray.init(address=three_nodes.address)
    pg = placement_group([{"CPU": 1}] * 3, strategy="STRICT_SPREAD")
    assert ray.get(pg.ready(), timeout=30) == pg
    nodes = _nodes_of(pg)
    for index in range(3):
        strategy = PlacementGroupSchedulingStrategy(pg, index)
        assert ray.get(node_of.options(scheduling_strategy=strategy).remote(),
                       timeout=30) == nodes[index]

    @ray.remote(num_cpus=1)
    class Where:
        def node(self) -> str:
            return ray.get_runtime_context().get_node_id()

    actor = Where.options(scheduling_strategy=PlacementGroupSchedulingStrategy(pg, 2)).remote()
    assert ray.get(actor.node.remote(), timeout=30) == nodes[2]
    # the group's CPUs are taken on every node; the rest stay free for everyone
    assert _until(lambda: ray.available_resources().get("CPU") == 3.0)
    remove_placement_group(pg)  # answered at once; the actor dies soon after (as in Ray)

    def died() -> bool:
        try:
            ray.get(actor.node.remote(), timeout=30)
        except ray.exceptions.RayActorError:
            return True
        return False

    assert _until(died)
    assert _until(lambda: ray.available_resources().get("CPU") == 6.0)


def test_groups_end_with_their_driver_unless_detached(three_nodes: Any) -> None:
    ray.init(address=three_nodes.address, namespace="pg")
    kept = placement_group([{"CPU": 1}], name="kept", lifetime="detached")
    placement_group([{"CPU": 1}], name="dropped")
    assert kept.wait(30)
    ray.shutdown()
    ray.init(address=three_nodes.address, namespace="pg")
    assert ray.util.get_placement_group("kept") == kept
    with pytest.raises(ValueError):
        ray.util.get_placement_group("dropped")
    remove_placement_group(kept)
    assert _until(lambda: ray.available_resources().get("CPU") == 6.0)


def test_pending_group_placed_when_a_node_joins(dask_cluster: Any) -> None:
    dask_cluster.start_worker(nthreads=2, resources="CPU=2")
    ray.init(address=dask_cluster.address)
    pg = placement_group([{"CPU": 1}, {"CPU": 1}], strategy="STRICT_SPREAD")
    assert not pg.wait(1)
    ready = pg.ready()
    dask_cluster.start_worker(nthreads=2, resources="CPU=2")
    assert ray.get(ready, timeout=60) == pg
    assert len(set(_nodes_of(pg))) == 2


def test_group_waiting_for_busy_room_is_placed_on_a_node_that_joins(dask_cluster: Any) -> None:
    """Groups that fit the node's declared CPUs but not what other groups left of them wait
    unplaced (not on that node): a node that joins takes them at once."""
    dask_cluster.start_worker(nthreads=2, resources="CPU=2")
    ray.init(address=dask_cluster.address)
    groups = [placement_group([{"CPU": 1}]) for _ in range(4)]
    ready, _ = ray.wait([pg.ready() for pg in groups], num_returns=4, timeout=5)
    assert len(ready) == 2
    dask_cluster.start_worker(nthreads=2, resources="CPU=2")
    ready, _ = ray.wait([pg.ready() for pg in groups], num_returns=4, timeout=60)
    assert len(ready) == 4
    assert len({node for pg in groups for node in _nodes_of(pg)}) == 2
