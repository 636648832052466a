"""The engines, each behind one small interface: the same work through the Ray API (raylike,
real Ray) or through raw Dask (``distributed``), so a figure is written once for all three."""
from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Protocol

import _work

ROOT = Path(__file__).resolve().parent.parent
ENGINES = ("raylike", "dask", "ray")
TITLES = {"raylike": "raylike", "dask": "Dask", "ray": "Ray"}


class NotInstalled(Exception):
    """The engine's module cannot be imported by this interpreter."""


class ActorOps(Protocol):
    """One ``Counter`` actor: how to call ``incr`` and wait, submit it, and get many results."""

    def call_and_wait(self) -> int: ...
    def submit(self) -> Any: ...
    def get_all(self, pending: list[Any]) -> list[int]: ...


class Engine(Protocol):
    """What every figure needs from an engine."""

    def start(self, num_cpus: int) -> None: ...  # up to the first task's result
    def call(self, fn: Callable[[Any], Any], arg: Any) -> Any: ...  # one task, waited for
    def map(self, fn: Callable[[Any], Any], args: Iterable[Any]) -> list[Any]: ...
    def put_get(self, value: Any) -> Any: ...
    def sort_tree(self, values: list[int], leaf: int) -> list[int]: ...  # nested tasks
    def actor(self) -> ActorOps: ...
    def version(self) -> str: ...
    def shutdown(self) -> None: ...


def import_engine(name: str) -> Any:
    """Import an engine's module. raylike comes from this checkout's source tree, in this
    process and in the cluster's (an installed raylike may be another version)."""
    if name == "raylike" and (ROOT / "raylike").is_dir():
        sys.path.insert(0, str(ROOT))
        os.environ["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name != name:
            raise
        raise NotInstalled(f"{name} is not installed in {sys.executable}") from exc


def describe(module: Any) -> str:
    """'name version (where)' of an imported module."""
    where = Path(module.__file__ or "?").parent
    return f"{module.__name__} {getattr(module, '__version__', '?')} ({where})"


class RayAPIEngine:
    """raylike or Ray, through ``import <module> as ray``: the very same code for both."""

    def __init__(self, module_name: str) -> None:
        self.ray = import_engine(module_name)
        if module_name == "ray":
            import ray.cloudpickle

            ray.cloudpickle.register_pickle_by_value(_work)
        else:
            ship_by_value()
        self._remote: dict[Callable[[Any], Any], Any] = {}

    def start(self, num_cpus: int) -> None:
        kwargs: dict[str, Any] = {"num_cpus": num_cpus, "include_dashboard": False}
        if self.ray.__name__ == "ray":
            kwargs["log_to_driver"] = False
        self.ray.init(**kwargs)
        if self.call(_work.inc, 0) != 1:
            raise AssertionError("the first task returned a wrong result")

    def _fn(self, fn: Callable[[Any], Any]) -> Any:
        if fn not in self._remote:
            self._remote[fn] = self.ray.remote(fn)
        return self._remote[fn]

    def call(self, fn: Callable[[Any], Any], arg: Any) -> Any:
        return self.ray.get(self._fn(fn).remote(arg))

    def map(self, fn: Callable[[Any], Any], args: Iterable[Any]) -> list[Any]:
        remote = self._fn(fn)
        return self.ray.get([remote.remote(a) for a in args])

    def put_get(self, value: Any) -> Any:
        return self.ray.get(self.ray.put(value))

    def sort_tree(self, values: list[int], leaf: int) -> list[int]:
        return self.ray.get(_work.sort_tree_ray(self.ray, leaf).remote(values))

    def actor(self) -> ActorOps:
        handle = self.ray.remote(_work.Counter).remote()
        ray = self.ray

        class Ops:
            def call_and_wait(self) -> int:
                return ray.get(handle.incr.remote())

            def submit(self) -> Any:
                return handle.incr.remote()

            def get_all(self, pending: list[Any]) -> list[int]:
                return ray.get(pending)

        return Ops()

    def version(self) -> str:
        return describe(self.ray)

    def shutdown(self) -> None:
        self.ray.shutdown()


class DaskEngine:
    """Raw Dask doing the same work: ``LocalCluster`` of one single-threaded worker process per
    CPU, a client that talks to workers directly (as raylike's does), ``submit(pure=False)``,
    ``gather``, ``scatter``, and Dask's own actors."""

    def __init__(self) -> None:
        self.distributed = import_engine("distributed")
        ship_by_value()
        self.cluster: Any = None
        self.client: Any = None

    def start(self, num_cpus: int) -> None:
        self.cluster = self.distributed.LocalCluster(
            n_workers=num_cpus, threads_per_worker=1, processes=True, dashboard_address=None)
        self.client = self.distributed.Client(self.cluster, direct_to_workers=True)
        if self.call(_work.inc, 0) != 1:
            raise AssertionError("the first task returned a wrong result")

    def call(self, fn: Callable[[Any], Any], arg: Any) -> Any:
        return self.client.submit(fn, arg, pure=False).result()

    def map(self, fn: Callable[[Any], Any], args: Iterable[Any]) -> list[Any]:
        return self.client.gather([self.client.submit(fn, a, pure=False) for a in args])

    def put_get(self, value: Any) -> Any:
        future = self.client.scatter(value, direct=True, hash=False)  # an ndarray: one future
        return self.client.gather(future, direct=True)

    def sort_tree(self, values: list[int], leaf: int) -> list[int]:
        return self.client.submit(_work.sort_tree_dask, values, leaf, pure=False).result()

    def actor(self) -> ActorOps:
        handle = self.client.submit(_work.Counter, actor=True).result()

        class Ops:
            def call_and_wait(self) -> int:
                return handle.incr().result()

            def submit(self) -> Any:
                return handle.incr()

            def get_all(self, pending: list[Any]) -> list[int]:
                return [f.result() for f in pending]

        return Ops()

    def version(self) -> str:
        return describe(self.distributed)

    def shutdown(self) -> None:
        if self.client is not None:
            self.client.close()
        if self.cluster is not None:
            self.cluster.close()


def ship_by_value() -> None:
    """Pickle ``_work``'s code by value (cloudpickle, as raylike and Dask use)."""
    import cloudpickle

    cloudpickle.register_pickle_by_value(_work)


def make_engine(name: str) -> Engine:
    """The engine called ``name`` (raises NotInstalled when its module is missing)."""
    if name == "dask":
        return DaskEngine()
    return RayAPIEngine(name)
