"""The microbenchmark's table and results file."""
from __future__ import annotations

import json
import os
import statistics
import time
from pathlib import Path
from typing import Any

from _micro_figures import Row

NO_EQUIVALENT = "—"


def number(value: float) -> str:
    """A figure with as many digits as its size calls for."""
    if abs(value) < 1:
        return f"{value:.2g}"
    digits = 0 if abs(value) >= 100 else 1 if abs(value) >= 10 else 2
    return f"{value:,.{digits}f}"


def values(result: dict[str, Any], key: str) -> list[list[float]]:
    """[mean, sd] of ``key`` in each repetition that produced it."""
    return [run[key] for run in result["runs"] if key in run]


def median(result: dict[str, Any] | None, key: str) -> float | None:
    found = values(result, key) if result else []
    return statistics.median(v[0] for v in found) if found else None


def cell(result: dict[str, Any] | None, row: Row, engine: str) -> str:
    """One repetition: 'mean ±sd%' (sd over its rounds); several: 'median [min-max]' of the
    repetitions' means; or why there is no figure."""
    if result is None:
        return ""
    if engine == "dask" and not row.dask:
        return NO_EQUIVALENT
    found = values(result, row.key)
    if not found:
        return "not installed" if result["status"] == "skipped" else "failed (below)"
    if len(found) == 1:
        mean, sd = found[0]
        return number(mean) + (f" ±{sd / mean:.0%}" if sd and mean else "")
    means = [v[0] for v in found]
    return f"{number(statistics.median(means))} [{number(min(means))}-{number(max(means))}]"


def table(results: dict[str, dict[str, Any]], rows: list[Row]) -> str:
    """figure | unit | raylike | Ray | raylike/Ray | Dask (the engines in the run)."""
    mine, ray, dask = (results.get(e) for e in ("raylike", "ray", "dask"))
    header = ["figure", "unit"]
    header += ["raylike"] * bool(mine) + ["Ray"] * bool(ray) + ["raylike/Ray"] * bool(
        mine and ray) + ["Dask"] * bool(dask)
    lines = []
    for row in rows:
        cells = [row.label, row.unit + (" (low=good)" if row.lower_is_better else "")]
        cells += [cell(mine, row, "raylike")] * bool(mine) + [cell(ray, row, "ray")] * bool(ray)
        if mine and ray:
            a, b = median(mine, row.key), median(ray, row.key)
            cells.append(f"{a / b:.2f}" if a is not None and b else "-")
        cells += [cell(dask, row, "dask")] * bool(dask)
        lines.append(cells)
    widths = [max(len(r[i]) for r in [header, *lines]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        return " | ".join([cells[0].ljust(widths[0]), cells[1].ljust(widths[1]),
                           *(c.rjust(w) for c, w in zip(cells[2:], widths[2:]))])

    rule = "-+-".join("-" * w for w in widths)
    return "\n".join([line(header), rule, *(line(r) for r in lines)])


def notes(results: dict[str, dict[str, Any]], repeat: int) -> str:
    """What the cells mean, each engine's version and start-up, and the errors."""
    spread = ("mean ±sd over the timed rounds of one session" if repeat == 1 else
              f"median [min-max] of {repeat} sessions' means")
    lines = [f"cells: {spread}; raylike/Ray: > 1 means raylike is faster (memory: < 1); "
             f"Dask {NO_EQUIVALENT}: no direct Dask equivalent"]
    for engine, result in results.items():
        starts = ", ".join(f"{s:.1f}" for s in result["startup_s"]) or "-"
        lines.append(f"{engine}: {result['status']}: {result.get('version', '?')}, Python "
                     f"{result.get('python_version', '?')}, start-up {starts} s "
                     f"({result['python']})")
        lines += [f"  {e}" for e in result["errors"]]
        if result.get("log_tail"):
            lines += ["  end of its output:",
                      *("    " + ln for ln in result["log_tail"].splitlines()[-25:])]
    return "\n".join(lines)


def write_json(path: Path, doc: dict[str, Any], results: dict[str, dict[str, Any]],
               rows: list[Row]) -> None:
    """The whole run: settings, machine, every session's figures, the rows shown."""
    doc = {**doc, "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
           "load_average_at_end": os.getloadavg(), "rows": [vars(r) for r in rows],
           "engines": results}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=2) + "\n")
