"""Core benchmark: raylike vs raw Dask vs real Ray, side by side in one run.

Figures (each system on 2 CPUs, on this machine):

1. start-up: ``init`` to the first task's result, in seconds (imports not included);
2. throughput: N trivial tasks submitted, then gathered at once, in tasks/s;
3. latency: M sequential ``get(f.remote())`` round trips, median ms per round trip;
4. object transfer: an X MB float64 numpy array put, then got back, in MB/s (1 MB = 10**6 B;
   median of 3 put+get round trips, as the first one also pays for opening connections).

raylike and Ray run the very same code through ``import raylike as ray`` / ``import ray``
(``ray.init(num_cpus=2, include_dashboard=False)``, ``ray.remote``, ``ray.get``, ``ray.put``).
Raw Dask does the same work directly: ``LocalCluster(n_workers=2, threads_per_worker=1,
processes=True)`` + ``Client``, ``client.submit(..., pure=False)``, ``client.gather``,
``client.scatter(arr, direct=True, hash=False)`` + ``client.gather(direct=True)``.
Note Ray's ``get`` of a local object is zero-copy from its shared-memory store.

Every (system, repeat) runs in a fresh subprocess (this script with ``--child SYSTEM``), one
after another, so the systems never share a process or compete for the CPUs. A system that
fails (or, for Ray, is not installed) shows its error in its column and the run goes on.

Usage (from the repository root)::

    python benchmarks/bench_core.py                  # 2,000 tasks, 1,000 round trips, 100 MB, 3x
    python benchmarks/bench_core.py --quick          # 500 tasks, 100 round trips, 20 MB, 1 repeat
    python benchmarks/bench_core.py --only dask,ray --repeat 5 --json benchmarks/results/core.json
    tox -e bench -- --quick                          # in a venv with raylike, Dask and Ray

Exit status: 0 when the script ran (whatever the figures), 1 when a system named by
``--require`` produced no figures, 2 on usage errors.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from _harness import run_in_child

ROOT = Path(__file__).resolve().parent.parent
SYSTEMS = ("raylike", "dask", "ray")
NUM_CPUS = 2
TRANSFERS = 3  # put+get round trips per run for figure 4 (the median is kept)


@dataclass(frozen=True)
class Sizes:
    """How much work each figure does."""

    tasks: int
    sequential: int
    megabytes: int


FULL = Sizes(tasks=2000, sequential=1000, megabytes=100)
QUICK = Sizes(tasks=500, sequential=100, megabytes=20)


@dataclass(frozen=True)
class Figure:
    """One row of the table."""

    key: str
    label: str
    unit: str
    digits: int


def figures_for(sizes: Sizes) -> list[Figure]:
    """The table rows, labelled with the sizes actually used."""
    return [
        Figure("startup_s", "start-up: init -> 1st result", "s", 2),
        Figure("tasks_per_s", f"{sizes.tasks:,} tasks submit+gather", "tasks/s", 0),
        Figure("roundtrip_ms", f"sequential round trip (x{sizes.sequential:,})", "ms", 2),
        Figure("put_get_mb_s", f"{sizes.megabytes} MB array put+get", "MB/s", 0),
    ]


# --------------------------------------------------------------------------- the work


def inc(x: int) -> int:
    """The trivial task."""
    return x + 1


def make_array(megabytes: int) -> np.ndarray:
    """A float64 array of ``megabytes`` * 10**6 bytes with non-trivial content."""
    return np.arange(megabytes * 10**6 // 8, dtype=np.float64)


def check_array(out: Any, expected: np.ndarray) -> None:
    """Fail loudly if a transfer returned something else."""
    if out.shape != expected.shape or out[-1] != expected[-1] or out[1] != expected[1]:
        raise AssertionError("array came back different")


def bench_ray_api(module_name: str, sizes: Sizes) -> tuple[dict[str, float], str]:
    """Run the figures through the Ray API of ``module_name`` (raylike or ray)."""
    ray = import_system(module_name)
    kwargs: dict[str, Any] = {"num_cpus": NUM_CPUS, "include_dashboard": False}
    if module_name == "ray":
        kwargs["log_to_driver"] = False

    start = time.perf_counter()
    ray.init(**kwargs)
    try:
        remote_inc = ray.remote(inc)
        assert ray.get(remote_inc.remote(0)) == 1
        figures = {"startup_s": time.perf_counter() - start}

        start = time.perf_counter()
        results = ray.get([remote_inc.remote(i) for i in range(sizes.tasks)])
        figures["tasks_per_s"] = sizes.tasks / (time.perf_counter() - start)
        assert results == list(range(1, sizes.tasks + 1))

        figures["roundtrip_ms"] = median_ms(lambda: ray.get(remote_inc.remote(1)), sizes.sequential)

        figures["put_get_mb_s"] = transfer_mb_s(lambda a: ray.get(ray.put(a)), sizes.megabytes)
    finally:
        ray.shutdown()
    return figures, describe(ray)


def bench_dask(sizes: Sizes) -> tuple[dict[str, float], str]:
    """Run the figures with raw Dask distributed: the baseline raylike builds on."""
    distributed = import_system("distributed")

    start = time.perf_counter()
    cluster = distributed.LocalCluster(
        n_workers=NUM_CPUS, threads_per_worker=1, processes=True, dashboard_address=None
    )
    client = distributed.Client(cluster)
    try:
        assert client.submit(inc, 0, pure=False).result() == 1
        figures = {"startup_s": time.perf_counter() - start}

        start = time.perf_counter()
        futures = [client.submit(inc, i, pure=False) for i in range(sizes.tasks)]
        results = client.gather(futures)
        figures["tasks_per_s"] = sizes.tasks / (time.perf_counter() - start)
        assert results == list(range(1, sizes.tasks + 1))

        figures["roundtrip_ms"] = median_ms(
            lambda: client.submit(inc, 1, pure=False).result(), sizes.sequential
        )

        def put_get(arr: np.ndarray) -> Any:
            future = client.scatter(arr, direct=True, hash=False)  # a bare ndarray: one future
            return client.gather(future, direct=True)

        figures["put_get_mb_s"] = transfer_mb_s(put_get, sizes.megabytes)
    finally:
        client.close()
        cluster.close()
    return figures, describe(distributed)


def transfer_mb_s(put_get: Callable[[np.ndarray], Any], megabytes: int) -> float:
    """Median put+get throughput over TRANSFERS round trips of one array, in MB/s."""
    arr = make_array(megabytes)
    times = []
    for _ in range(TRANSFERS):
        start = time.perf_counter()
        out = put_get(arr)
        times.append(time.perf_counter() - start)
        check_array(out, arr)
        del out
    return arr.nbytes / 1e6 / statistics.median(times)


def median_ms(call: Callable[[], Any], n: int) -> float:
    """Median wall time of ``n`` sequential calls, in milliseconds."""
    times = []
    for _ in range(n):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


# --------------------------------------------------------------------------- child side


class NotInstalled(Exception):
    """The system's module cannot be imported here."""


