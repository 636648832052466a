"""Ray's `ray microbenchmark` list, on raylike and Ray in one run, beside raw Dask where Dask
has a direct equivalent.

Each engine runs in a fresh interpreter of its own (engines take turns: raylike, Ray, Dask),
started once, with the very same Ray-API code for raylike and Ray. The table shows each figure
under Ray's name, raylike's and Ray's rates, raylike/Ray, and Dask's rate or "—".

Usage (from the repository root)::

    python benchmarks/microbenchmark.py --quick           # small sizes, short timing (~2-3 min)
    python benchmarks/microbenchmark.py --full            # Ray's sizes and timing (long)
    python benchmarks/microbenchmark.py --only "actor calls" --engines raylike,ray
    python benchmarks/microbenchmark.py --list            # the figures and the sizes

Exit status: 0 when the run ended (whatever the figures), 1 when an engine named by
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

from _harness import record, run_in_child
from _micro_figures import FIGURES, FULL, QUICK, MicroSizes, from_json, override, rows, select
from _micro_report import notes, table, write_json
from _report import machine_info
from run import engine_list

HERE = Path(__file__).resolve().parent
ORDER = ("raylike", "ray", "dask")


def spawn(engine: str, python: str, figures: list[str], sizes: MicroSizes,
          timeout: float) -> dict[str, Any]:
    """One engine's session in a fresh interpreter; its outcome."""
    return run_in_child([python, str(HERE / "microbenchmark.py"), "--child", engine,
                         "--figures-json", json.dumps(figures),
                         "--sizes-json", json.dumps(dataclasses.asdict(sizes))], timeout)


def run_once(engine: str, result: dict[str, Any], rep: int, args: argparse.Namespace) -> bool:
    """One session of one engine; False when the engine should not run again."""
    print(f"  rep {rep}/{args.repeat} {engine:<8} ...", end=" ", flush=True)
    start = time.monotonic()
    outcome = spawn(engine, result["python"], args.figures, args.sizes, args.timeout)
    print(f"{outcome['status']} ({time.monotonic() - start:.1f} s)", flush=True)
    if "startup_s" in outcome:
        result["startup_s"].append(outcome["startup_s"])
    if outcome.get("figures"):
        result["runs"].append(outcome["figures"])
    return record(result, outcome, f"rep {rep}")


def run_parent(args: argparse.Namespace) -> int:
    started = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    info = machine_info()
    mode = "quick" if args.quick else "full"
    load = ", ".join(f"{x:.1f}" for x in info["load_average"])
    header = (f"raylike microbenchmark (Ray's list), {started}: {mode} mode, {args.repeat} "
              f"repetition(s); {info['cpu_count']} CPUs, load {load}")
    print(header, flush=True)
    results: dict[str, dict[str, Any]] = {
        e: {"python": args.ray_python if e == "ray" else args.python, "status": "ok",
            "runs": [], "startup_s": [], "errors": []} for e in args.engines}
    active = list(args.engines)
    for rep in range(1, args.repeat + 1):
        active = [e for e in active if run_once(e, results[e], rep, args)]
    shown = rows(args.figures, args.sizes)
    text = f"{table(results, shown)}\n\n{notes(results, args.repeat)}\n"
    print(f"\n{text}", end="")
    if args.json:
        load_end = ", ".join(f"{x:.1f}" for x in os.getloadavg())
        doc = {"mode": mode, "started": started, "argv": sys.argv, "repeat": args.repeat,
               "figures": args.figures, "sizes": dataclasses.asdict(args.sizes),
               "machine": info}
        write_json(args.json, doc, results, shown)
        args.json.with_suffix(".txt").write_text(f"{header}, at the end {load_end}\n\n{text}")
        print(f"results written to {args.json} (table: {args.json.with_suffix('.txt').name})")
    missing = [e for e in args.require if not results.get(e, {}).get("runs")]
    if missing:
        print(f"required engine(s) produced no figures: {', '.join(missing)}", file=sys.stderr)
        return 1
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Ray's `ray microbenchmark` figures on raylike and Ray (and raw Dask where "
                    "it has an equivalent), each engine in its own process, in one run.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="figures (Ray's names):\n" + "\n".join(f"  {f.name}" for f in FIGURES))
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true",
                      help="small sizes, short timing (the default; what CI runs)")
    mode.add_argument("--full", action="store_true",
                      help="Ray's sizes and timing, plus the 100k-task burst (long)")
    parser.add_argument("--engines", type=engine_list, default=list(ORDER),
                        help="comma-separated engines, in order (default: raylike,ray,dask)")
    parser.add_argument("--only", nargs="+", metavar="TEXT",
                        help="the figures whose name contains one of these")
    parser.add_argument("--repeat", type=int, default=1, help="sessions per engine (default 1)")
    parser.add_argument("--size", action="append", default=[], metavar="NAME=VALUE",
                        help="override one size or timing, e.g. batch=500 or rounds=2 (--list)")
    parser.add_argument("--json", type=Path,
                        help="results file (default benchmarks/results/<time>-micro-<mode>.json)")
    parser.add_argument("--no-json", action="store_true", help="write no results file")
    parser.add_argument("--require", type=engine_list, default=[],
                        help="exit 1 if one of these engines produced no figures")
    parser.add_argument("--python", default=sys.executable,
                        help="interpreter for raylike and Dask (default: this one)")
    parser.add_argument("--ray-python", default=os.environ.get("RAY_PYTHON") or sys.executable,
                        help="interpreter that has Ray (default: $RAY_PYTHON, else this one)")
    parser.add_argument("--timeout", type=float, default=0,
                        help="seconds per engine session (default 300 quick, 3600 full)")
    parser.add_argument("--list", action="store_true", help="list the figures and sizes")
    parser.add_argument("--child", choices=ORDER, help=argparse.SUPPRESS)
    parser.add_argument("--figures-json", help=argparse.SUPPRESS)
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
    args.figures = select(args.only, args.sizes)
    if not args.figures and not args.child:
        parser.error(f"--only {args.only}: no figure's name contains these")
    args.timeout = args.timeout or (300.0 if args.quick else 3600.0)
    if not args.json and not args.no_json:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        args.json = HERE / "results" / f"{stamp}-micro-{'quick' if args.quick else 'full'}.json"
    if args.no_json:
        args.json = None
    return args


def print_list() -> None:
    for f in FIGURES:
        notes = [" Dask too"] * f.dask + [" (raylike's figure, not Ray's; full mode)"] * f.ours
        print(f"  {f.name:<46} {f.unit:<8}{''.join(notes)}")
    for name, sizes in (("quick", QUICK), ("full", FULL)):
        print(f"\n{name} sizes (--size NAME=VALUE):")
        for key, value in dataclasses.asdict(sizes).items():
            print(f"  {key:<17} {value}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child:
        from _micro_measure import run_session  # the child imports what only it needs

        return run_session(args.child, json.loads(args.figures_json),
                           from_json(json.loads(args.sizes_json)), args.out)
    if args.list:
        print_list()
        return 0
    return run_parent(args)


if __name__ == "__main__":
    sys.exit(main())
