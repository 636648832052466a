"""Actor benchmark: raylike vs raw Dask actors vs real Ray, side by side in one run.

Figures (one actor, 2 CPUs, on this machine):

1. sequential round trip: ``get(actor.incr.remote())`` N times in a row, median ms per call;
2. pipelined throughput: M calls submitted, then all their results got at once, in calls/s;
3. reorderings among those M calls: results that came out lower than the one before (calls
   from one caller should run in submission order; Ray and raylike guarantee it).

raylike and Ray run the very same code (``ray.init(num_cpus=2, include_dashboard=False)``, a
``@ray.remote`` counter class). Raw Dask does the same with its own actors:
``LocalCluster(n_workers=2, threads_per_worker=1)``, ``Client(direct_to_workers=True)``,
``client.submit(Counter, actor=True)``, ``actor.incr().result()``.

Every (system, repeat) runs in a fresh subprocess (this script with ``--child SYSTEM``), one
after the other. Ray runs under the interpreter named by ``--ray-python`` (default:
``$RAY_PYTHON``, else this one), with this checkout's ``raylike`` on its path. A system that
fails, or is not installed, shows why in its column and the run goes on.

Usage (from the repository root)::

    python benchmarks/bench_actors.py                      # 1,000 round trips, 5,000 calls, 3x
    python benchmarks/bench_actors.py --quick              # 200 round trips, 1,000 calls, 1x
    RAY_PYTHON=/path/to/ray-venv/bin/python python benchmarks/bench_actors.py --json out.json
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _harness import run_in_child

ROOT = Path(__file__).resolve().parent.parent
SYSTEMS = ("raylike", "dask", "ray")
NUM_CPUS = 2
FIGURES = (  # key, label, digits
    ("roundtrip_ms", "sequential round trip, median (ms)", 2),
    ("calls_per_s", "pipelined calls submit+get (calls/s)", 0),
    ("reorderings", "reorderings among pipelined calls", 0),
)


class Counter:
    """The actor: a counter whose ``incr`` returns its new value."""

    def __init__(self) -> None:
        self.value = 0

    def incr(self) -> int:
        self.value += 1
        return self.value


# --------------------------------------------------------------------------- the work
def measure(call_and_wait: Callable[[], Any], submit: Callable[[], Any],
            get_all: Callable[[list[Any]], list[int]], sequential: int,
            pipelined: int) -> dict[str, float]:
    """The three figures, given how to make one blocking call, submit one call, get many."""
    for _ in range(20):  # warm up connections and caches
        call_and_wait()
    times = []
    for _ in range(sequential):
        start = time.perf_counter()
        call_and_wait()
        times.append(time.perf_counter() - start)
    start = time.perf_counter()
    values = get_all([submit() for _ in range(pipelined)])
    took = time.perf_counter() - start
    return {"roundtrip_ms": statistics.median(times) * 1000, "calls_per_s": pipelined / took,
            "reorderings": sum(1 for a, b in zip(values, values[1:]) if b < a)}


def bench_ray_api(module_name: str, sequential: int, pipelined: int) -> tuple[dict[str, float],
                                                                               str]:
    """The figures through the Ray API of ``module_name`` (raylike or ray)."""
    if module_name == "raylike" and str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    ray = __import__(module_name)
    kwargs: dict[str, Any] = {"num_cpus": NUM_CPUS, "include_dashboard": False}
    if module_name == "ray":
        kwargs["log_to_driver"] = False
    ray.init(**kwargs)
    try:
        actor = ray.remote(Counter).remote()
        figures = measure(lambda: ray.get(actor.incr.remote()), actor.incr.remote, ray.get,
                          sequential, pipelined)
    finally:
        ray.shutdown()
    return figures, f"{module_name} {getattr(ray, '__version__', '?')}"


def bench_dask(sequential: int, pipelined: int) -> tuple[dict[str, float], str]:
    """The figures with Dask's own actors."""
    import distributed

    cluster = distributed.LocalCluster(n_workers=NUM_CPUS, threads_per_worker=1,
                                       processes=True, dashboard_address=None)
    client = distributed.Client(cluster, direct_to_workers=True)
    try:
        actor = client.submit(Counter, actor=True).result()
        figures = measure(lambda: actor.incr().result(), actor.incr,
                          lambda futures: [f.result() for f in futures], sequential, pipelined)
    finally:
        client.close()
        cluster.close()
    return figures, f"distributed {distributed.__version__}"


