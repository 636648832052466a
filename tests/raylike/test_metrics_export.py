"""Application metrics reach the scheduler and its Prometheus endpoint (``/metrics``): from the
driver, a task and an actor, summed over processes, and the driver's last values at shutdown."""
from __future__ import annotations

import logging
import os
import sys
import tempfile
import time
import urllib.request
from typing import Any

import pytest
from distributed import Client

import raylike as ray
from raylike._api import metrics as _metrics
from raylike._dask.scheduler import metrics_store as _metrics_store
from raylike.util.metrics import Counter, Gauge, Histogram

pytestmark = pytest.mark.timeout(180)

WAIT_S = 60.0  # generous: a loaded machine delays the once-a-second flushes


# ----------------------------------------------------------------------------------------------
# The aggregate and the collector, in this process
# ----------------------------------------------------------------------------------------------


def _definition(kind: str, bounds: tuple[float, ...] = ()) -> _metrics.Definition:
    return (kind, "doc", ("k",), bounds)


def test_aggregate_folds_batches_by_kind() -> None:
    total = _metrics.Aggregate()
    one, two = _metrics.Aggregate(), _metrics.Aggregate()
    for part, (count, gauge_at, observed) in ((one, (2.0, 20.0, 0.5)),
                                              (two, (3.0, 10.0, 7.0))):
        part.define("c", _definition(_metrics.COUNTER))
        part.add("c", ("x",), count)
        part.define("g", _definition(_metrics.GAUGE))
        part.add("g", ("x",), (gauge_at, gauge_at))  # the value is its time
        part.define("h", _definition(_metrics.HISTOGRAM, (1.0, 5.0)))
        part.add("h", ("x",), ([1, 0, 0] if observed < 1 else [0, 0, 1], observed, 1))
    for part in (one, two):
        batch = part.take()
        assert batch is not None
        total.merge(batch)
        assert part.take() is None  # taken: nothing is sent twice
    assert total.values[("c", ("x",))] == 5.0
    assert total.values[("g", ("x",))] == (20.0, 20.0)  # the later value, though it came first
    assert total.values[("h", ("x",))] == ([1, 0, 1], 7.5, 2)
    total.define("c", _definition(_metrics.GAUGE))  # redefined: its old values are dropped
    assert ("c", ("x",)) not in total.values


class _FakeScheduler:
    """Stands for the Dask scheduler: the store keeps its values on it."""


def _scheduler_with(monkeypatch: pytest.MonkeyPatch, batch: _metrics.Batch) -> Any:
    scheduler = _FakeScheduler()
    monkeypatch.setattr(_metrics_store, "_registered", True)  # not in this process's registry
    monkeypatch.setattr(_metrics_store, "_scheduler", None)
    _metrics_store.merge(batch, dask_scheduler=scheduler)
    return scheduler


def test_collector_exports_ray_names(monkeypatch: pytest.MonkeyPatch) -> None:
    prometheus_client = pytest.importorskip("prometheus_client")
    batch: _metrics.Batch = (
        {"reqs": _definition(_metrics.COUNTER), "lvl": _definition(_metrics.GAUGE),
         "lat": _definition(_metrics.HISTOGRAM, (1.0, 5.0))},
        [("reqs", ("a",), 4.0), ("lvl", ("a",), (-2.5, 1.0)),
         ("lat", ("a",), ([1, 2, 0], 6.5, 3))])
    scheduler = _scheduler_with(monkeypatch, batch)  # kept: the collector's ref is weak
    registry = prometheus_client.CollectorRegistry()
    registry.register(_metrics_store._Collector())
    text = prometheus_client.generate_latest(registry).decode()
    for line in ('# TYPE ray_reqs_total counter', 'ray_reqs_total{k="a"} 4.0',
                 '# TYPE ray_lvl gauge', 'ray_lvl{k="a"} -2.5',
                 '# TYPE ray_lat histogram', 'ray_lat_bucket{k="a",le="1.0"} 1.0',
                 'ray_lat_bucket{k="a",le="5.0"} 3.0', 'ray_lat_bucket{k="a",le="+Inf"} 3.0',
                 'ray_lat_sum{k="a"} 6.5', 'ray_lat_count{k="a"} 3.0'):
        assert line in text.splitlines(), text
    assert scheduler is not None


