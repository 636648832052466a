"""``raylike.cluster_utils.Cluster``: real Dask processes, one worker per node."""
from __future__ import annotations

import pytest

import raylike as ray
from raylike.cluster_utils import Cluster


@pytest.fixture
def cluster():
    c = Cluster()
    yield c
    if ray.is_initialized():
        ray.shutdown()
    c.shutdown()


@pytest.mark.timeout(180)
def test_nodes_carry_their_resources_and_ids(cluster):
    head = cluster.add_node(num_cpus=0)
    worker = cluster.add_node(num_cpus=2, resources={"pin": 1})
    assert head.head and not worker.head
    assert cluster.list_all_nodes() == [head, worker]
    cluster.connect(namespace="cluster_test")
    cluster.wait_for_nodes()
    assert ray.cluster_resources()["CPU"] == 2
    assert ray.cluster_resources()["pin"] == 1
    assert {n["NodeID"] for n in ray.nodes()} == {head.node_id, worker.node_id}

    @ray.remote(resources={"pin": 1})
    def where():
        return ray.get_runtime_context().get_node_id()

    assert ray.get(where.remote(), timeout=60) == worker.node_id
    assert ray.get_runtime_context().namespace == "cluster_test"


@pytest.mark.timeout(180)
def test_removed_node_is_a_dead_node(cluster):
    cluster.add_node(num_cpus=1)
    doomed = cluster.add_node(num_cpus=1, resources={"doomed": 1})
    ray.init(address=cluster.address)

    @ray.remote(resources={"doomed": 1}, max_restarts=0)
    class OnDoomed:
        def pid(self):
            import os
            return os.getpid()

    actor = OnDoomed.remote()
    ray.get(actor.pid.remote(), timeout=60)
    cluster.remove_node(doomed, allow_graceful=False)
    assert not doomed.any_processes_alive()
    cluster.wait_for_nodes()
    with pytest.raises(ray.exceptions.RayActorError):
        ray.get(actor.pid.remote(), timeout=60)
    assert "doomed" not in ray.cluster_resources()
    # a new node with the resource takes the work again
    replacement = cluster.add_node(num_cpus=1, resources={"doomed": 1})
    cluster.wait_for_nodes()

    @ray.remote(resources={"doomed": 1})
    def where():
        return ray.get_runtime_context().get_node_id()

    assert ray.get(where.remote(), timeout=60) == replacement.node_id


@pytest.mark.timeout(120)
def test_initialize_head_and_connect():
    c = Cluster(initialize_head=True, connect=True, head_node_args={"num_cpus": 3})
    try:
        assert ray.is_initialized()
        assert ray.cluster_resources()["CPU"] == 3
    finally:
        ray.shutdown()
        c.shutdown()
    assert c.address is None and c.list_all_nodes() == []


def test_misuse_is_refused_before_anything_starts():
    with pytest.raises(RuntimeError, match="uninitialized"):
        Cluster(connect=True)
    c = Cluster(shutdown_at_exit=False)
    with pytest.raises(TypeError, match="no_such_arg"):
        c.add_node(no_such_arg=1)
    with pytest.raises(ValueError):
        c.add_node(resources={"CPU": 1})
    assert c.address is None
    c.shutdown()


@pytest.mark.timeout(120)
def test_ray_node_arguments_without_dask_meaning_are_accepted(cluster):
    node = cluster.add_node(num_cpus=1, object_store_memory=150 * 1024 * 1024,
                            _system_config={"object_timeout_milliseconds": 200},
                            dashboard_port=None, min_worker_port=0, max_worker_port=0)
    assert node.remaining_processes_alive()
    node.kill_raylet()
    assert not node.any_processes_alive()


@pytest.mark.timeout(180)
def test_soft_affinity_to_a_node_that_dies_runs_elsewhere(cluster):
    """A task softly pinned to a node that cannot run everything (the head has no CPUs, so
    Dask may not fall back by itself) runs on another node when its node dies; the node's
    loss is pushed to the driver as Ray's ``node_removed`` error."""
    from raylike._private import ray_constants, test_utils
    from raylike.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    cluster.add_node(num_cpus=0)
    doomed = cluster.add_node(num_cpus=2)
    survivor = cluster.add_node(num_cpus=2)
    cluster.connect()
    cluster.wait_for_nodes()
    errors = test_utils.init_error_pubsub()

    @ray.remote(scheduling_strategy=NodeAffinitySchedulingStrategy(survivor.node_id, soft=False))
    def slow():
        import time

        time.sleep(3)  # its dependant is placed after the doomed node is gone
        return 1

    @ray.remote(scheduling_strategy=NodeAffinitySchedulingStrategy(doomed.node_id, soft=True))
    def where(_):
        return ray.get_runtime_context().get_node_id()

    ref = where.remote(slow.remote())
    cluster.remove_node(doomed, allow_graceful=False)
    assert ray.get(ref, timeout=90) == survivor.node_id
    removed = test_utils.get_error_message(errors, 1, ray_constants.REMOVED_NODE_ERROR,
                                           timeout=30)
    assert removed and doomed.node_id in removed[0]["error_message"]
    errors.close()


@pytest.mark.timeout(180)
def test_a_task_without_retries_fails_when_its_node_dies(cluster):
    """A task running on a node that dies uses up a retry: with ``max_retries=0`` it fails
    with ``NodeDiedError`` (Dask alone would run it again, or wait for ever for a node with
    its resources, as here)."""
    import time

    cluster.add_node(num_cpus=1)
    doomed = cluster.add_node(num_cpus=2)
    cluster.connect()
    cluster.wait_for_nodes()

    @ray.remote(num_cpus=0)
    class Flag:
        def __init__(self):
            self.up = False

        def raise_(self):
            self.up = True

        def is_up(self):
            return self.up

    flag = Flag.remote()

    @ray.remote(num_cpus=2, max_retries=0)
    def forever(flag):
        ray.get(flag.raise_.remote())
        while True:
            time.sleep(1)

    ref = forever.remote(flag)
    deadline = time.monotonic() + 60
    while not ray.get(flag.is_up.remote()) and time.monotonic() < deadline:
        time.sleep(0.1)
    cluster.remove_node(doomed)
    with pytest.raises(ray.exceptions.NodeDiedError):
        ray.get(ref, timeout=60)
