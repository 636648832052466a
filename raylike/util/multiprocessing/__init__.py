"""``ray.util.multiprocessing``: a ``multiprocessing.Pool`` whose processes are actors.

``from raylike.util.multiprocessing import Pool`` and the pool's work runs on the cluster. As
in Ray, ``TimeoutError`` and ``JoinableQueue`` are the standard library's.
"""
from multiprocessing import JoinableQueue, TimeoutError

from raylike.util.multiprocessing.pool import Pool

__all__ = ["JoinableQueue", "Pool", "TimeoutError"]
