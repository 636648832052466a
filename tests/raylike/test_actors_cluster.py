"""Actors on a Dask cluster raylike did not start: calls that land on another worker than the
actor's, detached actors that outlive their driver, actors lost with their worker."""
from __future__ import annotations

import os
import signal
import time
from typing import Any

import pytest

import raylike as ray

pytestmark = pytest.mark.timeout(180)


@ray.remote
class Log:
    def __init__(self) -> None:
        self.items: list[int] = []

    def append(self, x: int) -> None:
        self.items.append(x)

    def items_(self) -> list[int]:
        return self.items

    def where(self) -> str:
        return ray.get_runtime_context().get_node_id()


@ray.remote
def append_from_task(log: Any, n: int) -> list[int]:
    for i in range(n):
        log.append.remote(i)
    return ray.get(log.items_.remote())


def _gpu_node() -> str:
    [node] = [n["NodeID"] for n in ray.nodes() if n["Resources"].get("GPU")]
    return str(node)


def test_calls_reach_an_actor_on_another_worker_in_order(two_worker_cluster: Any) -> None:
    ray.init(address=two_worker_cluster.address)
    log = Log.options(num_gpus=1).remote()  # pinned to the GPU worker
    assert ray.get(log.where.remote(), timeout=30) == _gpu_node()
    for i in range(500):
        log.append.remote(i)
    assert ray.get(log.items_.remote(), timeout=60) == list(range(500))
    # a task on either worker calls it too; its own calls stay in its order
    ray.kill(log)  # frees the GPU
    other = Log.options(num_gpus=1).remote()
    got = ray.get([append_from_task.options(num_cpus=1).remote(other, 200)], timeout=60)[0]
    assert got == list(range(200))


def test_detached_actor_outlives_its_driver(two_worker_cluster: Any) -> None:
    ray.init(address=two_worker_cluster.address, namespace="keep")
    log = Log.options(name="kept", lifetime="detached").remote()
    plain = Log.options(name="dropped").remote()
    ray.get([log.append.remote(1), plain.append.remote(1)], timeout=30)
    ray.shutdown()
    ray.init(address=two_worker_cluster.address, namespace="keep")
    assert ray.get(ray.get_actor("kept").items_.remote(), timeout=30) == [1]
    with pytest.raises(ValueError):
        ray.get_actor("dropped")  # died with the first driver
    ray.kill(ray.get_actor("kept"))


def test_actor_restarts_on_another_worker_when_its_worker_dies(dask_cluster: Any) -> None:
    first = dask_cluster.start_worker(nthreads=2, resources="spot=1")
    dask_cluster.start_worker(nthreads=2)
    ray.init(address=dask_cluster.address)

    @ray.remote(max_restarts=1)
    class Survivor:
        def __init__(self) -> None:
            self.n = 0

        def incr(self) -> tuple[int, bool]:
            self.n += 1
            return self.n, ray.get_runtime_context().was_current_actor_reconstructed

    # placed on the first worker: the only one with resource "spot" (held while it lives),
    # but after the restart it may run anywhere the rerun of its reservation fits
    s = Survivor.options(resources={"spot": 0.5}).remote()
    assert ray.get(s.incr.remote(), timeout=30) == (1, False)
    os.kill(first.pid, signal.SIGKILL)
    # somewhere to restart (its CPU given explicitly: Dask does not retry a waiting task when
    # a worker's resources change after it joined, as raylike's CPU=nthreads default does)
    dask_cluster.start_worker(nthreads=2, resources="CPU=2 spot=1", wait=False)
    dask_cluster.wait_for_workers(2)
    deadline = time.time() + 60
    while True:
        try:
            assert ray.get(s.incr.remote(), timeout=60) == (1, True)
            break
        except ray.exceptions.RayActorError:
            assert time.time() < deadline
            time.sleep(0.2)
