"""Actor figures of the suite (``run.py``): sequential call round trip, pipelined calls/s, and
reorderings among the pipelined calls.

Kept for the commands that name it; ``run.py`` has every option. Usage::

    python benchmarks/bench_actors.py --quick
    RAY_PYTHON=/path/to/ray-venv/bin/python python benchmarks/bench_actors.py --json out.json

``--only`` selects engines here (as it always did); in ``run.py`` it selects figures.
"""
from __future__ import annotations

import argparse
import sys

import run

FIGURES = ["actor_roundtrip", "actor_pipelined"]


def translate(argv: list[str] | None) -> list[str]:
    """This script's options as ``run.py`` arguments."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (else full sizes)")
    parser.add_argument("--sequential", type=int, help="sequential calls timed")
    parser.add_argument("--pipelined", type=int, help="calls submitted, then got")
    parser.add_argument("--repeat", type=int, default=3, help="repetitions (default 3)")
    parser.add_argument("--only", default="raylike,dask,ray", help="comma-separated engines")
    parser.add_argument("--ray-python", help="interpreter that has Ray (default $RAY_PYTHON)")
    parser.add_argument("--timeout", type=float, default=0, help="seconds per engine session")
    parser.add_argument("--json", help="results file (default: see run.py --help)")
    args = parser.parse_args(argv)
    out = ["--quick" if args.quick else "--full", "--only", *FIGURES, "--engines", args.only,
           "--repeat", str(args.repeat), "--timeout", str(args.timeout)]
    out += ["--size", f"actor_sequential={args.sequential}"] if args.sequential else []
    out += ["--size", f"actor_pipelined={args.pipelined}"] if args.pipelined else []
    out += ["--ray-python", args.ray_python] if args.ray_python else []
    return out + (["--json", args.json] if args.json else [])


if __name__ == "__main__":
    sys.exit(run.main(translate(None)))
