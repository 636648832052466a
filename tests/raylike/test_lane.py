"""The driver's fast lane to a worker on the same host (``raylike._lane``): a Unix socket that
carries actor calls past Dask's RPC, and falls back to it whenever it cannot be used."""
from __future__ import annotations

import os
import socket
import stat
import time
from multiprocessing.connection import Connection

import numpy as np
import pytest

import raylike as ray
from raylike import _runtime, _wire


@ray.remote
class Counter:
    def __init__(self):
        self.n = 0

    def incr(self):
        self.n += 1
        return self.n

    def array(self, size):
        return np.arange(size, dtype=np.float64)

    def crash(self):
        os._exit(1)


def _lanes() -> dict:
    return _runtime.backend().direct._lanes


def _open_lane(counter) -> None:
    """Calls until the driver has opened its lane to the counter's worker."""
    deadline = time.monotonic() + 30
    while not any(_lanes().values()):
        assert time.monotonic() < deadline, "no lane was opened"
        ray.get(counter.incr.remote())
        time.sleep(0.01)


def test_calls_take_the_lane_in_order_and_results_are_right():
    ray.init(num_cpus=2, include_dashboard=False)
    c = Counter.remote()
    _open_lane(c)
    start = ray.get(c.incr.remote())
    refs = [c.incr.remote() for _ in range(2000)]
    assert ray.get(refs) == list(range(start + 1, start + 2001))  # submission order
    big = ray.get(c.array.remote(1 << 18))  # 2 MiB: its buffer comes through shared memory
    assert big.shape == (1 << 18,) and big[-1] == (1 << 18) - 1


def test_the_lane_socket_is_private_and_wants_the_token():
    ray.init(num_cpus=2, include_dashboard=False)
    c = Counter.remote()
    _open_lane(c)
    [lane] = [lane for lane in _lanes().values() if lane is not None]
    info = _runtime.backend().client.run(
        lambda dask_worker: dask_worker.plugins["raylike-node"].lane.info())
    [(path, token)] = [(i["path"], i["token"]) for i in info.values()]
    assert stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode) == 0o700
    sock = socket.socket(socket.AF_UNIX)
    sock.connect(path)
    conn = Connection(sock.detach())
    _wire.send(conn, __import__("threading").Lock(), ("hello", "not-the-token"))
    with pytest.raises(EOFError):  # refused: the worker closes the connection
        conn.poll(10) and _wire.recv(conn)
    conn.close()
    assert ray.get(c.incr.remote()) > 0  # the lane and the actor carry on


def test_calls_in_flight_fail_and_the_actor_restarts_through_dask():
    ray.init(num_cpus=2, include_dashboard=False)
    phoenix = Counter.options(max_restarts=1).remote()
    _open_lane(phoenix)
    with pytest.raises(ray.exceptions.RayActorError):
        ray.get(phoenix.crash.remote(), timeout=30)
    deadline = time.monotonic() + 30
    while True:  # restarted on the same worker: the lane finds the new process
        try:
            assert ray.get(phoenix.incr.remote(), timeout=30) == 1
            break
        except ray.exceptions.RayActorError:
            assert time.monotonic() < deadline
            time.sleep(0.1)


def test_lane_off(monkeypatch):
    monkeypatch.setenv("RAYLIKE_LANE", "0")
    ray.init(num_cpus=2, include_dashboard=False)
    c = Counter.remote()
    assert ray.get([c.incr.remote() for _ in range(50)]) == list(range(1, 51))
    assert not any(_lanes().values())
