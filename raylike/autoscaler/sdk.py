"""``ray.autoscaler.sdk``: asking Ray's autoscaler for resources (unavailable on raylike)."""
from raylike._private._unavailable import unavailable

__all__ = ["create_or_update_cluster", "get_head_node_ip", "request_resources",
           "teardown_cluster"]

_WHY = "raylike has no autoscaler; scale the Dask cluster with its own deployment tools"
request_resources = unavailable("ray.autoscaler.sdk.request_resources", _WHY)
create_or_update_cluster = unavailable("ray.autoscaler.sdk.create_or_update_cluster", _WHY)
teardown_cluster = unavailable("ray.autoscaler.sdk.teardown_cluster", _WHY)
get_head_node_ip = unavailable("ray.autoscaler.sdk.get_head_node_ip", _WHY)
