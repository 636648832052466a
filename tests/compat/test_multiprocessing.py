"""``ray.util.multiprocessing.Pool``: the ``multiprocessing.Pool`` API on actors."""

from __future__ import annotations

import importlib
import multiprocessing
import os
import time

import pytest

# Functions given to the pool are defined inside the tests: module level objects are pickled by
# reference and the test module is not importable on workers.


def _mp(ray):
    return importlib.import_module(ray.__name__ + ".util.multiprocessing")


@pytest.fixture(scope="module")
def pool(ray_shared_module):
    """One pool of two processes shared by the module's tests that do not close it."""
    p = _mp(ray_shared_module).Pool(processes=2)
    yield p
    if ray_shared_module.is_initialized():  # the last test of the module starts its own cluster
        p.terminate()


def _checker():
    """A function that raises ``ValueError`` for 3 (made here: pickled by value)."""

    def check_value(x):
        if x == 3:
            raise ValueError(f"bad {x}")
        return x

    return check_value


def test_exports(ray_shared):
    mp = _mp(ray_shared)
    assert mp.TimeoutError is multiprocessing.TimeoutError
    assert mp.JoinableQueue is multiprocessing.JoinableQueue


def test_map_and_starmap(pool):
    assert pool.map(lambda x: x * x, range(10)) == [x * x for x in range(10)]
    for chunksize in (1, 3, 100):
        assert pool.map(lambda x: x + 1, range(7), chunksize=chunksize) == list(range(1, 8))
    assert pool.map(lambda x: x, (i for i in range(5))) == [0, 1, 2, 3, 4]  # a generator
    assert pool.map(lambda x: x, []) == []
    assert pool.starmap(lambda a, b: a ** b, [(2, 3), (3, 2), (5, 0)]) == [8, 9, 1]
    assert pool.starmap(lambda a, b: a - b, [(5, 1)] * 4, chunksize=2) == [4] * 4


def test_map_runs_on_every_process(pool):
    pids = pool.map(lambda _: (time.sleep(0.05), os.getpid())[1], range(8), chunksize=1)
    assert len(set(pids)) == 2
    assert os.getpid() not in pids


def test_apply_and_apply_async(pool):
    assert pool.apply(lambda a, b, c=0: a + b + c, (1, 2), {"c": 3}) == 6
    assert pool.apply(lambda: "no args") == "no args"
    result = pool.apply_async(lambda x: x * 10, (4,))
    assert result.get(timeout=30) == 40
    assert result.ready() and result.successful()
    assert result.get() == 40  # again


def test_async_result_timeout_wait_ready(pool):
    result = pool.apply_async(time.sleep, (4.0,))
    with pytest.raises(multiprocessing.TimeoutError):
        result.get(timeout=0.05)
    assert not result.ready()
    with pytest.raises(ValueError):
        result.successful()
    start = time.monotonic()
    assert result.wait(0.05) is None  # never raises
    assert time.monotonic() - start < 3.0  # returned at its timeout, not with the call
    result.wait()
    assert result.ready() and result.successful()
    assert result.get() is None


def test_errors_reach_the_caller(pool):
    _check_value = _checker()
    with pytest.raises(ValueError, match="bad 3"):
        pool.apply(_check_value, (3,))
    with pytest.raises(ValueError, match="bad 3"):
        pool.map(_check_value, range(6), chunksize=2)
    with pytest.raises(ZeroDivisionError):
        pool.starmap(lambda a, b: a / b, [(1, 1), (1, 0)])
    result = pool.map_async(_check_value, range(6))
    result.wait(30)
    assert result.ready() and not result.successful()
    assert pool.map(_check_value, [1, 2]) == [1, 2]  # the pool goes on working


def test_callbacks(pool):
    _check_value = _checker()
    got, errors = [], []
    pool.apply_async(lambda x: x + 1, (1,), callback=got.append,
                     error_callback=errors.append).get(timeout=30)
    assert got == [2] and errors == []

    pool.map_async(lambda x: 2 * x, range(6), callback=got.append).get(timeout=30)
    assert sorted(got[1]) == [0, 2, 4, 6, 8, 10]

    result = pool.map_async(_check_value, range(6), callback=got.append,
                            error_callback=errors.append)
    result.wait(30)
    assert len(got) == 2  # the success callback is not called when a call raised
    assert len(errors) == 1
    error = getattr(errors[0], "underlying", errors[0])  # Ray passes a wrapper holding it
    assert isinstance(error, ValueError) and "bad 3" in str(error)

    pool.starmap_async(lambda a, b: a * b, [(2, 3), (4, 5)], got.append).get(timeout=30)
    assert sorted(got[2]) == [6, 20]


