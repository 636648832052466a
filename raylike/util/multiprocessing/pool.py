"""``ray.util.multiprocessing.Pool``: the ``multiprocessing.Pool`` API over actors.

Each pool process is a ``PoolActor`` (``num_cpus=0`` unless ``ray_remote_args`` says
otherwise). Work travels in batches (``chunksize`` calls per actor call), spread round-robin
over the actors; a call that raises does not stop the others, and its exception reaches the
caller as the function raised it.
"""
from __future__ import annotations

import itertools
import logging
import os
from collections.abc import Callable, Iterable
from typing import Any

from raylike.util.multiprocessing._actor import Call, PoolActor
from raylike.util.multiprocessing._results import AsyncResult, IMapIterator, PoolTaskError

__all__ = ["AsyncResult", "IMapIterator", "Pool", "PoolTaskError"]

logger = logging.getLogger("raylike")


def _init_cluster(processes: int | None, ray_address: str | None) -> None:
    """Start or connect raylike the way Ray's pool does, if nothing is running yet."""
    import raylike as ray

    if ray.is_initialized():
        return
    address = ray_address if ray_address is not None else os.environ.get("RAY_ADDRESS")
    if address is None:
        ray.init(num_cpus=processes)
    elif address == "local":
        ray.init(address="local", num_cpus=processes)
    else:
        ray.init(address=address)