def test_without_prometheus_client_values_are_kept(monkeypatch: pytest.MonkeyPatch,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setitem(sys.modules, "prometheus_client", None)  # import fails
    monkeypatch.setattr(_metrics_store, "_registered", False)
    monkeypatch.setattr(_metrics_store, "_scheduler", None)
    scheduler = _FakeScheduler()
    batch: _metrics.Batch = ({"c": _definition(_metrics.COUNTER)}, [("c", ("x",), 1.0)])
    with caplog.at_level(logging.DEBUG, logger="raylike"):
        _metrics_store.merge(batch, dask_scheduler=scheduler)
        _metrics_store.merge(batch, dask_scheduler=scheduler)
    assert _metrics_store.store(scheduler).values == {("c", ("x",)): 2.0}
    said = [r for r in caplog.records if "prometheus_client is not installed" in r.message]
    assert len(said) == 1


# ----------------------------------------------------------------------------------------------
# On a cluster: the scheduler's /metrics
# ----------------------------------------------------------------------------------------------


def _metrics_url(client: Any) -> str:
    port = client.scheduler_info()["services"]["dashboard"]
    return f"http://127.0.0.1:{port}/metrics"


def _samples(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    from prometheus_client.parser import text_string_to_metric_families

    with urllib.request.urlopen(url, timeout=10) as page:
        text = page.read().decode()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples
            if s.name.startswith("ray_")}


def _wait_for(url: str, expected: dict[tuple[str, tuple[tuple[str, str], ...]], float]
              ) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    deadline = time.monotonic() + WAIT_S
    while True:
        seen = _samples(url)
        if all(seen.get(key) == value for key, value in expected.items()):
            return seen
        if time.monotonic() > deadline:
            raise AssertionError(f"expected {expected}\nseen {seen}")
        time.sleep(0.2)


@ray.remote
def _serve(n: int) -> int:
    requests = Counter("exp_requests", "requests served", tag_keys=("source",))
    latency = Histogram("exp_latency", "ms", boundaries=[1, 10], tag_keys=("source",))
    for i in range(n):
        requests.inc(tags={"source": "task"})
        latency.observe(5 * i, tags={"source": "task"})
    return n


@ray.remote
class _Level:
    def __init__(self) -> None:
        self.gauge = Gauge("exp_level", "a level").set_default_tags({})

    def set(self, value: float) -> float:
        self.gauge.set(value)
        return value


def test_driver_task_and_actor_values_reach_metrics() -> None:
    pytest.importorskip("prometheus_client")
    ray.init(num_cpus=2, include_dashboard=False)
    url = _metrics_url(ray._runtime.driver().client)
    Counter("exp_requests", "requests served", tag_keys=("source",)).inc(
        2, tags={"source": "driver"})
    assert ray.get([_serve.remote(3) for _ in range(4)], timeout=60) == [3] * 4
    level = _Level.remote()
    assert ray.get(level.set.remote(1.0), timeout=60) == 1.0
    assert ray.get(level.set.remote(7.5), timeout=60) == 7.5
    task = (("source", "task"),)
    seen = _wait_for(url, {
        ("ray_exp_requests_total", (("source", "driver"),)): 2.0,
        ("ray_exp_requests_total", task): 12.0,  # 4 tasks, maybe in different processes
        ("ray_exp_latency_count", task): 12.0,
        ("ray_exp_latency_sum", task): 4 * (0 + 5 + 10),
        ("ray_exp_latency_bucket", (("le", "1.0"), ("source", "task"))): 4.0,  # 0
        ("ray_exp_latency_bucket", (("le", "10.0"), ("source", "task"))): 12.0,  # 5, 10
        ("ray_exp_level", ()): 7.5,
    })
    assert seen[("ray_exp_latency_bucket", (("le", "+Inf"), ("source", "task")))] == 12.0


@ray.remote
def _record_then_wait(marker: str) -> bool:
    Counter("exp_running").inc(5)
    deadline = time.monotonic() + 120
    while not os.path.exists(marker) and time.monotonic() < deadline:
        time.sleep(0.05)
    return os.path.exists(marker)


def test_a_running_task_sends_its_values_before_it_ends() -> None:
    pytest.importorskip("prometheus_client")
    ray.init(num_cpus=2, include_dashboard=False)
    url = _metrics_url(ray._runtime.driver().client)
    with tempfile.TemporaryDirectory() as tmp:
        marker = os.path.join(tmp, "go")
        ref = _record_then_wait.remote(marker)
        try:
            _wait_for(url, {("ray_exp_running_total", ()): 5.0})
        finally:
            open(marker, "w").close()
        assert ray.get(ref, timeout=60) is True


def test_shutdown_sends_the_drivers_last_values(dask_cluster: Any) -> None:
    pytest.importorskip("prometheus_client")
    dask_cluster.start_worker(nthreads=1)
    ray.init(address=dask_cluster.address)
    gauge = Gauge("exp_last", tag_keys=("run",))
    for value in range(1, 6):
        gauge.set(value, tags={"run": "one"})
    ray.shutdown()  # at once: before the next once-a-second flush
    with Client(dask_cluster.address, timeout=30) as client:
        _wait_for(_metrics_url(client), {("ray_exp_last", (("run", "one"),)): 5.0})
