"""The microbenchmark (Ray's `ray microbenchmark` list, ``benchmarks/microbenchmark.py``) runs
its quick code path on raylike, at tiny sizes (with a tiny task burst, a full-mode figure),
and produces a figure for every row. Figures are
never asserted: only that each is a number."""
from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "microbenchmark.py"
TINY = {"batch": 5, "put_elements": 1000, "small_put_tasks": 2, "small_puts": 2,
        "big_put_tasks": 2, "big_puts": 1, "big_put_elements": 1000, "contained_refs": 10,
        "wait_refs": 3, "clients": 2, "client_tasks": 3, "calls_1n": 3, "calls_arg": 3,
        "placement_groups": 2, "burst_tasks": 20, "warmup_s": 0, "rounds": 1, "round_s": 0}


@pytest.mark.timeout(240)
def test_quick_microbenchmark_gives_every_figure_on_raylike(tmp_path: Path) -> None:
    results = tmp_path / "micro.json"
    sizes = [arg for name, value in TINY.items() for arg in ("--size", f"{name}={value}")]
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--engines", "raylike", "--require",
         "raylike", "--timeout", "180", "--json", str(results), *sizes],
        capture_output=True, text=True, timeout=220)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    doc = json.loads(results.read_text())
    engine = doc["engines"]["raylike"]
    assert engine["status"] == "ok" and not engine["errors"], engine
    figures = engine["runs"][0]
    keys = [row["key"] for row in doc["rows"]]
    assert "single client tasks sync" in keys and "placement group create/removal" in keys
    assert "task burst peak memory" in keys  # a burst size turns the full-mode figure on
    for key in keys:
        mean, sd = figures[key]
        assert math.isfinite(mean) and math.isfinite(sd), (key, figures[key])
        assert mean >= 0 if key.endswith("memory") else mean > 0, (key, mean)
    header = next(ln for ln in proc.stdout.splitlines() if ln.startswith("figure "))
    assert header.split() == ["figure", "|", "unit", "|", "raylike"]  # no Ray, no ratio
    assert results.with_suffix(".txt").read_text().count("\n") > len(keys)