def run_child(system: str, sequential: int, pipelined: int, out: Path) -> int:
    """Benchmark one system once; write the outcome as JSON to ``out``."""
    try:
        if system == "dask":
            figures, version = bench_dask(sequential, pipelined)
        else:
            figures, version = bench_ray_api(system, sequential, pipelined)
        outcome: dict[str, Any] = {"status": "ok", "figures": figures, "version": version}
    except ModuleNotFoundError as exc:
        outcome = {"status": "skipped", "error": f"{exc.name} is not installed in "
                                                 f"{sys.executable}"}
    except BaseException as exc:  # report anything, the parent goes on
        import traceback

        traceback.print_exc()
        outcome = {"status": "error", "error": f"{type(exc).__name__}: {exc}"}
    out.write_text(json.dumps(outcome))
    return 0 if outcome["status"] != "error" else 1


# --------------------------------------------------------------------------- parent side
def spawn(system: str, python: str, sequential: int, pipelined: int,
          timeout: float) -> dict[str, Any]:
    """One (system, repeat) in a fresh interpreter."""
    return run_in_child([python, __file__, "--child", system, "--sequential", str(sequential),
                         "--pipelined", str(pipelined)], timeout)


def run_system(system: str, python: str, args: argparse.Namespace) -> dict[str, Any]:
    """All repeats of one system (stops at the first failure); medians of what ran."""
    runs: list[dict[str, float]] = []
    result: dict[str, Any] = {"status": "ok", "runs": runs, "python": python}
    for i in range(1, args.repeat + 1):
        print(f"  {system:<8} run {i}/{args.repeat} ...", end=" ", flush=True)
        start = time.monotonic()
        outcome = spawn(system, python, args.sequential, args.pipelined, args.timeout)
        print(f"{outcome['status']} ({time.monotonic() - start:.1f} s)", flush=True)
        if outcome["status"] != "ok":
            result.update({k: v for k, v in outcome.items() if k != "figures"})
            break
        runs.append(outcome["figures"])
        result["version"] = outcome["version"]
    if runs:
        result["median"] = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    return result


def table(results: dict[str, dict[str, Any]]) -> str:
    """One row per figure, one column per system: 'median [min-max]'."""
    rows = [["figure", *results]]
    for key, label, digits in FIGURES:
        cells = [label]
        for result in results.values():
            values = [r[key] for r in result["runs"]]
            if not values:
                cells.append(result["status"])
                continue
            cell = f"{statistics.median(values):,.{digits}f}"
            if len(values) > 1:
                cell += f" [{min(values):,.{digits}f}-{max(values):,.{digits}f}]"
            cells.append(cell)
        rows.append(cells)
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = [" | ".join([r[0].ljust(widths[0])] + [c.rjust(w) for c, w in
                                                   zip(r[1:], widths[1:])]) for r in rows]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    return "\n".join(lines)


def run_parent(args: argparse.Namespace) -> int:
    ray_python = args.ray_python or os.environ.get("RAY_PYTHON") or sys.executable
    print(f"bench_actors: {args.sequential:,} round trips, {args.pipelined:,} pipelined calls, "
          f"{args.repeat} repeat(s), {os.cpu_count()} CPUs", flush=True)
    results = {s: run_system(s, ray_python if s == "ray" else sys.executable, args)
               for s in args.only}
    print()
    print(table(results))
    if args.repeat > 1:
        print(f"\nmedian [min-max] of {args.repeat} runs; each run is a fresh process")
    for system, result in results.items():
        print(f"{system}: {result.get('version', result.get('error', ''))} "
              f"({result['python']})")
        if result.get("log_tail"):
            print("\n".join("    " + ln for ln in result["log_tail"].splitlines()[-20:]))
    if args.json:
        args.json.write_text(json.dumps({"cpu_count": os.cpu_count(), "results": results},
                                        indent=2) + "\n")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, one repeat")
    parser.add_argument("--sequential", type=int, default=None)
    parser.add_argument("--pipelined", type=int, default=None)
    parser.add_argument("--repeat", type=int, default=None)
    parser.add_argument("--only", default=",".join(SYSTEMS),
                        type=lambda s: [n for n in s.split(",") if n in SYSTEMS])
    parser.add_argument("--ray-python", default=None, help="interpreter that has ray")
    parser.add_argument("--timeout", type=float, default=600.0, help="per run, seconds")
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    parser.add_argument("--child", choices=SYSTEMS, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.sequential = args.sequential or (200 if args.quick else 1000)
    args.pipelined = args.pipelined or (1000 if args.quick else 5000)
    args.repeat = args.repeat or (1 if args.quick else 3)
    if args.child:
        return run_child(args.child, args.sequential, args.pipelined, args.out)
    return run_parent(args)


if __name__ == "__main__":
    sys.exit(main())
