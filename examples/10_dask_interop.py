"""Dask interop: Dask collections computed on raylike's cluster, refs <-> Dask futures.

raylike runs on Dask, so the two mix freely:

* ``dask.compute(x, scheduler=ray_dask_get)`` (Ray's Dask-on-Ray API) runs a Dask graph on the
  cluster; ``enable_dask_on_ray()`` makes that the default for ``.compute()``;
* ``to_dask(ref)`` is the ``distributed.Future`` of a ref, ``from_dask(x)`` the ref of a Dask
  future or of a collection computed on the cluster;
* a Dask collection given to ``.remote()`` arrives in the task as the lazy collection, as in
  Ray; ``from_dask`` first, and the task gets the computed value.

Run: python examples/10_dask_interop.py
"""
import dask
import dask.array as da
import numpy as np

import raylike as ray
from raylike.util.dask import enable_dask_on_ray, from_dask, ray_dask_get, to_dask

ray.init(num_cpus=2, include_dashboard=False)

# A dask.array computed on the raylike cluster (each chunk's task takes 1 CPU, like a task).
x = da.arange(1_000_000, chunks=250_000)
(total,) = dask.compute(x.sum(), scheduler=ray_dask_get)
print("dask.compute(x.sum(), scheduler=ray_dask_get) ->", total)
with enable_dask_on_ray():
    print("with enable_dask_on_ray(): x.mean().compute() ->", x.mean().compute())

# ref -> Dask future -> ref
ref = ray.put(np.arange(5))
future = to_dask(ref)
print("to_dask(ref) ->", type(future).__name__, "holding", future.result())
doubled = from_dask(da.from_array(np.arange(5), chunks=5) * 2)
print("from_dask(collection) ->", doubled, "->", ray.get(doubled))
print("from_dask(future) ->", ray.get(from_dask(future)))


@ray.remote
def describe(value, nested):
    return f"top-level: {type(value).__name__} {value.tolist()}; nested: {type(nested[0]).__name__}"


# A collection passed to a task stays lazy, as in Ray; from_dask computes it on the cluster.
y = da.ones(4, chunks=2) * 3
print("describe.remote(from_dask(y), [y]) ->", ray.get(describe.remote(from_dask(y), [y])))


# A ref made from Dask is an ordinary ref: it goes to tasks like any other.
@ray.remote
def total_of(values):
    return int(values.sum())


print("total_of.remote(from_dask(...)) ->", ray.get(total_of.remote(doubled)))
ray.shutdown()
