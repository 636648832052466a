"""``ray.core.generated.gcs_service_pb2_grpc``: Ray's gRPC stubs of that service. raylike has no
such service: a stub can be named, and building one raises."""
from typing import Any

from raylike._private._unavailable import unavailable

__all__: list[str] = []

_WHY = "raylike has no GCS or raylet RPC services (Dask's scheduler and workers instead)"


def __getattr__(name: str) -> Any:
    if name.startswith("__"):
        raise AttributeError(name)
    return unavailable(f"gcs_service_pb2_grpc.{name}", _WHY)
