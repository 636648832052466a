"""What the benchmark scripts share: running one measurement in a fresh interpreter."""
from __future__ import annotations

import json
import os
import subprocess
import tempfile
from pathlib import Path
from typing import Any


def run_in_child(cmd: list[str], timeout: float) -> dict[str, Any]:
    """Run ``cmd + ["--out", PATH]`` (a benchmark's ``--child`` mode, which writes its outcome
    as JSON to PATH); return that outcome, or an error outcome with the child's last output."""
    env = dict(os.environ, RAY_USAGE_STATS_ENABLED="0", PYTHONUNBUFFERED="1")
    with tempfile.TemporaryDirectory(prefix="raylike_bench_") as tmp:
        out = Path(tmp) / "outcome.json"
        try:
            proc = subprocess.run([*cmd, "--out", str(out)], env=env, capture_output=True,
                                  text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return {"status": "error", "error": f"timed out after {timeout:.0f} s"}
        if out.exists():
            outcome: dict[str, Any] = json.loads(out.read_text())
        else:
            outcome = {"status": "error", "error": f"child died (exit {proc.returncode})"}
    if outcome["status"] == "error":
        outcome["log_tail"] = (proc.stdout + proc.stderr)[-3000:]
    return outcome
