"""The ``"ray"`` joblib backend: joblib's pool-based backend over raylike's
``multiprocessing.Pool`` (actors), so batches run on the cluster's nodes."""
from __future__ import annotations

from typing import Any

from joblib._parallel_backends import (
    AutoBatchingMixin,
    FallbackToBackend,
    ParallelBackendBase,
    PoolManagerMixin,
    SequentialBackend,
)

__all__ = ["RayBackend"]


class RayBackend(PoolManagerMixin, AutoBatchingMixin, ParallelBackendBase):
    """Runs joblib batches on a pool of actors; ``n_jobs=-1`` means the cluster's CPUs.
    ``ray_remote_args`` (here or in ``Parallel``) configure the pool's actors."""

    supports_retrieve_callback = True
    supports_return_generator = False

    def __init__(self, nesting_level: int | None = None,
                 inner_max_num_threads: int | None = None,
                 ray_remote_args: dict[str, Any] | None = None, **kwargs: Any) -> None:
        super().__init__(nesting_level=nesting_level,
                         inner_max_num_threads=inner_max_num_threads, **kwargs)
        self.ray_remote_args = ray_remote_args

    def effective_n_jobs(self, n_jobs: int | None) -> int:
        if n_jobs == 0:
            raise ValueError("n_jobs == 0 in Parallel has no meaning")
        if n_jobs is None:
            return 1
        if n_jobs < 0:  # -1: every CPU of the cluster (started here if none runs, as Ray)
            import raylike as ray

            if not ray.is_initialized():
                ray.init()
            cpus = int(ray.cluster_resources().get("CPU", 1))
            return max(cpus + 1 + n_jobs, 1)
        return int(n_jobs)

    def configure(self, n_jobs: int = 1, parallel: Any = None, prefer: Any = None,
                  require: Any = None, ray_remote_args: dict[str, Any] | None = None,
                  **pool_args: Any) -> int:
        n_jobs = self.effective_n_jobs(n_jobs)
        if n_jobs == 1:
            raise FallbackToBackend(SequentialBackend(nesting_level=self.nesting_level))
        from raylike.util.multiprocessing import Pool

        args = ray_remote_args if ray_remote_args is not None else self.ray_remote_args
        self._pool = Pool(processes=n_jobs, ray_remote_args=args)
        self.parallel = parallel
        return n_jobs
