"""What the microbenchmark measures: Ray's `ray microbenchmark` figures, their sizes, rows.

Every figure keeps the name it has in Ray's ``ray_perf.py`` (and so in Ray's release logs); the
one figure of raylike's own, the task burst with its peak memory, is marked so. The full mode
uses Ray's sizes; the quick mode shrinks them (its figures do not compare with Ray's logs,
only with Ray measured in the same run).
"""
from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from _figures import MAIN_CPUS

SERVERS = max(1, MAIN_CPUS // 2)  # actors called by the 1:n and n:n figures (Ray: CPUs // 2)
RAY_GB = 1000 * 2**20  # Ray's "gigabyte": its 800 MiB array counts as 0.8 GB


@dataclass(frozen=True)
class MicroSizes:
    """How much work one timed call does, and how long each figure is timed."""

    batch: int  # tasks or actor calls submitted, then got (Ray: 1,000)
    put_elements: int  # int64 elements of the array put by the driver (Ray: 100 * 2**20)
    small_put_tasks: int  # tasks that each put small values (Ray: 10)
    small_puts: int  # small puts per task (Ray: 100)
    big_put_tasks: int  # tasks that each put arrays (Ray: 10)
    big_puts: int  # arrays per task (Ray: 10)
    big_put_elements: int  # int64 elements of each (Ray: 10 * 2**20)
    contained_refs: int  # refs in the object got (Ray: 10,000)
    wait_refs: int  # refs waited for one at a time (Ray: 1,000)
    clients: int  # actors or tasks that submit or call (Ray: 4)
    client_tasks: int  # tasks each client actor submits (Ray: 10,000)
    calls_1n: int  # calls per server from one client actor, also from each n:n task (Ray: 5,000)
    calls_arg: int  # calls with an argument per client actor (Ray: 1,000)
    placement_groups: int  # created, waited for, removed (Ray: 100)
    burst_tasks: int  # the task burst; 0: not measured (raylike's own figure)
    tree_elements: int  # float64 elements of the array a tree of nested tasks splits
    settle_s: float  # pause before each figure (Ray: 10 s, against noisy neighbours)
    warmup_s: float  # calls before timing, at least one (Ray: 1 s)
    rounds: int  # timed rounds; the figure is their mean (Ray: 4)
    round_s: float  # each round lasts at least this, and at least one call (Ray: 2 s)


FULL = MicroSizes(batch=1000, put_elements=100 * 2**20, small_put_tasks=10, small_puts=100,
                  big_put_tasks=10, big_puts=10, big_put_elements=10 * 2**20,
                  contained_refs=10_000, wait_refs=1000, clients=4, client_tasks=10_000,
                  calls_1n=5000, calls_arg=1000, placement_groups=100, burst_tasks=100_000,
                  tree_elements=4 * 2**20,
                  settle_s=2.0, warmup_s=1.0, rounds=4, round_s=2.0)
QUICK = MicroSizes(batch=100, put_elements=2**20, small_put_tasks=4, small_puts=25,
                   big_put_tasks=4, big_puts=2, big_put_elements=2**20, contained_refs=1000,
                   wait_refs=100, clients=4, client_tasks=100, calls_1n=200, calls_arg=100,
                   placement_groups=10, burst_tasks=0, tree_elements=2**20, settle_s=0.0,
                   warmup_s=0.1, rounds=2,
                   round_s=0.3)


def from_json(doc: dict[str, Any]) -> MicroSizes:
    return MicroSizes(**doc)


def override(sizes: MicroSizes, assignment: str) -> MicroSizes:
    """``sizes`` with one field set from 'NAME=VALUE'."""
    name, sep, text = assignment.partition("=")
    fields = {f.name: f.type for f in dataclasses.fields(MicroSizes)}
    if not sep or name not in fields:
        raise ValueError(f"expected NAME=VALUE with NAME one of {', '.join(fields)}")
    value: Any = float(text) if fields[name] in (float, "float") else int(text)
    return dataclasses.replace(sizes, **{name: value})


@dataclass(frozen=True)
class MicroFigure:
    """One figure: Ray's name, its unit and how many operations one timed call does."""

    name: str
    unit: str
    per_call: Callable[[MicroSizes], float]  # operations (or gigabytes) per timed call
    dask: bool = False  # raw Dask has a direct equivalent
    ours: bool = False  # raylike's own figure, not in Ray's list


def _gb(elements: int) -> float:
    return elements * 8 / RAY_GB


def _one(s: MicroSizes) -> float:
    return 1.0


FIGURES: tuple[MicroFigure, ...] = (
    MicroFigure("single client get calls (Plasma Store)", "/s", _one, dask=True),
    MicroFigure("single client put calls (Plasma Store)", "/s", _one, dask=True),
    MicroFigure("multi client put calls (Plasma Store)", "/s",
                lambda s: s.small_put_tasks * s.small_puts),
    MicroFigure("single client put gigabytes", "GB/s", lambda s: _gb(s.put_elements),
                dask=True),
    MicroFigure("single client tasks and get batch", "/s", _one, dask=True),
    MicroFigure("multi client put gigabytes", "GB/s",
                lambda s: s.big_put_tasks * s.big_puts * _gb(s.big_put_elements)),
    MicroFigure("single client get object containing 10k refs", "/s", _one),
    MicroFigure("single client wait 1k refs", "/s", _one),
    MicroFigure("single client tasks sync", "/s", _one, dask=True),
    MicroFigure("single client tasks async", "/s", lambda s: s.batch, dask=True),
    MicroFigure("multi client tasks async", "/s", lambda s: s.clients * s.client_tasks),
    MicroFigure("1:1 actor calls sync", "/s", _one),
    MicroFigure("1:1 actor calls async", "/s", lambda s: s.batch),
    MicroFigure("1:1 actor calls concurrent", "/s", lambda s: s.batch),
    MicroFigure("1:n actor calls async", "/s", lambda s: s.calls_1n * SERVERS),
    MicroFigure("n:n actor calls async", "/s", lambda s: s.clients * s.calls_1n),
    MicroFigure("n:n actor calls with arg async", "/s", lambda s: s.calls_arg * SERVERS),
    MicroFigure("1:1 async-actor calls sync", "/s", _one),
    MicroFigure("1:1 async-actor calls async", "/s", lambda s: s.batch),
    MicroFigure("1:1 async-actor calls with args async", "/s", lambda s: s.batch),
    MicroFigure("1:n async-actor calls async", "/s", lambda s: s.calls_1n * SERVERS),
    MicroFigure("n:n async-actor calls async", "/s", lambda s: s.clients * s.calls_1n),
    MicroFigure("placement group create/removal", "/s", lambda s: s.placement_groups),
    MicroFigure("nested tasks with large arguments", "trees/s", _one, ours=True),
    MicroFigure("task burst", "tasks/s", lambda s: s.burst_tasks, dask=True, ours=True),
)
BY_NAME = {f.name: f for f in FIGURES}
BURST = "task burst"
BURST_MEMORY = "task burst peak memory"  # a second row of the burst figure


@dataclass(frozen=True)
class Row:
    """One row of the table."""

    key: str
    label: str
    unit: str
    dask: bool
    lower_is_better: bool = False


def select(patterns: list[str] | None, sizes: MicroSizes) -> list[str]:
    """The figures whose name contains one of ``patterns`` (all when none), as Ray's
    TESTS_TO_RUN filter does; the burst only when its size is not 0."""
    return [f.name for f in FIGURES
            if (not patterns or any(p in f.name for p in patterns))
            and (f.name != BURST or sizes.burst_tasks > 0)]


def rows(names: list[str], sizes: MicroSizes) -> list[Row]:
    """The table rows of the named figures, in Ray's order."""
    out = []
    for f in FIGURES:
        if f.name not in names:
            continue
        if f.name == BURST:
            label = f"{sizes.burst_tasks:,}-task burst (raylike's figure)"
            out += [Row(BURST, label, f.unit, True),
                    Row(BURST_MEMORY, "  its peak memory, driver + cluster", "MB", True,
                        lower_is_better=True)]
        else:
            out.append(Row(f.name, f.name, f.unit, f.dask))
    return out
