"""Run every ``examples/[0-9]*.py`` script in order; exit non-zero if any fails.

Used by ``tox -e examples``. Each script runs as its own subprocess with the current
interpreter, from the repository root, with a 300 s time limit; its output goes on to
this process's stdout/stderr. A script that exits 0 but printed a traceback on stderr (a
Dask traceback at shutdown, say) fails too.

    python examples/run_all.py [--timeout SECONDS] [NAME_SUBSTRING ...]

Exit status: 0 all passed, 1 some failed or timed out, 5 no example matched.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO

EXAMPLES = Path(__file__).resolve().parent
ROOT = EXAMPLES.parent


def find_examples(filters: list[str]) -> list[Path]:
    """The numbered example scripts, sorted, optionally filtered by name substrings."""
    scripts = sorted(EXAMPLES.glob("[0-9]*.py"))
    if filters:
        scripts = [s for s in scripts if any(f in s.name for f in filters)]
    return scripts


def run_one(script: Path, timeout: float) -> tuple[str, float]:
    """Run one script in its own process group; return (outcome, seconds)."""
    print(f"\n===== {script.name} =====", flush=True)
    start = time.monotonic()
    proc = subprocess.Popen([sys.executable, str(script)], cwd=ROOT, start_new_session=True,
                            stderr=subprocess.PIPE, text=True, errors="replace")
    tracebacks = [0]
    relay = threading.Thread(target=_relay, args=(proc.stderr, tracebacks), daemon=True)
    relay.start()
    try:
        rc = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        # kill the whole group: examples may leave worker processes behind
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        return f"TIMEOUT after {timeout:.0f} s", time.monotonic() - start
    relay.join(timeout=10)
    elapsed = time.monotonic() - start
    if rc != 0:
        return f"FAILED (exit {rc})", elapsed
    return ("ok" if not tracebacks[0] else "FAILED (traceback on stderr)"), elapsed


def _relay(stream: IO[str], tracebacks: list[int]) -> None:
    """Copy a script's stderr to ours, counting the tracebacks in it."""
    for line in stream:
        sys.stderr.write(line)
        if line.startswith("Traceback (most recent call last)"):
            tracebacks[0] += 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds per script")
    parser.add_argument("filters", nargs="*", help="only run scripts whose name contains one")
    args = parser.parse_args(argv)

    scripts = find_examples(args.filters)
    if not scripts:
        print(f"no example matched {EXAMPLES}/[0-9]*.py {args.filters or ''}", file=sys.stderr)
        return 5
    results = [(s.name, *run_one(s, args.timeout)) for s in scripts]

    print("\n===== summary =====")
    for name, outcome, elapsed in results:
        print(f"{name:<40} {outcome:<24} {elapsed:7.1f} s")
    failed = [name for name, outcome, _ in results if outcome != "ok"]
    if failed:
        print(f"{len(failed)} of {len(results)} examples failed: {', '.join(failed)}")
        return 1
    print(f"all {len(results)} examples passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
