"""The child side: one engine, started once, measuring the selected figures in a row.

The outcome file is rewritten after every figure, so that what was measured before a crash,
a hang or a timeout still reaches the parent.
"""
from __future__ import annotations

import gc
import json
import os
import platform
import statistics
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import _work
from _engines import ActorOps, Engine, NotInstalled, make_engine
from _figures import MAIN_CPUS, Sizes

WARM_UP_CALLS = 20  # actor calls before the sequential ones are timed


@dataclass
class Session:
    """An engine started on ``cpus`` CPUs, and what its figures share."""

    engine: Engine
    sizes: Sizes
    cpus: int
    _actor: ActorOps | None = field(default=None, repr=False)
    _warm_transfer: bool = False

    def actor(self) -> ActorOps:
        """One actor for all actor figures, warmed up."""
        if self._actor is None:
            self._actor = self.engine.actor()
            for _ in range(WARM_UP_CALLS):
                self._actor.call_and_wait()
        return self._actor

    def warm_up_transfers(self) -> None:
        """One untimed 1 MB put+get, once: the first transfer also opens connections."""
        if not self._warm_transfer:
            self.engine.put_get(_work.make_array(1))
            self._warm_transfer = True


Rows = Iterator[tuple[str, float]]


def median_ms(call: Callable[[], Any], n: int) -> float:
    """Median wall time of ``n`` sequential calls, in milliseconds."""
    times = []
    for _ in range(n):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def tasks_per_s(engine: Engine, n: int) -> float:
    """``n`` trivial tasks submitted, then gathered at once."""
    start = time.perf_counter()
    results = engine.map(_work.inc, range(n))
    took = time.perf_counter() - start
    if results != list(range(1, n + 1)):
        raise AssertionError("tasks returned wrong results")
    return n / took


def put_get_mb_s(session: Session, megabytes: int) -> float:
    """Put+get throughput of one array: the median of 3 round trips (1 at 1 GB and above)."""
    session.warm_up_transfers()
    arr = _work.make_array(megabytes)
    times = []
    for _ in range(3 if megabytes < 1000 else 1):
        start = time.perf_counter()
        out = session.engine.put_get(arr)
        times.append(time.perf_counter() - start)
        _work.check_array(out, arr)
        del out
        gc.collect()
    return arr.nbytes / 1e6 / statistics.median(times)


def tasks(s: Session) -> Rows:
    yield "tasks_per_s", tasks_per_s(s.engine, s.sizes.tasks)


def roundtrip(s: Session) -> Rows:
    yield "roundtrip_ms", median_ms(lambda: s.engine.call(_work.inc, 1), s.sizes.sequential)


def put_get(s: Session) -> Rows:
    yield "put_get_mb_s", put_get_mb_s(s, s.sizes.megabytes)


def actor_roundtrip(s: Session) -> Rows:
    yield "actor_roundtrip_ms", median_ms(s.actor().call_and_wait, s.sizes.actor_sequential)


def actor_pipelined(s: Session) -> Rows:
    actor = s.actor()
    start = time.perf_counter()
    values = actor.get_all([actor.submit() for _ in range(s.sizes.actor_pipelined)])
    took = time.perf_counter() - start
    yield "actor_calls_per_s", s.sizes.actor_pipelined / took
    yield "actor_reorderings", sum(1 for a, b in zip(values, values[1:]) if b < a)


def tasks_scaling(s: Session) -> Rows:
    for n in s.sizes.task_series:
        yield f"tasks_per_s@{n}", tasks_per_s(s.engine, n)
        gc.collect()


def put_get_scaling(s: Session) -> Rows:
    for megabytes in s.sizes.mb_series:
        yield f"put_get_mb_s@{megabytes}", put_get_mb_s(s, megabytes)


def cpu_speedup(s: Session) -> Rows:
    s.engine.map(_work.nap, [0.1] * (2 * s.cpus))  # every worker process up and running
    start = time.perf_counter()
    s.engine.map(_work.spin, [s.sizes.cpu_loops] * s.sizes.cpu_tasks)
    yield f"cpu_s@{s.cpus}cpu", time.perf_counter() - start


def nested_sort(s: Session) -> Rows:
    values = _work.make_unsorted(s.sizes.sort_elements)
    start = time.perf_counter()
    out = s.engine.sort_tree(values, max(1, s.sizes.sort_elements // 20))
    took = time.perf_counter() - start
    if out != sorted(values):
        raise AssertionError("the nested sort came back unsorted")
    yield "nested_sort_s", took


MEASURES: dict[str, Callable[[Session], Rows]] = {
    "tasks": tasks, "roundtrip": roundtrip, "put_get": put_get,
    "actor_roundtrip": actor_roundtrip, "actor_pipelined": actor_pipelined,
    "tasks_scaling": tasks_scaling, "put_get_scaling": put_get_scaling,
    "cpu_speedup": cpu_speedup, "nested_sort": nested_sort,
}  # "startup" is measured by every session as it starts


def run_session(name: str, cpus: int, figures: list[str], sizes: Sizes, out: Path) -> int:
    """Start ``name`` on ``cpus`` CPUs, measure ``figures``; the outcome goes to ``out``."""
    outcome: dict[str, Any] = {"status": "running", "figures": {}, "errors": {},
                               "python_version": platform.python_version()}

    def save() -> None:  # atomically: the parent may kill this process at any moment
        tmp = out.with_suffix(".tmp")
        tmp.write_text(json.dumps(outcome))
        os.replace(tmp, out)

    save()
    try:
        engine = make_engine(name)
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
        measure(Session(engine, sizes, cpus), figures, outcome, save)
        outcome["status"] = "ok"
    except BaseException as exc:  # report anything, including KeyboardInterrupt/SystemExit
        traceback.print_exc()
        outcome.update(status="error", error=f"{type(exc).__name__}: {exc}")
    finally:
        save()
        shutdown(engine)
    return 0 if outcome["status"] == "ok" else 1


def measure(session: Session, figures: list[str], outcome: dict[str, Any],
            save: Callable[[], None]) -> None:
    """Start the engine (the start-up figure), then each figure; a failing figure is noted."""
    start = time.perf_counter()
    session.engine.start(session.cpus)
    suffix = "" if session.cpus == MAIN_CPUS else f"@{session.cpus}cpu"
    outcome["figures"]["startup_s" + suffix] = time.perf_counter() - start
    outcome["version"] = session.engine.version()
    save()
    for name in figures:
        if name not in MEASURES:
            continue
        try:
            for key, value in MEASURES[name](session):
                outcome["figures"][key] = value
                save()
        except Exception as exc:
            traceback.print_exc()
            outcome["errors"][name] = f"{type(exc).__name__}: {exc}"
            save()


def shutdown(engine: Engine) -> None:
    """Stop the engine; a failure to stop is printed, not raised (the figures are in)."""
    try:
        engine.shutdown()
    except Exception:
        print("shutdown failed:", file=sys.stderr)
        traceback.print_exc()
