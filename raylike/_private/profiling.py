"""Ray's ``ray._private.profiling``: custom spans in the timeline. raylike's timeline holds one
span per task and actor call (``ray.timeline``); custom spans are not recorded, so ``profile``
raises rather than drop them silently."""
from __future__ import annotations

from typing import Any

__all__ = ["profile"]


def profile(event_type: str, extra_data: dict[str, str] | None = None) -> Any:
    """Ray's custom timeline span (``with profile("name"): ...``): not available."""
    raise NotImplementedError("ray._private.profiling.profile is not available on raylike: its "
                              "timeline records tasks and actor calls, not custom spans")
