"""What the benchmark scripts share: running one measurement in a fresh interpreter."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import tempfile
from pathlib import Path
from typing import Any

LOG_TAIL = 3000  # characters of a failed child's output kept for the report


def run_in_child(cmd: list[str], timeout: float) -> dict[str, Any]:
    """Run ``cmd + ["--out", PATH]`` (a benchmark's ``--child`` mode, which writes its outcome
    as JSON to PATH, possibly several times as it goes); return that outcome. A child that
    dies or times out gives an error outcome with what it wrote so far and its last output."""
    env = dict(os.environ, RAY_USAGE_STATS_ENABLED="0", PYTHONUNBUFFERED="1")
    with tempfile.TemporaryDirectory(prefix="raylike_bench_") as tmp:
        out = Path(tmp) / "outcome.json"
        # its own session: on a timeout the whole group (cluster processes too) is killed
        proc = subprocess.Popen([*cmd, "--out", str(out)], env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, start_new_session=True)
        try:
            log, _ = proc.communicate(timeout=timeout)
            failure, timed_out = f"child died (exit {proc.returncode})", False
        except subprocess.TimeoutExpired:
            kill_group(proc.pid)
            log, _ = proc.communicate()
            failure, timed_out = f"timed out after {timeout:.0f} s", True
        outcome = read_outcome(out)
    if outcome.get("status") in (None, "running"):
        outcome.update(status="error", error=failure)
    outcome["timed_out"] = timed_out
    if outcome["status"] == "error" or outcome.get("errors"):
        outcome["log_tail"] = (log or "")[-LOG_TAIL:]
    return outcome


def record(result: dict[str, Any], outcome: dict[str, Any], where: str) -> bool:
    """Note a session's versions and errors in the engine's result; False when the engine
    should stop (it is not installed, did not even start, or hung)."""
    for key in ("version", "python_version", "log_tail"):
        if key in outcome:
            result[key] = outcome[key]
    result["errors"] += [f"{where}, {name}: {error}"
                         for name, error in outcome.get("errors", {}).items()]
    if outcome["status"] == "ok":
        return True
    result["status"] = outcome["status"]
    result["errors"].append(outcome["error"] if outcome["status"] == "skipped"
                            else f"{where}: {outcome['error']}")
    return bool(outcome.get("figures")) and not outcome["timed_out"]


def read_outcome(path: Path) -> dict[str, Any]:
    """The child's last complete outcome, or an empty one."""
    try:
        outcome: dict[str, Any] = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return outcome


def kill_group(pid: int) -> None:
    """SIGKILL the process group that ``pid`` leads (the child and what it started)."""
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
