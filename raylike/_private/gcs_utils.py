"""Ray's ``ray._private.gcs_utils``: its GCS's protocol messages and channels. raylike has no
GCS (the Dask scheduler keeps cluster state): the names import, their use raises
``NotImplementedError``. The worker-type values are real."""
from raylike._private._unavailable import message, unavailable
from raylike.core.generated.gcs_pb2 import (
    ActorTableData,
    GcsNodeInfo,
    JobTableData,
    PlacementGroupTableData,
    ResourceUsageBatchData,
    WorkerTableData,
)

__all__ = ["WORKER", "DRIVER", "ActorTableData", "AvailableResources", "ErrorTableData",
           "GcsNodeInfo", "JobTableData", "PlacementGroupTableData", "ResourceUsageBatchData",
           "ResourcesData", "TaskEvents", "TotalResources", "WorkerTableData",
           "cleanup_redis_storage", "create_gcs_channel"]

WORKER = 0
DRIVER = 1

_WHY = "raylike has no GCS; use the state API (ray.util.state) instead"
AvailableResources = message("gcs_utils.AvailableResources", _WHY)
TotalResources = message("gcs_utils.TotalResources", _WHY)
ErrorTableData = message("gcs_utils.ErrorTableData", _WHY)
ResourcesData = message("gcs_utils.ResourcesData", _WHY)
TaskEvents = message("gcs_utils.TaskEvents", _WHY)
create_gcs_channel = unavailable("ray._private.gcs_utils.create_gcs_channel", _WHY)
cleanup_redis_storage = unavailable("ray._private.gcs_utils.cleanup_redis_storage",
                                    "raylike keeps no state in Redis")
