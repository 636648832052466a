"""The driver's fast lane to a worker on the same host (``raylike._transport.lane``): a Unix socket
that
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
from raylike._api import runtime as _runtime
from raylike._transport import wire as _wire


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


@ray.remote
def total(array):
    return float(array.sum())


def _held_on_worker(key: str):
    """(held, inode of its shared memory or None) of ``key`` on the embedded worker."""
    def probe(dask_worker, key=key):
        if key not in dask_worker.data:
            return False, None
        mapping = _wire._mapping_of(memoryview(dask_worker.data[key]))
        return True, None if mapping is None else os.fstat(mapping.fd).st_ino

    [result] = _runtime.backend().client.run(probe).values()
    return result


def _wait_for_lanes():
    deadline = time.monotonic() + 30
    while not _runtime.backend().direct.local_lanes():
        assert time.monotonic() < deadline, "no lane to the embedded worker"
        time.sleep(0.01)


def test_put_and_get_share_one_memory_file_with_the_worker():
    ray.init(num_cpus=2, include_dashboard=False)
    _wait_for_lanes()
    array = np.arange(1 << 20, dtype=np.float64)  # 8 MiB
    ref = ray.put(array)
    held, inode = _held_on_worker(ref._key)
    assert held and inode is not None  # the worker keeps it in the memory file it received
    got = ray.get(ref)
    np.testing.assert_array_equal(got, array)
    assert not got.flags.writeable  # as in Ray: zero-copy arrays are read-only
    assert os.fstat(_wire._mapping_of(memoryview(got)).fd).st_ino == inode  # no copy
    assert ray.get(total.remote(ref)) == float(array.sum())  # an ordinary Dask object
    key = ref._key
    del ref, got
    deadline = time.monotonic() + 30
    while _held_on_worker(key)[0]:  # no ref left anywhere: Dask frees it as any object
        assert time.monotonic() < deadline, "the put object was not freed"
        time.sleep(0.1)


def test_task_results_come_back_without_a_copy_and_refs_inside_puts_work():
    ray.init(num_cpus=2, include_dashboard=False)
    _wait_for_lanes()

    @ray.remote
    def make(n):
        return np.ones(n)

    ref = make.options(scheduling_strategy="SPREAD").remote(1 << 20)  # through Dask
    got = ray.get(ref)
    assert got.sum() == 1 << 20
    assert os.fstat(_wire._mapping_of(memoryview(got)).fd).st_ino == _held_on_worker(ref._key)[1]
    leased = ray.get(make.remote(1 << 20))  # a leased task: its answer's shared memory
    assert leased.sum() == 1 << 20 and _wire._mapping_of(memoryview(leased)) is not None
    inner = ray.put(np.zeros(10))
    outer = ray.put({"inner": inner})  # a ref inside: Dask's scatter keeps it alive
    assert ray.get(ray.get(outer)["inner"]).shape == (10,)
    assert ray.get([ray.put(i) for i in range(100)]) == list(range(100))  # small ones too


def test_a_replaced_worker_gets_a_lane_again():
    import signal

    ray.init(num_cpus=2, include_dashboard=False)
    _wait_for_lanes()
    client = _runtime.backend().client
    [(old_address, pid)] = client.run(os.getpid).items()
    os.kill(pid, signal.SIGKILL)  # the embedded cluster starts another worker
    deadline = time.monotonic() + 60
    while True:
        assert time.monotonic() < deadline, "no lane to the replacement worker"
        ref = ray.put(np.ones(1 << 18))  # puts (and gets) look for new workers as they go
        lanes = _runtime.backend().direct.local_lanes()
        if lanes and lanes[0].address != old_address:
            break
        time.sleep(0.5)
    assert ray.get(ray.put(np.ones(1 << 18))).sum() == 1 << 18
    assert _held_on_worker(ray.put(np.zeros(1 << 18))._key) is not None
    del ref


def test_a_task_whose_large_argument_outlasts_its_lease_still_runs():
    # an 80 MB answer passed on by value travels longer than a lease stays idle: the task
    # must not chase new leases for ever (after a few it takes Dask's path)
    ray.init(num_cpus=2, include_dashboard=False)

    @ray.remote
    def large():
        return bytes(80 * 1024 * 1024)

    @ray.remote
    def size(value):
        return len(value)

    ref = large.remote()
    ray.get(ref)
    assert ray.get(size.remote(ref), timeout=60) == 80 * 1024 * 1024


def test_a_ref_pickled_while_its_task_waits_for_a_lease_is_freed_once_dropped():
    # the only CPU is busy on Dask's path, so the task waits on the driver for a lease and
    # then takes Dask's path too; its ref, pickled (nested in a put) while it waited, was
    # promoted there: once every ref is dropped, nothing may keep its object (no garbage
    # collection asked for: Ray frees an object when its last ref goes)
    ray.init(num_cpus=1, include_dashboard=False)

    @ray.remote
    def hold(seconds):
        time.sleep(seconds)

    @ray.remote
    def make(n):
        return np.ones(n)

    busy = hold.options(scheduling_strategy="SPREAD").remote(2)
    ref = make.remote(1 << 18)
    outer = ray.put([ref])
    key = ref._key
    assert ray.get(ref).sum() == 1 << 18
    ray.get(busy)
    del ref, outer
    deadline = time.monotonic() + 30
    while _held_on_worker(key)[0]:
        assert time.monotonic() < deadline, "the task's result was never freed"
        time.sleep(0.2)
    assert key not in _runtime.backend().direct._by_key
