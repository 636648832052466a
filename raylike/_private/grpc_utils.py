"""Ray's ``ray._private.grpc_utils``: gRPC channels to Ray's GCS and raylets. raylike's
processes talk Dask's protocol; there is no gRPC service to open a channel to."""
from __future__ import annotations

from raylike._private._unavailable import unavailable

__all__ = ["init_grpc_channel"]

init_grpc_channel = unavailable(
    "ray._private.grpc_utils.init_grpc_channel",
    "raylike has no gRPC services (use the public state API, ray.util.state)")
