"""Scheduling strategies, mapped to Dask worker restrictions.

``"DEFAULT"`` and ``"SPREAD"`` leave placement to Dask's scheduler (which balances load);
``NodeAffinitySchedulingStrategy(node_id, soft)`` pins a task or actor to that node (Dask worker):
``soft=False`` only there, ``soft=True`` there when possible.
``PlacementGroupSchedulingStrategy`` runs it in a placement group's bundle
(``raylike._pg_options``).
"""
from __future__ import annotations

from dataclasses import dataclass

__all__ = ["NodeAffinitySchedulingStrategy", "PlacementGroupSchedulingStrategy"]


@dataclass
class NodeAffinitySchedulingStrategy:
    """Run on the node with id ``node_id`` (see ``ray.nodes()``)."""

    node_id: str
    soft: bool
    _spill_on_unavailable: bool = False
    _fail_on_unavailable: bool = False


@dataclass
class PlacementGroupSchedulingStrategy:
    """Run in bundle ``placement_group_bundle_index`` of ``placement_group`` (``-1``: any of
    its bundles); ``placement_group_capture_child_tasks``: the tasks and actors it creates go
    to the group too, unless they say otherwise."""

    placement_group: object
    placement_group_bundle_index: int = -1
    placement_group_capture_child_tasks: bool | None = None
