"""``ray.core.generated.autoscaler_pb2``: the autoscaler's messages (unavailable: raylike has
no autoscaler)."""
from raylike._private._unavailable import message

__all__ = ["ClusterConfig", "ClusterResourceState", "NodeGroupConfig"]

_WHY = "raylike has no autoscaler"
ClusterConfig = message("autoscaler_pb2.ClusterConfig", _WHY)
NodeGroupConfig = message("autoscaler_pb2.NodeGroupConfig", _WHY)
ClusterResourceState = message("autoscaler_pb2.ClusterResourceState", _WHY)
