"""``ray.util.dask``: Dask on raylike, and raylike's own bridge between refs and Dask.

raylike runs on a Dask cluster, so Dask code needs no translation:

* ``ray_dask_get`` is a Dask scheduler (``dask.compute(x, scheduler=ray_dask_get)``) that runs
  the graph on raylike's cluster through its Dask client; ``enable_dask_on_ray()`` makes it the
  default. Code written for Ray's Dask-on-Ray runs unchanged.
* ``to_dask(ref)`` gives the ``distributed.Future`` of a ref; ``from_dask(x)`` the ref of a
  Dask future or of a Dask collection (computed on the cluster).
* A Dask collection or future passed as a top-level argument of ``.remote()`` is resolved like
  a ref: the task gets the computed value. Nested ones pass through as they are.

Ray's ``RayDaskCallback``, ``local_ray_callbacks``, ``unpack_ray_callbacks``,
``ProgressBarCallback``, ``dataframe_optimize`` and ``ray_dask_persist`` are not provided (they
hook into Ray's own task submission); Dask's diagnostics work on the cluster instead.
"""
from __future__ import annotations

from typing import Any

import dask

from raylike._api import options as _options
from raylike._api import resources as _resources
from raylike._api import runtime as _runtime
from raylike._dask.client.interop import from_dask, to_dask

__all__ = ["disable_dask_on_ray", "enable_dask_on_ray", "from_dask", "ray_dask_get",
           "ray_dask_get_sync", "to_dask"]

# keywords of Ray's scheduler that have no meaning here (its thread pool, callbacks, persist)
_IGNORED = ("num_workers", "pool", "ray_callbacks", "ray_persist", "_ray_enable_progress_bar")
_RESOURCES_MESSAGE = ('Use ray_remote_args={"resources": {...}} instead of resources={...} to '
                      "specify the resources of the graph's tasks.")


def ray_dask_get(dsk: Any, keys: Any, **kwargs: Any) -> Any:
    """A Dask scheduler that runs the graph on raylike's cluster.

    Use it as ``dask.compute(x, scheduler=ray_dask_get)`` or through
    ``enable_dask_on_ray()``. Each task of the graph needs what ``ray_remote_args`` asks for
    (``num_cpus`` defaults to 1, as a Ray task), counted against the nodes' resources like
    raylike's own tasks. Starts raylike if it is not running.

    Args:
        dsk: the graph (a dict, a ``HighLevelGraph`` or a Dask expression).
        keys: the keys whose values to return.
        **kwargs: ``ray_remote_args`` (task options: ``num_cpus``, ``num_gpus``,
            ``resources``, ``memory``); Ray's ``num_workers``, ``pool``, ``ray_callbacks``
            and ``ray_persist`` are accepted and ignored.

    Returns:
        The values, in the shape of ``keys``.

    Differences from Ray: the graph's tasks are Dask tasks run in the Dask workers' threads
    (Ray makes each one a Ray task in a worker process); callbacks are not called. Inside a
    task or actor (no Dask client there) the graph runs with Dask's local threaded scheduler.
    """
    if "resources" in kwargs or "resources" in dask.get_annotations():
        raise ValueError(_RESOURCES_MESSAGE)
    remote_args = _options.validate(_options.TASK, dict(kwargs.pop("ray_remote_args", None)
                                                        or {}))
    for name in _IGNORED:
        kwargs.pop(name, None)
    backend: Any = _runtime.backend(auto_init=True)
    if backend.client is None:  # a task's process
        from dask.threaded import get as threaded_get

        return threaded_get(dsk, keys)
    return backend.run_graph(dsk, keys, _resources.request(remote_args, default_cpus=1.0))


def ray_dask_get_sync(dsk: Any, keys: Any, **kwargs: Any) -> Any:
    """Ray's single-threaded variant of ``ray_dask_get``; the same scheduler here."""
    return ray_dask_get(dsk, keys, **kwargs)


def enable_dask_on_ray(shuffle: str | None = "tasks",
                       use_shuffle_optimization: bool | None = True) -> Any:
    """Make ``ray_dask_get`` Dask's default scheduler.

    Args:
        shuffle: the shuffle method of Dask DataFrames (``"tasks"`` by default, as in Ray).
        use_shuffle_optimization: accepted for Ray compatibility; raylike has no shuffle
            optimisation of its own.

    Returns:
        The ``dask.config.set`` object: ``with enable_dask_on_ray(): ...`` limits it to the
        block.
    """
    return dask.config.set({"scheduler": ray_dask_get, "dataframe.shuffle.method": shuffle})


def disable_dask_on_ray() -> Any:
    """Give Dask its own default scheduler (and shuffle method) back."""
    return dask.config.set({"scheduler": None, "dataframe.shuffle.method": None})