def import_system(name: str) -> Any:
    """Import a system's module; raylike falls back to this checkout's source tree."""
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name != name:
            raise
        if name == "raylike" and str(ROOT) not in sys.path:
            sys.path.insert(0, str(ROOT))
            return importlib.import_module(name)
        raise NotInstalled(f"{name} is not installed in {sys.executable}") from exc


def describe(module: Any) -> str:
    """'name version (path)' of an imported module."""
    version = getattr(module, "__version__", "?")
    return f"{module.__name__} {version} ({Path(module.__file__ or '?').parent})"


def run_child(system: str, sizes: Sizes, out_path: Path) -> int:
    """Benchmark one system once and write the outcome as JSON to ``out_path``."""
    outcome: dict[str, Any]
    try:
        if system == "dask":
            figures, version = bench_dask(sizes)
        else:
            figures, version = bench_ray_api(system, sizes)
        outcome = {"status": "ok", "figures": figures, "version": version}
    except NotInstalled as exc:
        outcome = {"status": "skipped", "error": str(exc)}
    except BaseException as exc:  # report anything, including KeyboardInterrupt/SystemExit
        outcome = {"status": "error", "error": f"{type(exc).__name__}: {exc}"}
        import traceback

        traceback.print_exc()
    out_path.write_text(json.dumps(outcome))
    return 0 if outcome["status"] != "error" else 1


# --------------------------------------------------------------------------- parent side


def spawn_child(system: str, sizes: Sizes, timeout: float) -> dict[str, Any]:
    """Run one (system, repeat) in a fresh interpreter; return its outcome."""
    sizes_arg = f"{sizes.tasks},{sizes.sequential},{sizes.megabytes}"
    return run_in_child([sys.executable, __file__, "--child", system, "--sizes", sizes_arg],
                        timeout)


def run_system(system: str, sizes: Sizes, repeat: int, timeout: float) -> dict[str, Any]:
    """All repeats of one system; stops at the first failure."""
    runs: list[dict[str, float]] = []
    result: dict[str, Any] = {"status": "ok", "runs": runs}
    for i in range(1, repeat + 1):
        print(f"  {system:<8} run {i}/{repeat} ...", end=" ", flush=True)
        start = time.monotonic()
        outcome = spawn_child(system, sizes, timeout)
        print(f"{outcome['status']} ({time.monotonic() - start:.1f} s)", flush=True)
        if outcome["status"] != "ok":
            result.update({k: v for k, v in outcome.items() if k != "figures"})
            break
        runs.append(outcome["figures"])
        result["version"] = outcome["version"]
    if runs:  # partial results still count
        result["summary"] = summarize(runs)
    return result


def summarize(runs: list[dict[str, float]]) -> dict[str, dict[str, float]]:
    """Median, min and max of each figure over the runs."""
    keys = runs[0].keys()
    return {
        key: {
            "median": statistics.median(r[key] for r in runs),
            "min": min(r[key] for r in runs),
            "max": max(r[key] for r in runs),
        }
        for key in keys
    }


