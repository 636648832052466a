"""Soak: many small tasks, actor calls and large objects in flight together; every result is
checked, none may be lost, and the cluster's held memory falls back once the refs are dropped.

    python benchmarks/soak.py            # 20,000 tasks, 2,000 actor calls, 200 MB of objects
    python benchmarks/soak.py --quick    # 2,000 tasks, 500 actor calls, 50 MB
    python benchmarks/soak.py --ray      # the same workload on real Ray (no memory figure)

``tests/raylike/test_soak.py`` runs :func:`soak` scaled down (it stays under a minute in CI).
"""
from __future__ import annotations

import argparse
import gc
import sys
import time
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

CHUNK_MB = 4


@dataclass
class Figures:
    tasks: int
    actor_calls: int
    object_mb: int
    seconds: float = 0.0
    tasks_per_s: float = 0.0  # while the actor calls and the objects were in flight too
    put_mb_per_s: float = 0.0


def soak(ray: Any, tasks: int, actor_calls: int, object_mb: int, actors: int = 4,
         wave: int = 1000) -> Figures:
    """Run the workload on an initialised ``ray``; raise AssertionError on any wrong or missing
    result. Objects (``object_mb`` in 4 MB chunks) are all held while tasks and calls run."""

    @ray.remote
    def square(x):
        return x * x

    @ray.remote
    def add(a, b):
        return a + b

    @ray.remote
    def checksum(array):
        return int(array[0]), int(array.sum())

    @ray.remote
    class Counter:
        def __init__(self):
            self.n = 0

        def incr(self):
            self.n += 1
            return self.n

    figures = Figures(tasks, actor_calls, object_mb)
    start = time.perf_counter()
    chunk = CHUNK_MB * (1 << 20) // 8
    objects = [ray.put(np.full(chunk, i, dtype=np.int64)) for i in range(object_mb // CHUNK_MB)]
    put_done = time.perf_counter()
    counters = [Counter.remote() for _ in range(actors)]
    calls = [[c.incr.remote() for _ in range(actor_calls // actors)] for c in counters]
    sums = [checksum.remote(ref) for ref in objects]
    done = 0
    while done < tasks:  # waves; one result in ten through a dependency on another task
        n = min(wave, tasks - done)
        refs = [add.remote(square.remote(i), 1) if i % 10 == 0 else square.remote(i)
                for i in range(done, done + n)]
        want = [i * i + 1 if i % 10 == 0 else i * i for i in range(done, done + n)]
        got = ray.get(refs, timeout=300)
        assert got == want, f"wrong task results in wave starting at {done}"
        done += n
    tasks_done = time.perf_counter()
    for c, refs in enumerate(calls):  # sent before the tasks, checked after them
        got = ray.get(refs, timeout=300)
        assert got == list(range(1, len(refs) + 1)), f"actor {c}: calls lost or reordered"
    for i, (first, total) in enumerate(ray.get(sums, timeout=300)):
        assert (first, total) == (i, i * chunk), f"object {i} came back wrong"
    assert all(int(ray.get(ref, timeout=300)[-1]) == i for i, ref in enumerate(objects[:3]))
    figures.seconds = time.perf_counter() - start
    submitted = tasks + (tasks + 9) // 10  # with the add()s
    figures.tasks_per_s = submitted / max(tasks_done - put_done, 1e-9)
    figures.put_mb_per_s = object_mb / max(put_done - start, 1e-9)
    for c in counters:
        ray.kill(c)
    del objects, sums, calls
    gc.collect()
    return figures


def held_bytes(ray: Any) -> int:
    """Bytes the workers of raylike's cluster hold (raylike only)."""
    client = ray._runtime.driver().client

    def nbytes(dask_worker: Any) -> int:
        return sum(getattr(v, "nbytes", 0) for v in dask_worker.data.values())

    return int(sum(client.run(nbytes).values()))


def wait_held_below(ray: Any, limit: int, timeout: float = 30.0) -> int:
    deadline = time.monotonic() + timeout
    held = held_bytes(ray)
    while held > limit and time.monotonic() < deadline:
        time.sleep(0.2)
        gc.collect()
        held = held_bytes(ray)
    return held


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="2,000 tasks, 500 calls, 50 MB")
    parser.add_argument("--ray", action="store_true", help="run on real Ray instead")
    parser.add_argument("--num-cpus", type=int, default=2)
    args = parser.parse_args(argv)
    size = dict(tasks=2_000, actor_calls=500, object_mb=48) if args.quick else \
        dict(tasks=20_000, actor_calls=2_000, object_mb=200)
    if args.ray:
        import ray
    else:
        import raylike as ray
    ray.init(num_cpus=args.num_cpus, include_dashboard=False)
    try:
        baseline = None if args.ray else held_bytes(ray)
        figures = soak(ray, **size)
        print(f"{'ray' if args.ray else 'raylike'}: all results checked, none lost")
        for key, value in asdict(figures).items():
            print(f"  {key:12} {value:,.1f}" if isinstance(value, float) else
                  f"  {key:12} {value:,}")
        if baseline is not None:
            held = wait_held_below(ray, baseline + (1 << 20))
            print(f"  held after   {held - baseline:+,} bytes against the baseline")
            if held > baseline + (1 << 20):
                print("memory did not return to the baseline", file=sys.stderr)
                return 1
    finally:
        ray.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
