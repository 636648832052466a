"""Scheduler plugins: the cluster-wide records of objects, actors, placement groups,
generator streams, task and actor state, node labels, lineage reconstruction, metrics, the
resource-aware choice of a worker, spillback of queued work, and the job table."""
from __future__ import annotations

from typing import Any


def plugins() -> list[tuple[str, Any]]:
    """Each scheduler plugin raylike installs, new, with its name, in the order they go in
    (the refs plugin first: the others' records name keys it watches)."""
    from raylike._dask.scheduler.actor_registry import REGISTRY_PLUGIN, ActorRegistry
    from raylike._dask.scheduler.jobs import JOBS_PLUGIN, JobRegistry
    from raylike._dask.scheduler.labels import LABELS_PLUGIN, LabelPlugin
    from raylike._dask.scheduler.lineage import LINEAGE_PLUGIN, LineagePlugin
    from raylike._dask.scheduler.pg_registry import PG_PLUGIN, PlacementGroupRegistry
    from raylike._dask.scheduler.placement import PLACEMENT_PLUGIN, PlacementPlugin
    from raylike._dask.scheduler.refs import REFS_PLUGIN, RefsPlugin
    from raylike._dask.scheduler.spillback import SPILLBACK_PLUGIN, SpillbackPlugin
    from raylike._dask.scheduler.state import STATE_PLUGIN, StatePlugin
    from raylike._dask.scheduler.stream_registry import STREAMS_PLUGIN, StreamRegistry

    return [(REFS_PLUGIN, RefsPlugin()), (REGISTRY_PLUGIN, ActorRegistry()),
            (STREAMS_PLUGIN, StreamRegistry()), (PG_PLUGIN, PlacementGroupRegistry()),
            (STATE_PLUGIN, StatePlugin()), (LABELS_PLUGIN, LabelPlugin()),
            (LINEAGE_PLUGIN, LineagePlugin()), (PLACEMENT_PLUGIN, PlacementPlugin()),
            (SPILLBACK_PLUGIN, SpillbackPlugin()), (JOBS_PLUGIN, JobRegistry())]
