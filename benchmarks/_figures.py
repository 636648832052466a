"""What the suite measures: the figures, the table rows each one produces, and the sizes."""
from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

MAIN_CPUS = 2  # every engine runs on this many CPUs; the CPU-bound figure also runs on 1
SPEEDUP_CPUS = (1, MAIN_CPUS)


@dataclass(frozen=True)
class Sizes:
    """How much work each figure does."""

    tasks: int  # trivial tasks submitted, then gathered
    sequential: int  # sequential task round trips
    megabytes: int  # the array put, then got
    actor_sequential: int  # sequential actor calls
    actor_pipelined: int  # actor calls submitted, then got
    task_series: tuple[int, ...]  # scaling: trivial tasks per step
    mb_series: tuple[int, ...]  # scaling: array size per step
    cpu_tasks: int  # CPU-bound tasks, each a pure-Python loop of cpu_loops steps
    cpu_loops: int
    sort_elements: int = 1_000_000  # the list a tree of nested tasks sorts (leaves: 1/20)


QUICK = Sizes(tasks=500, sequential=100, megabytes=20, actor_sequential=200,
              actor_pipelined=1000, task_series=(100, 1000), mb_series=(1, 10),
              cpu_tasks=8, cpu_loops=1_000_000, sort_elements=1_000_000)
FULL = Sizes(tasks=2000, sequential=1000, megabytes=100, actor_sequential=1000,
             actor_pipelined=5000, task_series=(1000, 10_000, 100_000),
             mb_series=(1, 10, 100, 1000), cpu_tasks=16, cpu_loops=5_000_000,
             sort_elements=4_000_000)


def from_json(doc: dict[str, Any]) -> Sizes:
    """Sizes from ``dataclasses.asdict`` sent through JSON (series come back as lists)."""
    fixed: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in doc.items()}
    return Sizes(**fixed)


def override(sizes: Sizes, assignment: str) -> Sizes:
    """``sizes`` with one field set from 'NAME=VALUE' (a series as '1,10,100')."""
    name, sep, text = assignment.partition("=")
    names = [f.name for f in dataclasses.fields(Sizes)]
    if not sep or name not in names:
        raise ValueError(f"expected NAME=VALUE with NAME one of {', '.join(names)}")
    values = tuple(int(v) for v in text.split(","))
    if not name.endswith("_series") and len(values) != 1:
        raise ValueError(f"{name} takes one number")
    value: Any = values if name.endswith("_series") else values[0]
    return dataclasses.replace(sizes, **{name: value})


@dataclass(frozen=True)
class Metric:
    """One row of the table."""

    key: str
    label: str
    unit: str
    digits: int
    lower_is_better: bool = False
    ratio: bool = True  # False: a count, where a ratio means nothing


@dataclass(frozen=True)
class Figure:
    """A named measurement (what ``--only`` selects); it fills one or more rows."""

    name: str
    help: str
    rows: Callable[[Sizes], list[Metric]]
    in_quick: bool = True  # part of the default quick run (every figure is in the full run)


def _mb(megabytes: int) -> str:
    return f"{megabytes // 1000} GB" if megabytes >= 1000 else f"{megabytes} MB"


FIGURES: tuple[Figure, ...] = (
    Figure("startup", "init to the first task's result (imports excluded)", lambda s: [
        Metric("startup_s", "start-up: init -> 1st result", "s", 2, lower_is_better=True)]),
    Figure("tasks", "trivial tasks submitted, then gathered at once", lambda s: [
        Metric("tasks_per_s", f"{s.tasks:,} tasks submit+gather", "tasks/s", 0)]),
    Figure("roundtrip", "sequential get(f.remote()) round trips, median", lambda s: [
        Metric("roundtrip_ms", f"task round trip, median of {s.sequential:,}", "ms", 2,
               lower_is_better=True)]),
    Figure("put_get", "a float64 numpy array put, then got back", lambda s: [
        Metric("put_get_mb_s", f"{_mb(s.megabytes)} array put+get", "MB/s", 0)]),
    Figure("actor_roundtrip", "sequential get(actor.incr.remote()), median", lambda s: [
        Metric("actor_roundtrip_ms", f"actor call, median of {s.actor_sequential:,}", "ms", 2,
               lower_is_better=True)]),
    Figure("actor_pipelined", "actor calls submitted, then all got at once", lambda s: [
        Metric("actor_calls_per_s", f"{s.actor_pipelined:,} actor calls pipelined", "calls/s",
               0),
        Metric("actor_reorderings", "  reorderings among them", "count", 0,
               lower_is_better=True, ratio=False)]),
    Figure("nested_sort", "a quicksort tree of tasks passing list halves to child tasks",
           lambda s: [Metric("nested_sort_s", f"nested tasks: sort {s.sort_elements:,} ints",
                             "s", 2, lower_is_better=True)], in_quick=False),
    Figure("tasks_scaling", "tasks/s as the number of trivial tasks grows", lambda s: [
        Metric(f"tasks_per_s@{n}", f"scaling: {n:,} tasks submit+gather", "tasks/s", 0)
        for n in s.task_series], in_quick=False),
    Figure("put_get_scaling", "put+get MB/s as the array grows", lambda s: [
        Metric(f"put_get_mb_s@{mb}", f"scaling: {_mb(mb)} array put+get", "MB/s", 0)
        for mb in s.mb_series], in_quick=False),
    Figure("cpu_speedup", "CPU-bound tasks on 1 CPU, then on 2 CPUs", lambda s: [
        *(Metric(f"cpu_s@{n}cpu", f"{s.cpu_tasks} CPU-bound tasks, {n} CPU{'s' * (n > 1)}",
                 "s", 2, lower_is_better=True) for n in SPEEDUP_CPUS),
        Metric("cpu_speedup", f"  speed-up {SPEEDUP_CPUS[0]} -> {SPEEDUP_CPUS[-1]} CPUs", "x",
               2)], in_quick=False),
)
BY_NAME = {f.name: f for f in FIGURES}


def default_figures(quick: bool) -> list[str]:
    """The figures a run measures when ``--only`` is not given."""
    return [f.name for f in FIGURES if f.in_quick or not quick]


def metrics(names: list[str], sizes: Sizes) -> list[Metric]:
    """The table rows of the named figures, in the suite's order."""
    return [m for f in FIGURES if f.name in names for m in f.rows(sizes)]


def derive(run: dict[str, float]) -> None:
    """Add the figures computed from others to one repetition's figures."""
    slow, fast = (run.get(f"cpu_s@{n}cpu") for n in SPEEDUP_CPUS)
    if slow and fast:
        run["cpu_speedup"] = slow / fast
