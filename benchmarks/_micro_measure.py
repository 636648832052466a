"""The microbenchmark's child: one engine, started once, timing the selected figures in a row.

Each figure is timed as Ray times its own: a pause, warm-up calls, then rounds of calls each
lasting at least a round's time; the figure is the mean rate over the rounds (operations per
second: calls times the figure's operations per call), with its standard deviation. The outcome
file is rewritten after every figure, so a crash or a timeout loses only what came after.
"""
from __future__ import annotations

import gc
import json
import os
import platform
import statistics
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import psutil
from _engines import NotInstalled
from _micro_figures import BURST, BURST_MEMORY, BY_NAME, MicroSizes

Workload = tuple[Callable[[], object], Callable[[], None]]
MEMORY_SAMPLE_S = 0.05


class Bench(Protocol):
    """What the child needs from an engine."""

    def start(self) -> None: ...
    def workload(self, name: str) -> Workload | None: ...
    def burst(self, n: int) -> None: ...
    def version(self) -> str: ...
    def shutdown(self) -> None: ...


def make_bench(engine: str, sizes: MicroSizes) -> Bench:
    if engine == "dask":
        from _micro_dask import DaskBench

        return DaskBench(sizes)
    from _micro_ray import RayBench

    return RayBench(engine, sizes)


def timeit(call: Callable[[], object], per_call: float, s: MicroSizes) -> tuple[float, float]:
    """Mean and standard deviation of the rate of ``call`` over the timed rounds."""
    time.sleep(s.settle_s)
    start, warm = time.perf_counter(), 0
    while True:
        call()
        warm += 1
        if time.perf_counter() - start >= s.warmup_s:
            break
    step = warm // 10 + 1  # calls between two looks at the clock
    rates = []
    for _ in range(s.rounds):
        start, count = time.perf_counter(), 0
        while count == 0 or time.perf_counter() - start < s.round_s:
            for _ in range(step):
                call()
            count += step
        rates.append(per_call * count / (time.perf_counter() - start))
    return statistics.mean(rates), statistics.pstdev(rates)


class PeakMemory:
    """The peak, above the start, of the resident memory of this process and all its
    descendants (the engine's cluster), sampled every MEMORY_SAMPLE_S seconds."""

    def __init__(self) -> None:
        self.baseline = self.peak = self.sample()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    @staticmethod
    def sample() -> int:
        me = psutil.Process()
        total = 0
        for proc in [me, *me.children(recursive=True)]:
            try:
                total += proc.memory_info().rss
            except psutil.Error:  # ended meanwhile
                pass
        return total

    def _watch(self) -> None:
        while not self._stop.wait(MEMORY_SAMPLE_S):
            self.peak = max(self.peak, self.sample())

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.sample())

    @property
    def above_start_mb(self) -> float:
        return (self.peak - self.baseline) / 1e6


def measure_figure(bench: Bench, name: str, s: MicroSizes) -> dict[str, list[float]]:
    """The figure's rows: key -> [value, standard deviation] (empty: not this engine's)."""
    if name == BURST:
        gc.collect()
        with PeakMemory() as memory:
            start = time.perf_counter()
            bench.burst(s.burst_tasks)
            took = time.perf_counter() - start
        return {BURST: [s.burst_tasks / took, 0.0], BURST_MEMORY: [memory.above_start_mb, 0.0]}
    workload = bench.workload(name)
    if workload is None:
        return {}
    call, clean_up = workload
    try:
        mean, sd = timeit(call, BY_NAME[name].per_call(s), s)
    finally:
        clean_up()
        gc.collect()
    return {name: [mean, sd]}


def run_session(engine: str, figures: list[str], sizes: MicroSizes, out: Path) -> int:
    """Start ``engine``, time ``figures``; the outcome goes to ``out`` after each."""
    outcome: dict[str, Any] = {"status": "running", "figures": {}, "errors": {},
                               "python_version": platform.python_version()}

    def save() -> None:  # atomically: the parent may kill this process at any moment
        tmp = out.with_suffix(".tmp")
        tmp.write_text(json.dumps(outcome))
        os.replace(tmp, out)

    save()
    try:
        bench = make_bench(engine, sizes)
    except NotInstalled as exc:
        outcome.update(status="skipped", error=str(exc))
        save()
        return 0
    except Exception as exc:
        traceback.print_exc()
        outcome.update(status="error", error=f"{type(exc).__name__}: {exc}")
        save()
        return 1
    try:
        start = time.perf_counter()
        bench.start()
        outcome.update(startup_s=time.perf_counter() - start, version=bench.version())
        save()
        for name in figures:
            try:
                outcome["figures"].update(measure_figure(bench, name, sizes))
            except Exception as exc:
                traceback.print_exc()
                outcome["errors"][name] = f"{type(exc).__name__}: {exc}"
            save()
        outcome["status"] = "ok"
    except BaseException as exc:  # report anything, including KeyboardInterrupt/SystemExit
        traceback.print_exc()
        outcome.update(status="error", error=f"{type(exc).__name__}: {exc}")
    finally:
        save()
        try:
            bench.shutdown()
        except Exception:
            traceback.print_exc()
    return 0 if outcome["status"] == "ok" else 1
