"""``ray.core.generated.node_manager_pb2``: Ray's raylet (node manager) RPC messages. raylike has no
such service (Dask's scheduler and workers speak Dask's protocol): every message is a
stand-in that can be built but not serialized or sent."""
from typing import Any

from raylike._private._unavailable import message

__all__: list[str] = []

_WHY = "raylike has no GCS or raylet RPC services (Dask's scheduler and workers instead)"


def __getattr__(name: str) -> Any:
    if name.startswith("__"):
        raise AttributeError(name)
    return message(f"node_manager_pb2.{name}", _WHY)
