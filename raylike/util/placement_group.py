"""``ray.util.placement_group``: reserve bundles of resources on the cluster's nodes.

See ``raylike._api.placement_groups`` (the handle and the functions),
``raylike._dask.scheduler.pg_registry``
(the scheduler's table) and ``raylike._dask.worker.pg_host`` (a bundle on its worker).
"""
from __future__ import annotations

from typing import Any

from raylike._api.placement_groups import (
    STRATEGIES,
    PlacementGroup,
    _validate,
    get_current_placement_group,
    get_placement_group,
    placement_group,
    placement_group_table,
    remove_placement_group,
)
from raylike._api.placement_groups import validate_bundles as _validate_bundles  # noqa: F401 (Ray's name)
from raylike._private.label_utils import validate_label_selector

VALID_PLACEMENT_GROUP_STRATEGIES = set(STRATEGIES)

__all__ = ["VALID_PLACEMENT_GROUP_STRATEGIES", "PlacementGroup", "get_current_placement_group",
           "get_placement_group", "placement_group", "placement_group_table",
           "remove_placement_group", "validate_placement_group"]

_GPU_DOMAIN_ACCELERATORS = ("GB200", "GB300")  # their groups must all ask for that type


def _validate_bundle_label_selector(bundle_label_selector: Any) -> None:
    """Ray's check of a group's per-bundle label selectors (``ValueError``)."""
    if not isinstance(bundle_label_selector, list):
        raise ValueError("Placement group bundle_label_selector must be a list, got "
                         f"{type(bundle_label_selector)}.")
    for selector in bundle_label_selector:
        if not isinstance(selector, dict) or \
                not all(isinstance(k, str) and isinstance(v, str) for k, v in selector.items()):
            raise ValueError("Bundle label selector must be a list of string dictionary label "
                             'selectors. For example: `[{ray.io/market_type": "spot"}, '
                             '{"ray.io/accelerator-type": "A100"}]`.')
        error = validate_label_selector(selector)
        if error:
            raise ValueError("Invalid label selector provided in bundle_label_selector list. "
                             f"Detailed error: '{error}'")
    domain = next((s.get("ray.io/accelerator-type") for s in bundle_label_selector
                   if s.get("ray.io/accelerator-type") in _GPU_DOMAIN_ACCELERATORS), None)
    for selector in bundle_label_selector if domain else ():
        if selector.get("ray.io/accelerator-type") != domain:
            raise ValueError(f"Invalid bundle label selector {selector}. GPU-domain scheduling "
                             "requires all bundles to have 'ray.io/accelerator-type: "
                             f"{domain}' in their label selector.")


def validate_placement_group(bundles: list[dict[str, float]], strategy: str | None = None,
                             lifetime: str | None = None,
                             _soft_target_node_id: str | None = None,
                             bundle_label_selector: list[dict[str, str]] | None = None,
                             topology_strategy: dict[str, str] | None = None) -> bool:
    """Check ``placement_group``'s arguments as Ray does: ``ValueError`` if one is invalid."""
    _validate(bundles, strategy, lifetime, _soft_target_node_id, topology_strategy)
    if bundle_label_selector is not None:
        if len(bundles) != len(bundle_label_selector):
            raise ValueError(f"Invalid bundle label selector {bundle_label_selector}. The "
                             "length of `bundle_label_selector` should equal the length of "
                             "`bundles`.")
        _validate_bundle_label_selector(bundle_label_selector)
    return True
