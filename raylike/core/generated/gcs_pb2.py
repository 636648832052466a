"""``ray.core.generated.gcs_pb2``: the GCS tables' messages (unavailable: the Dask scheduler
keeps raylike's state) and their enums (Ray 2.60's values)."""
from raylike._private._unavailable import ProtoEnum, message

__all__ = ["ActorTableData", "GcsNodeInfo", "JobTableData", "PlacementGroupTableData",
           "ResourceUsageBatchData", "WorkerTableData"]

_WHY = "raylike has no GCS; use the state API (ray.util.state) instead"


class _ActorState(ProtoEnum):
    DEPENDENCIES_UNREADY = 0
    PENDING_CREATION = 1
    ALIVE = 2
    RESTARTING = 3
    DEAD = 4


class _GcsNodeState(ProtoEnum):
    ALIVE = 0
    DEAD = 1


class _PlacementGroupState(ProtoEnum):
    PENDING = 0
    PREPARED = 1
    CREATED = 2
    REMOVED = 3
    RESCHEDULING = 4


_ActorState.__name__ = _GcsNodeState.__name__ = "State"
ActorTableData = message("gcs_pb2.ActorTableData", _WHY, ActorState=_ActorState)
GcsNodeInfo = message("gcs_pb2.GcsNodeInfo", _WHY, GcsNodeState=_GcsNodeState)
PlacementGroupTableData = message("gcs_pb2.PlacementGroupTableData", _WHY,
                                  PlacementGroupState=_PlacementGroupState)
JobTableData = message("gcs_pb2.JobTableData", _WHY)
WorkerTableData = message("gcs_pb2.WorkerTableData", _WHY)
ResourceUsageBatchData = message("gcs_pb2.ResourceUsageBatchData", _WHY)
