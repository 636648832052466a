"""``ray.autoscaler._private.commands``: the autoscaler's commands. raylike has no autoscaler;
``debug_status`` (the text of its status report) raises, naming what shows the cluster's
nodes and demands instead."""
from typing import Any

__all__ = ["debug_status"]


def debug_status(status: Any, error: Any, verbose: bool = False,
                 address: str | None = None) -> str:
    """Ray's autoscaler status text: not available."""
    raise NotImplementedError("ray.autoscaler._private.commands.debug_status is not available "
                              "on raylike: it has no autoscaler (`raylike status` shows the "
                              "nodes, their usage and the pending demands)")
