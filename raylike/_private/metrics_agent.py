"""Ray's ``ray._private.metrics_agent``: its Prometheus metrics exporter. raylike has no metrics
agent (application metrics, ``ray.util.metrics``, are exported on the Dask scheduler's
``/metrics``: ``raylike._dask.scheduler.metrics_store``); the names import, their use raises."""
from raylike._private._unavailable import unavailable

__all__ = ["RAY_WORKER_TIMEOUT_S", "Gauge", "MetricsAgent", "Record"]

RAY_WORKER_TIMEOUT_S = "RAY_WORKER_TIMEOUT_S"  # the variable naming Ray's metrics timeout

_WHY = ("raylike has no metrics agent (ray.util.metrics are exported on the Dask scheduler's "
        "/metrics)")
Gauge = unavailable("ray._private.metrics_agent.Gauge", _WHY)
Record = unavailable("ray._private.metrics_agent.Record", _WHY)
MetricsAgent = unavailable("ray._private.metrics_agent.MetricsAgent", _WHY)
