"""``ray.autoscaler._private.monitor``: Ray's autoscaler monitor process (unavailable)."""
from typing import Any

__all__ = ["Monitor"]


class Monitor:
    """Ray's autoscaler monitor; raylike has no autoscaler."""

    def __init__(self, *_: Any, **__: Any) -> None:
        raise NotImplementedError("ray.autoscaler._private.monitor.Monitor is not available on "
                                  "raylike: it has no autoscaler")
