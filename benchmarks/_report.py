"""The parent's output: statistics over repetitions, the text table, machine info, JSON."""
from __future__ import annotations

import importlib.metadata
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from _engines import ROOT, TITLES
from _figures import Metric

RATIO_AGAINST = ("dask", "ray")  # raylike / each of these


def stats(values: list[float]) -> dict[str, float]:
    """Median, min, max and quartiles of one figure's repetitions."""
    q1, q3 = (statistics.quantiles(values, n=4, method="inclusive")[i] for i in (0, 2)) \
        if len(values) > 1 else (values[0], values[0])
    return {"n": len(values), "median": statistics.median(values), "min": min(values),
            "max": max(values), "q1": q1, "q3": q3}


def summarize(results: dict[str, dict[str, Any]]) -> dict[str, dict[str, dict[str, float]]]:
    """engine -> figure key -> stats, over the repetitions that produced that figure."""
    summary: dict[str, dict[str, dict[str, float]]] = {}
    for engine, result in results.items():
        keys = {k for run in result["runs"] for k in run}
        summary[engine] = {k: stats([run[k] for run in result["runs"] if k in run])
                           for k in sorted(keys)}
    return summary


def number(value: float, digits: int) -> str:
    return f"{value:,.{digits}f}"


def cell(result: dict[str, Any], summary: dict[str, dict[str, float]], metric: Metric) -> str:
    """'median [min-max]' of one figure for one engine, or why there is none."""
    s = summary.get(metric.key)
    if s is None:
        return "not installed" if result["status"] == "skipped" else "failed (below)"
    text = number(s["median"], metric.digits)
    if s["n"] > 1:
        text += f" [{number(s['min'], metric.digits)}-{number(s['max'], metric.digits)}]"
    return text


def ratio(summary: dict[str, dict[str, dict[str, float]]], other: str, metric: Metric) -> str:
    """raylike's median over ``other``'s, or '-'."""
    mine, theirs = (summary.get(e, {}).get(metric.key) for e in ("raylike", other))
    if not metric.ratio or not mine or not theirs or not theirs["median"]:
        return "-"
    return f"{mine['median'] / theirs['median']:.2f}"


def table(results: dict[str, dict[str, Any]], metrics: list[Metric]) -> str:
    """One row per figure: engines' 'median [min-max]', then raylike's ratios."""
    summary = summarize(results)
    others = [o for o in RATIO_AGAINST if o in results and "raylike" in results]
    header = ["figure", "unit", *(TITLES[e] for e in results),
              *(f"raylike/{TITLES[o]}" for o in others)]
    rows = [[m.label, m.unit + (" (low=good)" if m.lower_is_better else ""),
             *(cell(r, summary[e], m) for e, r in results.items()),
             *(ratio(summary, o, m) for o in others)] for m in metrics]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        return " | ".join([cells[0].ljust(widths[0]), cells[1].ljust(widths[1]),
                           *(c.rjust(w) for c, w in zip(cells[2:], widths[2:]))])

    rule = "-+-".join("-" * w for w in widths)
    return "\n".join([line(header), rule, *(line(r) for r in rows)])


def notes(results: dict[str, dict[str, Any]], repeat: int) -> str:
    """What the table means, versions, and the errors that the cells cut short."""
    lines = [f"median [min-max] of {repeat} repetition(s), each a fresh process per engine",
             "ratios: raylike's median / the other's (in 'low=good' rows, < 1 means raylike "
             "is faster; elsewhere > 1 does)"]
    for engine, result in results.items():
        where = f"{result.get('version', '?')}, Python {result.get('python_version', '?')}"
        lines.append(f"{engine}: {result['status']}: {where} ({result['python']})")
        lines += [f"  {e}" for e in result["errors"]]
        if result.get("log_tail"):
            lines += ["  end of its output:",
                      *("    " + ln for ln in result["log_tail"].splitlines()[-25:])]
    return "\n".join(lines)


def versions() -> dict[str, str]:
    """Installed versions of the packages the suite involves, in this interpreter."""
    found = {"raylike": f"source tree {ROOT}"} if (ROOT / "raylike").is_dir() else {}
    for name in ("raylike", "dask", "distributed", "numpy", "cloudpickle", "ray"):
        if name in found:
            continue
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def machine_info() -> dict[str, Any]:
    """Where the figures come from."""
    pages, page_size = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
    return {
        "cpu_count": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "memory_gb": round(pages * page_size / 1e9, 1),
        "load_average": os.getloadavg(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "executable": sys.executable,
        "packages": versions(),
    }


def write_json(path: Path, doc: dict[str, Any], results: dict[str, dict[str, Any]],
               metrics: list[Metric]) -> None:
    """The whole run: settings, machine, raw repetitions, statistics and the rows shown."""
    doc = {**doc, "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
           "load_average_at_end": os.getloadavg(),
           "rows": [vars(m) for m in metrics], "engines": results,
           "summary": summarize(results)}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=2) + "\n")