def test_imap_keeps_order(pool):
    delays = [0.3, 0.0, 0.2, 0.0, 0.1, 0.0]
    out = list(pool.imap(lambda d: (time.sleep(d), d)[1], delays))
    assert out == delays
    assert list(pool.imap(lambda x: x * 2, iter(range(5)))) == [0, 2, 4, 6, 8]
    assert list(pool.imap(lambda x: x * 2, range(9), chunksize=4)) == list(range(0, 18, 2))
    assert list(pool.imap(lambda x: x, [])) == []


def test_imap_unordered(pool):
    delays = [1.0, 0.0, 0.0, 0.0]
    out = list(pool.imap_unordered(lambda d: (time.sleep(d), d)[1], delays))
    assert sorted(out) == sorted(delays)
    assert out[0] == 0.0  # a fast one comes before the slow one
    gen = (i for i in range(7))
    assert sorted(pool.imap_unordered(lambda x: x + 1, gen, chunksize=2)) == list(range(1, 8))


def test_imap_yields_a_failed_call_as_an_exception_value(pool):
    """Ray's pool: a call that raised is an element of the iteration (an ``Exception``
    instance), and the iteration goes on to the end."""
    def _fails_on_odd(x):
        if x % 2:
            raise ValueError(f"odd {x}")
        return x

    out = list(pool.imap(_fails_on_odd, range(6), chunksize=2))
    assert [x for x in out if not isinstance(x, Exception)] == [0, 2, 4]
    assert [i for i, x in enumerate(out) if isinstance(x, Exception)] == [1, 3, 5]
    unordered = list(pool.imap_unordered(_fails_on_odd, range(6)))
    assert sorted(x for x in unordered if not isinstance(x, Exception)) == [0, 2, 4]
    assert sum(isinstance(x, Exception) for x in unordered) == 3


def test_imap_next_timeout(pool):
    it = pool.imap(lambda d: (time.sleep(d), d)[1], [1.0])
    with pytest.raises(multiprocessing.TimeoutError):
        it.next(timeout=0.05)
    assert it.next(timeout=30) == 1.0
    with pytest.raises(StopIteration):
        next(it)


def test_initializer_runs_in_each_process(ray_shared):
    mp = _mp(ray_shared)

    def init(name, value):
        os.environ[name] = value

    with mp.Pool(2, initializer=init, initargs=("POOL_INIT_VALUE", "set")) as p:
        values = p.map(lambda _: (time.sleep(0.05), os.environ.get("POOL_INIT_VALUE"))[1],
                       range(6), chunksize=1)
    assert values == ["set"] * 6


def test_context_manager_close_join(ray_shared):
    mp = _mp(ray_shared)
    with mp.Pool(1) as p:
        assert p.map(lambda x: -x, [1, 2]) == [-1, -2]
    with pytest.raises(ValueError):
        p.map(lambda x: x, [1])

    p = mp.Pool(2)
    result = p.map_async(lambda d: (time.sleep(d), d)[1], [0.3, 0.3])
    with pytest.raises(ValueError):
        p.join()  # still running
    p.close()
    with pytest.raises(ValueError):
        p.apply(lambda: 1)
    with pytest.raises(ValueError):
        p.imap(lambda x: x, [1])
    p.join()
    assert result.get(timeout=30) == [0.3, 0.3]  # close lets sent work finish


def test_terminate_stops_running_work(ray_shared):
    mp = _mp(ray_shared)
    p = mp.Pool(1)
    p.apply_async(time.sleep, (60,))
    time.sleep(0.3)
    start = time.monotonic()
    p.terminate()
    p.join()
    assert time.monotonic() - start < 20
    with pytest.raises(ValueError):
        p.map(lambda x: x, [1])


def test_maxtasksperchild_replaces_the_process(ray_shared):
    mp = _mp(ray_shared)
    p = mp.Pool(1, maxtasksperchild=1)
    try:
        pids = p.map(lambda _: os.getpid(), range(3), chunksize=1)
    finally:
        p.terminate()
    assert len(set(pids)) == 3


def test_processes_are_checked(ray_shared):
    mp = _mp(ray_shared)
    with pytest.raises(ValueError):
        mp.Pool(processes=0)
    with pytest.raises(ValueError):
        mp.Pool(processes=3)  # the cluster has 2 CPUs


def test_pool_starts_the_cluster(ray_fresh):
    ray = ray_fresh
    mp = _mp(ray)
    with mp.Pool(processes=1) as p:
        assert ray.is_initialized()
        assert p.map(lambda x: x + 1, [1, 2, 3]) == [2, 3, 4]

