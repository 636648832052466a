"""``ray.util.placement_group``: reserve bundles of resources on the cluster's nodes.

See ``raylike._placement_groups`` (the handle and the functions), ``raylike._pg_registry``
(the scheduler's table) and ``raylike._pg_host`` (a bundle on its worker).
"""
from raylike._placement_groups import (
    STRATEGIES,
    PlacementGroup,
    get_current_placement_group,
    get_placement_group,
    placement_group,
    placement_group_table,
    remove_placement_group,
)

VALID_PLACEMENT_GROUP_STRATEGIES = set(STRATEGIES)

__all__ = ["VALID_PLACEMENT_GROUP_STRATEGIES", "PlacementGroup", "get_current_placement_group",
           "get_placement_group", "placement_group", "placement_group_table",
           "remove_placement_group"]
