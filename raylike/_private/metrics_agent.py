"""Ray's ``ray._private.metrics_agent``: its Prometheus metrics exporter. raylike exports no
Prometheus metrics (Dask's dashboard has its own); the names import, their use raises."""
from raylike._private._unavailable import unavailable

__all__ = ["RAY_WORKER_TIMEOUT_S", "Gauge", "MetricsAgent", "Record"]

RAY_WORKER_TIMEOUT_S = "RAY_WORKER_TIMEOUT_S"  # the variable naming Ray's metrics timeout

_WHY = "raylike exports no Prometheus metrics (Dask's dashboard shows the cluster's)"
Gauge = unavailable("ray._private.metrics_agent.Gauge", _WHY)
Record = unavailable("ray._private.metrics_agent.Record", _WHY)
MetricsAgent = unavailable("ray._private.metrics_agent.MetricsAgent", _WHY)