class Pool:
    """A pool of actor processes that runs a function over many arguments in parallel.

    Args:
        processes: how many actors (default: the cluster's CPUs); more than the cluster's CPUs
            is a ``ValueError``.
        initializer: run as ``initializer(*initargs)`` once in each actor when it starts.
        initargs: the initializer's arguments.
        maxtasksperchild: replace an actor after it has run this many batches.
        context: accepted and ignored (a warning is logged), as in Ray.
        ray_address: the cluster to connect to when raylike is not initialised yet (default
            ``RAY_ADDRESS``, else an embedded cluster with ``processes`` CPUs).
        ray_remote_args: ``.options()`` for the actors (e.g. ``{"num_cpus": 1}``).

    Differences from Ray: joblib's batched calls are run as they are (Ray caches their
    arguments in the object store); ``error_callback`` receives the function's exception;
    ``imap`` raises a call's exception when its result is reached.
    """

    def __init__(self, processes: int | None = None, initializer: Callable[..., Any] | None = None,
                 initargs: Iterable[Any] | None = None, maxtasksperchild: int | None = None,
                 context: Any = None, ray_address: str | None = None,
                 ray_remote_args: dict[str, Any] | None = None) -> None:
        import raylike as ray

        if context is not None:
            logger.warning("The 'context' argument of Pool is ignored: the pool's processes "
                           "are raylike actors.")
        self._closed = False
        self._initializer, self._initargs = initializer, initargs
        self._maxtasksperchild = maxtasksperchild or -1
        self._actor_class = ray.remote(num_cpus=0)(PoolActor).options(**(ray_remote_args or {}))
        self._stopping: list[Any] = []  # refs of the actors' termination calls
        self._rotation = itertools.count()
        _init_cluster(processes, ray_address)
        cpus = int(ray.cluster_resources().get("CPU", 0))
        processes = cpus if processes is None else processes
        if processes <= 0:
            raise ValueError("Processes in the pool must be >0.")
        if cpus < processes:
            raise ValueError(f"Tried to start a pool with {processes} processes on an existing "
                             f"ray cluster, but there are only {cpus} CPUs in the ray cluster.")
        self._actors: list[tuple[Any, int]] = [self._new_actor() for _ in range(processes)]
        ray.get([actor.ping.remote() for actor, _ in self._actors])

    # -- actors -----------------------------------------------------------------------------
    def _new_actor(self) -> tuple[Any, int]:
        return self._actor_class.remote(self._initializer, self._initargs), 0

    def _size(self) -> int:
        return len(self._actors)

    def _stop_actor(self, actor: Any) -> None:
        # queued after the work already sent to it: the actor exits once that is done
        self._stopping.append(actor.__ray_terminate__.remote())

    def _run_batch(self, actor_index: int, func: Callable[..., Any], batch: list[Call]) -> Any:
        """Send ``batch`` to one actor; replace the actor once it has run its share."""
        actor, count = self._actors[actor_index]
        ref = actor.run_batch.remote(func, batch)
        count += 1
        if count == self._maxtasksperchild:
            self._stop_actor(actor)
            actor, count = self._new_actor()
        self._actors[actor_index] = (actor, count)
        return ref

    def _check_running(self) -> None:
        if self._closed:
            raise ValueError("Pool not running")

    def _chunksize_for(self, iterable: Any) -> int:
        """Ray's default: about four batches per actor."""
        return -(-len(iterable) // (len(self._actors) * 4))

    def _map_async(self, func: Callable[..., Any], iterable: Iterable[Any],
                   chunksize: int | None, unpack: bool,
                   callback: Callable[[Any], Any] | None = None,
                   error_callback: Callable[[BaseException], Any] | None = None) -> AsyncResult:
        self._check_running()
        items = iterable if hasattr(iterable, "__len__") else list(iterable)
        if chunksize is None:
            chunksize = self._chunksize_for(items)
        elif chunksize < 1:
            raise ValueError(f"Chunksize must be 1+, not {chunksize}")
        calls: list[Call] = [(tuple(i) if unpack else (i,), None) for i in items]
        refs = [self._run_batch(n % len(self._actors), func, calls[start:start + chunksize])
                for n, start in enumerate(range(0, len(calls), max(1, chunksize)))]
        return AsyncResult(refs, callback, error_callback)

    # -- the multiprocessing.Pool API -----------------------------------------------------
    def apply(self, func: Callable[..., Any], args: Iterable[Any] | None = None,
              kwargs: dict[str, Any] | None = None) -> Any:
        """``func(*args, **kwargs)`` on one of the actors; its result (or its exception)."""
        return self.apply_async(func, args, kwargs).get()

    def apply_async(self, func: Callable[..., Any], args: Iterable[Any] | None = None,
                    kwargs: dict[str, Any] | None = None,
                    callback: Callable[[Any], Any] | None = None,
                    error_callback: Callable[[BaseException], Any] | None = None
                    ) -> AsyncResult:
        """Like ``apply``, without waiting: an ``AsyncResult``. ``callback`` gets the result,
        ``error_callback`` the exception."""
        self._check_running()
        index = next(self._rotation) % len(self._actors)
        ref = self._run_batch(index, func, [(args, kwargs)])
        return AsyncResult([ref], callback, error_callback, single_result=True)

    def map(self, func: Callable[..., Any], iterable: Iterable[Any],
            chunksize: int | None = None) -> list[Any]:
        """``[func(x) for x in iterable]``, run in batches of ``chunksize`` over the actors."""
        return self._map_async(func, iterable, chunksize, unpack=False).get()

    def map_async(self, func: Callable[..., Any], iterable: Iterable[Any],
                  chunksize: int | None = None, callback: Callable[[Any], Any] | None = None,
                  error_callback: Callable[[BaseException], Any] | None = None
                  ) -> AsyncResult:
        """Like ``map``, without waiting. ``callback`` gets the list of results (only if no
        call raised); ``error_callback`` the first exception."""
        return self._map_async(func, iterable, chunksize, False, callback, error_callback)

    def starmap(self, func: Callable[..., Any], iterable: Iterable[Iterable[Any]],
                chunksize: int | None = None) -> list[Any]:
        """``[func(*args) for args in iterable]``."""
        return self._map_async(func, iterable, chunksize, unpack=True).get()

    def starmap_async(self, func: Callable[..., Any], iterable: Iterable[Iterable[Any]],
                      callback: Callable[[Any], Any] | None = None,
                      error_callback: Callable[[BaseException], Any] | None = None,
                      chunksize: int | None = None) -> AsyncResult:
        """Like ``starmap``, without waiting (Ray's argument order: ``chunksize`` last)."""
        return self._map_async(func, iterable, chunksize, True, callback, error_callback)

    def imap(self, func: Callable[..., Any], iterable: Iterable[Any],
             chunksize: int | None = 1) -> IMapIterator:
        """Like ``map`` but lazy: an iterator of the results in input order, with one batch
        per actor in flight at a time. As in Ray (unlike ``multiprocessing``), a call that
        raised does not end the iteration: its element is a ``PoolTaskError`` whose
        ``underlying`` is the exception."""
        self._check_running()
        return IMapIterator(self, func, iterable, chunksize, ordered=True)

    def imap_unordered(self, func: Callable[..., Any], iterable: Iterable[Any],
                       chunksize: int | None = 1) -> IMapIterator:
        """Like ``imap``, yielding results as they finish."""
        self._check_running()
        return IMapIterator(self, func, iterable, chunksize, ordered=False)

    # -- lifetime ---------------------------------------------------------------------------
    def close(self) -> None:
        """Accept no more work; the actors exit once the work sent to them is done."""
        for actor, _ in self._actors:
            self._stop_actor(actor)
        self._closed = True

    def terminate(self) -> None:
        """Accept no more work and kill the actors now (running work is lost)."""
        import raylike as ray

        if not self._closed:
            self.close()
        for actor, _ in self._actors:
            ray.kill(actor)

    def join(self) -> None:
        """Wait until the actors of a closed pool have exited (``ValueError`` if the pool is
        still running)."""
        import raylike as ray

        if not self._closed:
            raise ValueError("Pool is still running")
        if self._stopping:
            ray.wait(self._stopping, num_returns=len(self._stopping))
            self._stopping = []

    def __enter__(self) -> Pool:
        self._check_running()
        return self

    def __exit__(self, *exc: object) -> None:
        self.terminate()
