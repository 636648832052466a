"""The embedded cluster's Dask worker is killed (SIGKILL): a new one replaces it; task results
lost with it are computed again, ``put`` values raise ``ObjectLostError``, an actor with
restarts left is rebuilt there, and nothing hangs."""
from __future__ import annotations

import os
import signal
import time
from typing import Any

import numpy as np
import pytest

import raylike as ray
from raylike.exceptions import ObjectLostError

pytestmark = pytest.mark.timeout(180)


@ray.remote
def make(n: int) -> Any:
    return np.arange(n), os.getpid()


@ray.remote
class Counter:
    def __init__(self) -> None:
        self.n = 0

    def incr(self) -> int:
        self.n += 1
        return self.n


def _worker_pid() -> int:
    client = ray._runtime.driver().client
    [pid] = client.run(os.getpid).values()
    return int(pid)


def test_a_killed_worker_is_replaced_and_lost_results_are_recomputed() -> None:
    ray.init(num_cpus=2, include_dashboard=False)
    made = make.options(scheduling_strategy="SPREAD").remote(1000)  # through Dask's path (a
    # leased task's result lives with its driver: not lost with the worker)
    put = ray.put(np.ones(1000))
    counter = Counter.options(max_restarts=1).remote()
    _arr, first_pid = ray.get(made, timeout=60)
    assert ray.get(counter.incr.remote(), timeout=60) == 1
    old = _worker_pid()
    os.kill(old, signal.SIGKILL)
    start = time.monotonic()
    arr, second_pid = ray.get(made, timeout=60)  # run again on the new worker
    assert int(arr.sum()) == 999 * 1000 // 2 and second_pid != first_pid
    assert time.monotonic() - start < 60
    with pytest.raises(ObjectLostError):
        ray.get(put, timeout=60)
    assert _worker_pid() != old
    deadline = time.monotonic() + 60
    while True:  # the actor is rebuilt on the new worker (fresh state)
        try:
            assert ray.get(counter.incr.remote(), timeout=60) == 1
            break
        except ray.exceptions.RayActorError:
            assert time.monotonic() < deadline
            time.sleep(0.2)
    assert ray.get([make.remote(3) for _ in range(4)], timeout=60)[0][0].tolist() == [0, 1, 2]