def format_cell(result: dict[str, Any], figure: Figure) -> str:
    """'median [min-max]' of one figure, or the reason there is none."""
    stats = result.get("summary", {}).get(figure.key)
    if stats is None:
        return "not installed" if result["status"] == "skipped" else f"{result['status']} (below)"
    d = figure.digits
    cell = f"{stats['median']:,.{d}f}"
    if len(result["runs"]) > 1:
        cell += f" [{stats['min']:,.{d}f}-{stats['max']:,.{d}f}]"
    return cell


def format_table(results: dict[str, dict[str, Any]], sizes: Sizes) -> str:
    """The results as a '|'-separated text table, one row per figure, one column per system."""
    header = ["figure", *results]
    rows = [
        [f"{f.label} ({f.unit})", *(format_cell(r, f) for r in results.values())]
        for f in figures_for(sizes)
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        padded = [cells[0].ljust(widths[0])]
        padded += [c.rjust(w) for c, w in zip(cells[1:], widths[1:])]
        return " | ".join(padded)

    rule = "-+-".join("-" * w for w in widths)
    return "\n".join([line(header), rule, *(line(r) for r in rows)])


def format_notes(results: dict[str, dict[str, Any]]) -> str:
    """Versions, and the full errors that the table cells cut short."""
    notes = []
    for system, result in results.items():
        if "version" in result:
            notes.append(f"{system}: {result['version']}")
        if result["status"] != "ok":
            notes.append(f"{system}: {result['status']}: {result.get('error', '')}")
        if result.get("log_tail"):
            tail = "\n".join("    " + ln for ln in result["log_tail"].splitlines()[-25:])
            notes.append(f"{system}: end of its output:\n{tail}")
    return "\n".join(notes)


def machine_info() -> dict[str, Any]:
    """Where the figures come from."""
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "executable": sys.executable,
        "time": time.strftime("%Y-%m-%d %H:%M:%S %z"),
    }


def run_parent(args: argparse.Namespace) -> int:
    """Benchmark each selected system in turn, print the table, optionally save JSON."""
    sizes = QUICK if args.quick else FULL
    repeat = args.repeat or (1 if args.quick else 3)
    info = machine_info()
    print(
        f"bench_core: {'quick' if args.quick else 'full'} sizes {asdict(sizes)}, "
        f"{repeat} repeat(s), Python {info['python']}, {info['cpu_count']} CPUs",
        flush=True,
    )

    results = {s: run_system(s, sizes, repeat, args.timeout) for s in args.only}

    print()
    print(format_table(results, sizes))
    if repeat > 1:
        print(f"\nmedian [min-max] of {repeat} runs; each run is a fresh process per system")
    print(format_notes(results))

    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        doc = {"machine": info, "sizes": asdict(sizes), "repeat": repeat, "systems": results}
        args.json.write_text(json.dumps(doc, indent=2) + "\n")
        print(f"results written to {args.json}")

    missing = [s for s in args.require if not results.get(s, {}).get("runs")]
    if missing:
        print(f"required system(s) produced no figures: {', '.join(missing)}", file=sys.stderr)
        return 1
    return 0


# --------------------------------------------------------------------------- command line


def system_list(text: str) -> list[str]:
    """Parse 'raylike,dask' into a validated list."""
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = sorted(set(names) - set(SYSTEMS))
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown system(s) {unknown}; choose from {SYSTEMS}")
    return names


def parse_sizes(text: str) -> Sizes:
    """Parse 'tasks,sequential,megabytes' (used between parent and child)."""
    tasks, sequential, megabytes = (int(v) for v in text.split(","))
    return Sizes(tasks, sequential, megabytes)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="raylike vs raw Dask vs Ray: start-up, task throughput, round trip, put/get",
    )
    parser.add_argument("--quick", action="store_true", help=f"CI-sized run: {asdict(QUICK)}")
    parser.add_argument("--repeat", type=int, default=0, help="runs per system (3 full, 1 quick)")
    parser.add_argument(
        "--only",
        type=system_list,
        default=list(SYSTEMS),
        help="comma-separated systems, in order (default: raylike,dask,ray)",
    )
    parser.add_argument("--json", type=Path, help="also write the results to this JSON file")
    parser.add_argument(
        "--require",
        type=system_list,
        default=[],
        help="exit 1 if one of these systems produced no figures",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=0,
        help="seconds per child run (default 600 full, 300 quick)",
    )
    parser.add_argument("--child", choices=SYSTEMS, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--sizes", type=parse_sizes, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.repeat < 0:
        parser.error("--repeat must be >= 1")
    if not args.timeout:
        args.timeout = 300.0 if args.quick else 600.0
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child:
        return run_child(args.child, args.sizes, args.out)
    return run_parent(args)


if __name__ == "__main__":
    sys.exit(main())
