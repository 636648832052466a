"""The scheduler of an existing cluster goes away (SIGKILL): calls fail with a
``RaySystemError`` naming its address instead of hanging, and ``shutdown()`` still returns."""
from __future__ import annotations

import os
import signal
import time
from typing import Any

import pytest

import raylike as ray
from raylike.exceptions import RaySystemError

pytestmark = pytest.mark.timeout(120)


@ray.remote
def double(x: int) -> int:
    return x * 2


@ray.remote
def slow() -> int:
    time.sleep(30)
    return 1


@ray.remote
class Box:
    def get(self) -> int:
        return 1


def _kill_scheduler(cluster: Any) -> None:
    os.kill(cluster.scheduler.pid, signal.SIGKILL)
    cluster.scheduler.wait()


def test_calls_fail_clearly_and_shutdown_returns(dask_cluster: Any) -> None:
    dask_cluster.start_worker(nthreads=2)
    ray.init(address=dask_cluster.address)
    box = Box.remote()
    assert ray.get([double.remote(2), box.get.remote()], timeout=30) == [4, 1]
    pending = slow.remote()
    _kill_scheduler(dask_cluster)
    calls = {
        "get of a pending ref": lambda: ray.get(pending),
        "wait": lambda: ray.wait([pending]),
        "remote": lambda: ray.get(double.remote(1)),
        "put": lambda: ray.put(1),
        "actor call": lambda: ray.get(box.get.remote()),
        "cluster_resources": ray.cluster_resources,
    }
    for what, call in calls.items():
        start = time.monotonic()
        with pytest.raises(RaySystemError) as info:
            call()
        assert time.monotonic() - start < 20, what
        assert dask_cluster.address in str(info.value), what
    start = time.monotonic()
    ray.shutdown()
    assert time.monotonic() - start < 10
    assert not ray.is_initialized()
