"""Dask interop (``raylike.util.dask``): Dask-on-Ray's scheduler, refs <-> Dask futures, and
Dask collections given to ``.remote()``."""
from __future__ import annotations

import dask
import dask.array as da
import numpy as np
import pytest
from distributed import Client, Future, futures_of

import raylike as ray
from raylike.exceptions import RaySystemError
from raylike.util import dask as ray_dask

pytestmark = pytest.mark.timeout(120)


def _start() -> None:
    ray.init(num_cpus=2, include_dashboard=False)


def _client() -> Client:
    return ray._runtime.driver().client  # the raylike driver's own Dask client


def test_ray_dask_get_and_enable_disable() -> None:
    _start()
    x = da.arange(10_000, chunks=1_000)
    assert dask.compute(x.sum(), scheduler=ray_dask.ray_dask_get) == (49_995_000,)
    assert dask.compute(x.sum(), scheduler=ray_dask.ray_dask_get_sync) == (49_995_000,)
    assert (x * 2).sum().compute(scheduler=ray_dask.ray_dask_get,
                                 ray_remote_args={"num_cpus": 0.5}) == 99_990_000
    with ray_dask.enable_dask_on_ray():
        assert dask.config.get("scheduler") is ray_dask.ray_dask_get
        assert dask.config.get("dataframe.shuffle.method") == "tasks"
        assert float(x.mean().compute()) == 4999.5
    assert dask.config.get("scheduler", None) is None
    ray_dask.enable_dask_on_ray()
    try:
        assert dask.config.get("scheduler") is ray_dask.ray_dask_get
    finally:
        ray_dask.disable_dask_on_ray()
    assert dask.config.get("scheduler", None) is None
    # its options are checked
    with pytest.raises(ValueError, match="ray_remote_args"):
        dask.compute(x.sum(), scheduler=ray_dask.ray_dask_get, resources={"CPU": 1})
    with pytest.raises(ValueError):
        dask.compute(x.sum(), scheduler=ray_dask.ray_dask_get, ray_remote_args={"no_such": 1})


def test_ray_dask_get_starts_raylike() -> None:
    assert not ray.is_initialized()
    assert dask.compute(da.ones(6, chunks=3).sum(), scheduler=ray_dask.ray_dask_get) == (6.0,)
    assert ray.is_initialized()


def test_from_dask_collection_and_futures() -> None:
    _start()
    x = da.arange(100, chunks=10)
    ref = ray_dask.from_dask(x.sum())
    assert isinstance(ref, ray.ObjectRef)
    assert ray.get(ref) == 4950

    @ray.remote
    def plus_one(v):
        return v + 1

    assert ray.get(plus_one.remote(ref)) == 4951  # the result's ref is an ordinary ref
    assert list(ray.get(ray_dask.from_dask(x[:3]))) == [0, 1, 2]

    client = _client()
    future = client.submit(lambda: "from a future")
    assert ray.get(ray_dask.from_dask(future)) == "from a future"
    chunk = futures_of(client.persist(x))[0]  # a future whose key is a tuple
    assert not isinstance(chunk.key, str)
    assert list(ray.get(ray_dask.from_dask(chunk))) == list(range(10))

    with Client(client.scheduler.address, set_as_default=False) as other:  # another client
        theirs = other.submit(lambda: 7, pure=False)
        ref = ray_dask.from_dask(theirs)
        del theirs
        assert ray.get(ref) == 7
    with pytest.raises(TypeError):
        ray_dask.from_dask([1, 2])

    def boom(_):
        raise ZeroDivisionError("dask boom")

    bad = da.ones(4, chunks=2).map_blocks(boom, dtype=float).sum()
    with pytest.raises(ZeroDivisionError, match="dask boom"):  # raised as Dask raised it
        ray.get(ray_dask.from_dask(bad))


def test_from_dask_refuses_a_future_of_another_cluster() -> None:
    _start()
    with Client(processes=False, n_workers=1, threads_per_worker=1, dashboard_address=None,
                set_as_default=False) as other:
        with pytest.raises(ValueError, match="another Dask cluster"):
            ray_dask.from_dask(other.submit(lambda: 1))


def test_to_dask() -> None:
    _start()

    @ray.remote
    def make():
        return np.arange(5)

    @ray.remote
    class Box:
        def value(self):
            return "actor"

    task_ref, put_ref = make.remote(), ray.put({"a": 1})
    direct_ref = Box.remote().value.remote()  # a driver's direct actor call
    futures = [ray_dask.to_dask(r) for r in (task_ref, put_ref, direct_ref)]
    assert all(isinstance(f, Future) for f in futures)
    values = _client().gather(futures)
    assert list(values[0]) == [0, 1, 2, 3, 4] and values[1:] == [{"a": 1}, "actor"]
    del task_ref, put_ref, direct_ref  # the futures keep the objects alive
    assert _client().gather(futures)[1] == {"a": 1}
    # ref -> future -> ref, and a future given to Dask
    assert ray.get(ray_dask.from_dask(futures[1])) == {"a": 1}
    assert _client().submit(len, futures[0]).result() == 5
    with pytest.raises(TypeError):
        ray_dask.to_dask("not a ref")


def test_collections_pass_lazily_and_futures_and_from_dask_refs_are_resolved() -> None:
    _start()
    x = da.arange(10, chunks=5)

    @ray.remote
    def describe(value, nested):
        return type(value).__name__, int(np.sum(value)), type(nested[0]).__name__

    kind, total, nested = ray.get(describe.remote(x, [x]))
    assert (kind, total, nested) == ("Array", 45, "Array")  # as in Ray: the lazy collection

    @ray.remote
    def lazy(nested):
        return int(nested[0].sum().compute())  # Dask's local scheduler inside the task

    assert ray.get(lazy.remote([x])) == 45

    future = ray_dask.to_dask(ray.put(20))
    assert ray.get(describe.remote(future, [None]))[:2] == ("int", 20)
    ref = ray_dask.from_dask(x.sum())  # computed on the cluster: the task gets the value
    assert ray.get(describe.remote(value=ref, nested=[1]))[:2] == ("int64", 45)

    @ray.remote
    class Holder:
        def __init__(self, start):
            self.start = int(np.sum(start))

        def add(self, more):
            return self.start + int(more)

    holder = Holder.remote(ray_dask.from_dask(x))
    assert ray.get(holder.add.remote(ray_dask.from_dask(x.sum()))) == 90


def test_inside_a_task() -> None:
    _start()

    @ray.remote
    def inner():
        y = da.ones(10, chunks=5)
        with_scheduler = dask.compute(y.sum(), scheduler=ray_dask.ray_dask_get)[0]
        ref = ray_dask.from_dask(y.sum())
        try:
            ray_dask.to_dask(ref)
        except RaySystemError:
            refused = True
        else:
            refused = False
        return float(with_scheduler), float(ray.get(ref)), refused

    assert ray.get(inner.remote()) == (10.0, 10.0, True)
