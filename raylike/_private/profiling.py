"""Ray's ``ray._private.profiling``: custom spans in the timeline. raylike's timeline holds one
span per task and actor call (``ray.timeline``); custom spans are not recorded, so ``profile``
raises rather than drop them silently."""
from __future__ import annotations

from typing import Any

__all__ = ["chrome_tracing_dump", "profile"]


def profile(event_type: str, extra_data: dict[str, str] | None = None) -> Any:
    """Ray's custom timeline span (``with profile("name"): ...``): not available."""
    raise NotImplementedError("ray._private.profiling.profile is not available on raylike: its "
                              "timeline records tasks and actor calls, not custom spans")


def chrome_tracing_dump(tasks: list[Any], *, filename: str | None = None) -> str:
    """Ray's Chrome trace built from the profiling events in ``list_tasks(detail=True)``
    rows: not available (raylike's rows carry no profiling events). ``ray.timeline()`` gives
    raylike's Chrome trace of the same tasks."""
    raise NotImplementedError("ray._private.profiling.chrome_tracing_dump is not available on "
                              "raylike: its task rows carry no profiling events; use "
                              "ray.timeline() for a Chrome trace")
