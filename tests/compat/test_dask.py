"""``ray.util.dask``: Dask-on-Ray's scheduler and config helpers, and Dask collections nested in
task arguments."""

from __future__ import annotations

import pytest

dask = pytest.importorskip("dask")
da = pytest.importorskip("dask.array")


def _ray_dask(ray):
    # Ray's ray.util.dask imports dask.dataframe (pandas, pyarrow): skip where they are missing
    return pytest.importorskip(ray.__name__ + ".util.dask")


def test_ray_dask_get_computes_a_collection(ray_shared):
    ray_dask = _ray_dask(ray_shared)
    x = da.arange(10_000, chunks=1_000)
    assert dask.compute(x.sum(), scheduler=ray_dask.ray_dask_get) == (49_995_000,)
    assert int((x * 2).sum().compute(scheduler=ray_dask.ray_dask_get)) == 99_990_000
    total, mean = dask.compute(x.sum(), x.mean(), scheduler=ray_dask.ray_dask_get)
    assert (int(total), float(mean)) == (49_995_000, 4999.5)
    # (not ray_dask_get_sync: Ray 2.60's fails on the expression graphs of recent Dask)


def test_ray_dask_get_with_remote_args(ray_shared):
    ray_dask = _ray_dask(ray_shared)
    x = da.ones(8, chunks=2)
    out = dask.compute(x.sum(), scheduler=ray_dask.ray_dask_get,
                       ray_remote_args={"num_cpus": 0.5})
    assert out == (8.0,)


def test_enable_and_disable_dask_on_ray(ray_shared):
    ray_dask = _ray_dask(ray_shared)
    x = da.arange(100, chunks=10)
    with ray_dask.enable_dask_on_ray():
        assert dask.config.get("scheduler") is ray_dask.ray_dask_get
        assert int(x.sum().compute()) == 4950
    assert dask.config.get("scheduler", None) is not ray_dask.ray_dask_get
    ray_dask.enable_dask_on_ray()
    try:
        assert dask.config.get("scheduler") is ray_dask.ray_dask_get
    finally:
        ray_dask.disable_dask_on_ray()
    assert dask.config.get("scheduler", None) is None


def test_collections_reach_the_task_lazily(ray_shared):
    ray = ray_shared
    x = da.arange(10, chunks=5)

    @ray.remote
    def use(nested):
        return type(nested[0]).__name__, int(nested[0].sum().compute())

    assert ray.get(use.remote([x])) == ("Array", 45)  # nested

    @ray.remote
    def use_top(value):
        return type(value).__name__, int(value.sum().compute())

    assert ray.get(use_top.remote(x)) == ("Array", 45)  # top level: not computed first either
