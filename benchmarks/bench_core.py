"""Core figures of the suite (``run.py``): start-up, task throughput, task round trip, put/get.

Kept for the commands that name it; ``run.py`` has every option. Usage::

    python benchmarks/bench_core.py --quick --require raylike
    python benchmarks/bench_core.py --only dask,ray --repeat 5 --json out.json

``--only`` selects engines here (as it always did); in ``run.py`` it selects figures.
"""
from __future__ import annotations

import argparse
import sys

import run

FIGURES = ["startup", "tasks", "roundtrip", "put_get"]


def translate(argv: list[str] | None) -> list[str]:
    """This script's options as ``run.py`` arguments."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (else full sizes)")
    parser.add_argument("--repeat", type=int, default=3, help="repetitions (default 3)")
    parser.add_argument("--only", default="raylike,dask,ray", help="comma-separated engines")
    parser.add_argument("--json", help="results file (default: see run.py --help)")
    parser.add_argument("--require", default="", help="exit 1 if these produced no figures")
    parser.add_argument("--timeout", type=float, default=0, help="seconds per engine session")
    args = parser.parse_args(argv)
    out = ["--quick" if args.quick else "--full", "--only", *FIGURES, "--engines", args.only,
           "--repeat", str(args.repeat), "--timeout", str(args.timeout)]
    out += ["--json", args.json] if args.json else []
    return out + (["--require", args.require] if args.require else [])


if __name__ == "__main__":
    sys.exit(run.main(translate(None)))
