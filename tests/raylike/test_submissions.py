"""A burst of tasks reaches the scheduler as a few graphs (``_submissions``), and each task of
it behaves as if sent alone: it runs, in submission order on a busy node, with a dependency in
the same burst or outside it, and when its ref is dropped at once it still runs, then is freed."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

import raylike as ray
from raylike._api import runtime as _runtime

pytestmark = pytest.mark.timeout(120)
WAIT = 60.0  # seconds to wait for a state on a loaded machine


def _graphs_from(client_id: str, dask_scheduler: Any = None) -> int:
    """The number of ``update-graph`` messages the scheduler handled from a client."""
    return sum(1 for _, msg in dask_scheduler.get_events(client_id)
               if isinstance(msg, dict) and msg.get("action") == "update-graph")


def _keys_named(prefix: str, dask_scheduler: Any = None) -> int:
    return sum(1 for key in dask_scheduler.tasks if str(key).startswith(prefix))


def _wait_for(check: Any, what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not check():
        assert time.monotonic() < deadline, f"still waiting for {what} after {WAIT} s"
        time.sleep(0.05)


def test_a_burst_reaches_the_scheduler_as_few_graphs() -> None:
    ray.init(num_cpus=2, include_dashboard=False)
    backend = _runtime.driver().backend

    @ray.remote
    def double(i: int) -> int:
        return 2 * i

    client_id = backend.client.id
    before = backend.run_on_scheduler(_graphs_from, client_id)
    refs = [double.remote(i) for i in range(500)]
    assert ray.get(refs) == [2 * i for i in range(500)]
    graphs = backend.run_on_scheduler(_graphs_from, client_id) - before
    assert 1 <= graphs <= 250  # one per task without batches


def test_a_busy_node_starts_a_burst_in_submission_order() -> None:
    ray.init(num_cpus=1, include_dashboard=False)

    @ray.remote
    def started(_: int) -> int:
        return time.monotonic_ns()

    times = ray.get([started.remote(i) for i in range(60)])
    assert times == sorted(times)


def test_dependencies_inside_and_outside_a_burst() -> None:
    ray.init(num_cpus=2, include_dashboard=False)

    @ray.remote
    def ident(i: int) -> int:
        return i

    @ray.remote
    def add(a: int, b: int) -> int:
        return a + b

    ten = ray.put(10)
    refs = []
    for i in range(100):
        first = ident.remote(i)
        refs += [add.remote(first, 1), add.remote(first, ten)]
    assert ray.get(refs) == [v for i in range(100) for v in (i + 1, i + 10)]


def test_tasks_whose_refs_are_dropped_at_once_run_and_are_freed(tmp_path: Path) -> None:
    ray.init(num_cpus=2, include_dashboard=False)
    backend = _runtime.driver().backend

    @ray.remote
    def touch(path: str) -> int:
        Path(path).touch()
        return 0

    for i in range(100):
        touch.remote(str(tmp_path / str(i)))  # the ref is dropped at once
    _wait_for(lambda: len(list(tmp_path.iterdir())) == 100, "all 100 tasks to run")
    _wait_for(lambda: backend.run_on_scheduler(_keys_named, "touch-") == 0,
              "the scheduler to forget the tasks")
