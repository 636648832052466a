"""``ray.util.joblib``: run joblib's work (scikit-learn's ``n_jobs``) on the cluster.

``register_ray()``, then ``with joblib.parallel_backend("ray"): ...``: each joblib batch is a
call to an actor of ``ray.util.multiprocessing.Pool``, one actor per job.
"""
from __future__ import annotations

__all__ = ["register_ray"]


def register_ray() -> None:
    """Register the ``"ray"`` joblib backend (joblib must be installed)."""
    try:
        from joblib.parallel import register_parallel_backend
    except ImportError:
        raise ImportError("To use the ray backend you must install joblib: "
                          "pip install joblib") from None
    from raylike.util.joblib.ray_backend import RayBackend

    register_parallel_backend("ray", RayBackend)
