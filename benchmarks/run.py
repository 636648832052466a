"""raylike's benchmark suite: raylike beside raw Dask and real Ray, in one run.

Every figure is measured for each engine, several times; the table shows the median and the
spread [min-max] of the repetitions, and raylike's ratio to the others. The JSON file holds
every repetition, the machine and the package versions. Each (repetition, engine) is a fresh
interpreter that starts the engine once (the start-up figure) and measures the selected figures
in a row; engines take turns within each repetition, so they never share a process or the CPUs.

Usage (from the repository root)::

    python benchmarks/run.py --quick                       # CI: core figures, small sizes
    python benchmarks/run.py --full                        # every figure, scaling series too
    python benchmarks/run.py --only tasks put_get --engines raylike,dask --repeat 5
    python benchmarks/run.py --full --ray-python /path/to/ray-venv/bin/python
    python benchmarks/run.py --list                        # the figures and the sizes

Exit status: 0 when the suite ran (whatever the figures), 1 when an engine named by
``--require`` produced no figures, 2 on usage errors.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from _engines import ENGINES, TITLES
from _figures import (
    BY_NAME,
    FIGURES,
    FULL,
    MAIN_CPUS,
    QUICK,
    SPEEDUP_CPUS,
    Sizes,
    default_figures,
    derive,
    from_json,
    metrics,
    override,
)
from _harness import record, run_in_child
from _report import machine_info, notes, table, write_json

HERE = Path(__file__).resolve().parent
Plan = list[tuple[int, list[str]]]  # the sessions of one repetition: (CPUs, figures)


def plan(figures: list[str]) -> Plan:
    """One session on MAIN_CPUS for all figures, plus one per other CPU count they need."""
    sessions: Plan = [(MAIN_CPUS, figures)]
    if "cpu_speedup" in figures:
        sessions += [(n, ["cpu_speedup"]) for n in SPEEDUP_CPUS if n != MAIN_CPUS]
    return sessions


def spawn(engine: str, python: str, cpus: int, figures: list[str], sizes: Sizes,
          timeout: float) -> dict[str, Any]:
    """One session in a fresh interpreter; its outcome."""
    return run_in_child([python, str(HERE / "run.py"), "--child", engine, "--cpus", str(cpus),
                         "--figures", ",".join(figures),
                         "--sizes-json", json.dumps(dataclasses.asdict(sizes))], timeout)


def run_once(engine: str, result: dict[str, Any], rep: int, args: argparse.Namespace) -> bool:
    """One repetition of one engine (all its sessions); False when the engine should stop."""
    run: dict[str, float] = {}
    go_on = True
    for cpus, figures in plan(args.only):
        label = f"  rep {rep}/{args.repeat} {engine:<8} {cpus} CPU{'s' * (cpus > 1)}"
        print(f"{label} ...", end=" ", flush=True)
        start = time.monotonic()
        outcome = spawn(engine, result["python"], cpus, figures, args.sizes, args.timeout)
        print(f"{outcome['status']} ({time.monotonic() - start:.1f} s)", flush=True)
        run.update(outcome.get("figures", {}))
        go_on = record(result, outcome, f"rep {rep}, {cpus} CPUs")
        if not go_on:
            break
    if run:  # partial figures count too
        derive(run)
        result["runs"].append(run)
    return go_on


def run_parent(args: argparse.Namespace) -> int:
    """Every repetition of every engine, then the table, the JSON file and the exit status."""
    started = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    info = machine_info()
    mode = "quick" if args.quick else "full"
    load = ", ".join(f"{x:.1f}" for x in info["load_average"])
    header = (f"raylike benchmarks, {started}: {mode} mode, {args.repeat} repetition(s), "
              f"figures {', '.join(args.only)}; {info['cpu_count']} CPUs, load {load}")
    print(header, flush=True)
    results: dict[str, dict[str, Any]] = {
        e: {"python": args.ray_python if e == "ray" else args.python, "status": "ok",
            "runs": [], "errors": []} for e in args.engines}
    active = list(args.engines)
    for rep in range(1, args.repeat + 1):
        active = [e for e in active if run_once(e, results[e], rep, args)]

    rows = metrics(args.only, args.sizes)
    text = f"{table(results, rows)}\n\n{notes(results, args.repeat)}\n"
    print(f"\n{text}", end="")
    text = f"{header}\n\n{text}"
    if args.json:
        doc = {"mode": mode, "started": started, "argv": sys.argv,
               "repeat": args.repeat, "figures": args.only,
               "sizes": dataclasses.asdict(args.sizes), "machine": info}
        write_json(args.json, doc, results, rows)
        args.json.with_suffix(".txt").write_text(text)
        print(f"results written to {args.json} (table: {args.json.with_suffix('.txt').name})")
    missing = [e for e in args.require if not results.get(e, {}).get("runs")]
    if missing:
        print(f"required engine(s) produced no figures: {', '.join(missing)}", file=sys.stderr)
        return 1
    return 0


# --------------------------------------------------------------------------- command line


def engine_list(text: str) -> list[str]:
    """Parse 'raylike,dask' into a validated list."""
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = sorted(set(names) - set(ENGINES))
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown engine(s) {unknown}; choose from {ENGINES}")
    return names


def figure_list() -> str:
    """The figures, for --help and --list."""
    lines = [f"  {f.name:<16} {f.help}{'' if f.in_quick else ' (full mode)'}" for f in FIGURES]
    return "figures:\n" + "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="raylike beside raw Dask and real Ray: start-up, tasks, round trips, "
                    "put/get, actors, scaling and CPU speed-up; median and spread of N runs.",
        epilog=figure_list(), formatter_class=argparse.RawDescriptionHelpFormatter)
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true",
                      help="small sizes, core figures (the default; what CI runs)")
    mode.add_argument("--full", action="store_true",
                      help="full sizes, every figure including the scaling series (long)")
    parser.add_argument("--engines", type=engine_list, default=list(ENGINES),
                        help="comma-separated engines, in order (default: raylike,dask,ray; "
                             "an engine that is not installed is reported and skipped)")
    parser.add_argument("--only", nargs="+", choices=list(BY_NAME), metavar="FIGURE",
                        help="measure these figures only (any mode; see the list below)")
    parser.add_argument("--repeat", type=int, default=3, help="repetitions (default 3)")
    parser.add_argument("--size", action="append", default=[], metavar="NAME=VALUE",
                        help="override one size, e.g. tasks=1000 or mb_series=1,10 "
                             "(see --list)")
    parser.add_argument("--json", type=Path,
                        help="results file (default benchmarks/results/<time>-<mode>.json)")
    parser.add_argument("--no-json", action="store_true", help="write no results file")
    parser.add_argument("--require", type=engine_list, default=[],
                        help="exit 1 if one of these engines produced no figures")
    parser.add_argument("--python", default=sys.executable,
                        help="interpreter for raylike and Dask (default: this one)")
    parser.add_argument("--ray-python", default=os.environ.get("RAY_PYTHON") or sys.executable,
                        help="interpreter that has Ray (default: $RAY_PYTHON, else this one)")
    parser.add_argument("--timeout", type=float, default=0,
                        help="seconds per engine session (default 120 quick, 3600 full); "
                             "an engine that runs out of time is not run again")
    parser.add_argument("--list", action="store_true", help="list the figures and sizes")
    parser.add_argument("--child", choices=ENGINES, help=argparse.SUPPRESS)
    parser.add_argument("--cpus", type=int, default=MAIN_CPUS, help=argparse.SUPPRESS)
    parser.add_argument("--figures", default="", help=argparse.SUPPRESS)
    parser.add_argument("--sizes-json", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    return parser


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = build_parser()
    args = parser.parse_args(argv)
    args.quick = not args.full
    args.sizes = QUICK if args.quick else FULL
    try:
        for assignment in args.size:
            args.sizes = override(args.sizes, assignment)
    except ValueError as exc:
        parser.error(f"--size: {exc}")
    if args.repeat < 1:
        parser.error("--repeat must be >= 1")
    args.only = args.only or default_figures(args.quick)
    args.timeout = args.timeout or (120.0 if args.quick else 3600.0)
    if not args.json and not args.no_json:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        args.json = HERE / "results" / f"{stamp}-{'quick' if args.quick else 'full'}.json"
    if args.no_json:
        args.json = None
    return args


def print_list() -> None:
    """The figures, and the sizes of each mode."""
    print(figure_list())
    for name, sizes in (("quick", QUICK), ("full", FULL)):
        print(f"\n{name} sizes (--size NAME=VALUE):")
        for key, value in dataclasses.asdict(sizes).items():
            print(f"  {key:<17} {value}")
    print(f"\nengines: {', '.join(f'{e} ({TITLES[e]})' for e in ENGINES)}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child:
        from _measure import run_session  # the child imports what only it needs

        sizes = from_json(json.loads(args.sizes_json))
        return run_session(args.child, args.cpus, args.figures.split(","), sizes, args.out)
    if args.list:
        print_list()
        return 0
    return run_parent(args)


if __name__ == "__main__":
    sys.exit(main())
