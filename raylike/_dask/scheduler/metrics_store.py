"""The scheduler's side of application metrics: the cluster's totals and their export.

The processes' batches (``_metrics``) are merged, on the scheduler's event loop, into one
``Aggregate`` kept on the scheduler: counters summed, a gauge's latest value, histograms'
bucket counts, sums and counts, per metric and label values. They are exported on the Dask
scheduler's Prometheus endpoint (``http://<scheduler's HTTP address>/metrics``, served when
``prometheus_client`` is installed) by a collector registered in the scheduler process on the
first batch, with Ray's ``ray_`` prefix: ``ray_<name>_total`` for a counter, ``ray_<name>``
for a gauge, ``ray_<name>_bucket``/``_sum``/``_count`` for a histogram. Without
``prometheus_client`` the values are kept all the same (one debug log says why there is no
export).
"""
from __future__ import annotations

import logging
import weakref
from collections.abc import Iterator
from typing import Any

from raylike._api.metrics import COUNTER, GAUGE, Aggregate, Batch

logger = logging.getLogger("raylike")

PREFIX = "ray_"  # Ray exports application metrics under this prefix
_STORE = "_raylike_metrics"  # the scheduler's attribute holding its Aggregate

_scheduler: weakref.ref[Any] | None = None  # the scheduler whose values are exported
_registered = False  # the collector is registered with prometheus_client (once a process)


def store(dask_scheduler: Any) -> Aggregate:
    """The scheduler's aggregate (made on first use)."""
    aggregate: Aggregate = dask_scheduler.__dict__.setdefault(_STORE, Aggregate())
    return aggregate


def merge(batch: Batch, *, dask_scheduler: Any) -> None:
    """Fold a process's batch into the cluster's totals (run on the scheduler)."""
    global _scheduler
    store(dask_scheduler).merge(batch)
    if _scheduler is None or _scheduler() is not dask_scheduler:
        _scheduler = weakref.ref(dask_scheduler)
    _register()


def _register() -> None:
    global _registered
    if _registered:
        return
    _registered = True
    try:
        from prometheus_client import REGISTRY
    except ImportError:
        logger.debug("metrics: prometheus_client is not installed, so the scheduler's /metrics "
                     "does not export application metrics (they are kept all the same)")
        return
    REGISTRY.register(_Collector())


class _Collector:
    """A prometheus_client collector of the exported scheduler's application metrics."""

    def describe(self) -> list[Any]:
        return []  # the names change as metrics are defined: no check against other collectors

    def collect(self) -> Iterator[Any]:
        scheduler = _scheduler() if _scheduler is not None else None
        if scheduler is None:
            return
        aggregate = store(scheduler)
        series: dict[str, list[tuple[tuple[str, ...], Any]]] = {}
        for (name, labels), value in list(aggregate.values.items()):
            series.setdefault(name, []).append((labels, value))
        for name, points in series.items():
            yield _family(name, aggregate.defs[name], points)


def _family(name: str, definition: Any, points: list[tuple[tuple[str, ...], Any]]) -> Any:
    from prometheus_client.core import (
        CounterMetricFamily,
        GaugeMetricFamily,
        HistogramMetricFamily,
    )
    from prometheus_client.utils import floatToGoString

    kind, description, tag_keys, boundaries = definition
    full = PREFIX + name
    if kind == COUNTER:
        counter = CounterMetricFamily(full, description, labels=tag_keys)
        for labels, total in points:
            counter.add_metric(labels, total)
        return counter
    if kind == GAUGE:
        gauge = GaugeMetricFamily(full, description, labels=tag_keys)
        for labels, (value, _when) in points:
            gauge.add_metric(labels, value)
        return gauge
    histogram = HistogramMetricFamily(full, description, labels=tag_keys)
    for labels, (counts, total, count) in points:
        cumulative, buckets = 0.0, []
        for bound, n in zip(boundaries, counts, strict=False):
            cumulative += n
            buckets.append((floatToGoString(bound), cumulative))
        buckets.append(("+Inf", float(count)))
        histogram.add_metric(labels, buckets, total)
    return histogram
