"""Workers that join an existing cluster after the driver connected."""
from __future__ import annotations

import pytest

import raylike as ray


@pytest.mark.timeout(120)
def test_task_waiting_for_a_node_runs_when_a_plain_worker_joins(dask_cluster):
    # A cluster with a single GPU-only worker: a CPU task has nowhere to run yet.
    dask_cluster.start_worker(nthreads=1, resources="GPU=1")
    ray.init(address=dask_cluster.address)

    @ray.remote(num_gpus=0, resources={"Special": 1})
    def special():
        return "ran"

    ref = special.remote()
    ready, _ = ray.wait([ref], timeout=1)
    assert ready == []
    # A worker started by hand with the custom resource but no CPU: raylike declares
    # CPU = nthreads when it joins, and the waiting task must then be placed on it.
    dask_cluster.start_worker(nthreads=2, resources="Special=1")
    assert ray.get(ref, timeout=60) == "ran"
    assert ray.cluster_resources()["CPU"] == 3.0


@pytest.mark.timeout(120)
def test_driver_passing_its_own_client_gets_full_raylike(dask_cluster):
    from distributed import Client

    dask_cluster.start_worker(nthreads=2)
    with Client(dask_cluster.address, set_as_default=False) as client:
        ray.init(address=client)

        @ray.remote
        class Counter:
            def __init__(self):
                self.n = 0

            def incr(self):
                self.n += 1
                return self.n

        counter = Counter.options(name="c", lifetime="detached").remote()
        assert ray.get([counter.incr.remote() for _ in range(3)]) == [1, 2, 3]
        assert ray.get(ray.get_actor("c").incr.remote()) == 4
        ray.kill(counter)
        ray.shutdown()
        assert client.submit(lambda: 1).result() == 1
