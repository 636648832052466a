"""Tasks and actors in placement groups: the options that put them there, and the resources
they then ask of Dask.

A bundle's reservation task declares, on its worker, Ray's per-group resource names while it
lives: ``CPU_group_<i>_<id>`` and ``CPU_group_<id>`` for each resource of bundle ``i`` (the
second summed over the group's bundles on that worker), and ``bundle_group_<i>_<id>`` /
``bundle_group_<id>`` (1000 each). A task or actor in the group asks for the same quantities
under those names (and 0.001 of the bundle resource, so that even a zero-resource task runs
on a node of the group): Dask then runs it within the bundle's share, on the bundle's node.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

BUNDLE = "bundle"
BUNDLE_TOTAL = 1000.0  # what a bundle declares of the bundle resource, as in Ray
BUNDLE_ASK = 0.001  # what a task or actor in it asks of it


def group_resource(resource: str, pg_id: str, index: int = -1) -> str:
    """Ray's name for ``resource`` of bundle ``index`` (``-1``: of any bundle) of a group."""
    return f"{resource}_group_{pg_id}" if index < 0 else f"{resource}_group_{index}_{pg_id}"


def declared(bundle: dict[str, float], pg_id: str, index: int) -> dict[str, float]:
    """What bundle ``index`` adds to its worker's resources while it is held."""
    out: dict[str, float] = {}
    for name, value in [*bundle.items(), (BUNDLE, BUNDLE_TOTAL)]:
        if value > 0:
            out[group_resource(name, pg_id, index)] = float(value)
            out[group_resource(name, pg_id)] = float(value)
    return out


def requested(resources: dict[str, float], pg_id: str, index: int) -> dict[str, float]:
    """The Dask restrictions of a task or actor asking ``resources`` of bundle ``index``."""
    out = {group_resource(BUNDLE, pg_id, index): BUNDLE_ASK}
    for name, value in resources.items():
        if value > 0:
            out[group_resource(name, pg_id)] = float(value)
            if index >= 0:
                out[group_resource(name, pg_id, index)] = float(value)
    return out


@dataclass
class Placement:
    """Where a task or actor runs: a bundle (``index``, or ``-1`` for any) of ``group``."""

    group: Any  # the ``PlacementGroup`` (with its bundles)
    index: int
    capture: bool  # tasks it submits go to the group too (``capture_child_tasks``)
    dask: dict[str, float] = field(default_factory=dict)  # the Dask restrictions

    @property
    def pg_id(self) -> str:
        return str(self.group.id.hex())

    def cpu_names(self) -> tuple[str, ...]:
        """The resources a blocked task gives back (its share of the bundle's CPUs)."""
        return tuple(name for name in self.dask if name.startswith("CPU_group_"))


_LEGACY = ("placement_group", "placement_group_bundle_index",
           "placement_group_capture_child_tasks")


def check_options(options: dict[str, Any]) -> None:
    """Ray's check at ``@ray.remote``/``.options()``: the deprecated ``placement_group``
    option and ``scheduling_strategy`` do not go together."""
    if options.get("placement_group", "default") not in ("default", None) and \
            options.get("scheduling_strategy") is not None:
        raise ValueError("Placement groups should be specified via the scheduling_strategy "
                         "option. The placement_group option is deprecated.")


def resolve(options: dict[str, Any], resources: dict[str, float], what: str,
            placement_resources: dict[str, float] | None = None) -> Placement | None:
    """The placement of a task or actor with these options (None: not in a group), as Ray
    resolves it: a ``PlacementGroupSchedulingStrategy``, or the deprecated options, or the
    caller's own group when it captures child tasks. Raises ``ValueError`` for a bundle index
    out of range or a request that fits no bundle."""
    from raylike._api import context as _context
    from raylike.util.scheduling_strategies import PlacementGroupSchedulingStrategy

    strategy = options.get("scheduling_strategy")
    if strategy is not None and not isinstance(strategy, PlacementGroupSchedulingStrategy):
        _warn_legacy(options)
        return None
    if isinstance(strategy, PlacementGroupSchedulingStrategy):
        group: Any = strategy.placement_group
        index = strategy.placement_group_bundle_index
        capture = strategy.placement_group_capture_child_tasks
    else:
        _warn_legacy(options)
        group = options.get("placement_group", "default")
        given = options.get("placement_group_bundle_index")
        index = -1 if given is None else int(given)
        capture = options.get("placement_group_capture_child_tasks")
    current = _context.current()
    here = getattr(current, "placement", None)
    if capture is None:
        capture = bool(here is not None and here.capture)
    if group == "default":
        group = here.group if capture and here is not None else None
    if group is None or getattr(group, "is_empty", False):
        if index != -1:
            raise ValueError("If placement group is not set, the value of bundle index must "
                             "be -1.")
        return None
    bundles = group.bundle_specs
    if index >= len(bundles) or index < -1:
        raise ValueError(f"placement group bundle index {index} is invalid. Valid placement "
                         f"group indexes: 0-{len(bundles)}")
    _check_shape(bundles, resources, placement_resources, what)
    pg_id = str(group.id.hex())
    return Placement(group, index, bool(capture), requested(resources, pg_id, index))


def _check_shape(bundles: list[dict[str, float]], resources: dict[str, float],
                 placement_resources: dict[str, float] | None, what: str) -> None:
    def fits(request: dict[str, float]) -> bool:
        return any(all(b.get(k, 0.0) >= v for k, v in request.items()) for b in bundles)

    # Ray shows the request as given: whole numbers without a fraction
    shown = {k: int(v) if float(v).is_integer() else v for k, v in resources.items() if v > 0}
    if not fits(shown):
        raise ValueError(f"Cannot schedule {what} with the placement group because the "
                         f"resource request {shown} cannot fit into any bundles for the "
                         f"placement group, {bundles}.")
    if placement_resources and not fits(placement_resources):
        raise ValueError(f"Cannot schedule {what} with the placement group because the actor "
                         f"requires {placement_resources.get('CPU', 0)} CPU for creation, but "
                         f"it cannot fit into any bundles for the placement group, {bundles}. "
                         "Consider creating a placement group with CPU resources.")


def _warn_legacy(options: dict[str, Any]) -> None:
    unset = {"placement_group": "default", "placement_group_bundle_index": -1}
    for name in _LEGACY:
        value = options.get(name)
        if value is not None and value is not False and value != unset.get(name):
            from raylike._private.utils import get_ray_doc_version

            warnings.warn(f"{name} parameter is deprecated. Use scheduling_strategy="
                          "PlacementGroupSchedulingStrategy(...) instead, see the usage at "
                          f"https://docs.ray.io/en/{get_ray_doc_version()}/ray-core/"
                          "package-ref.html#ray-remote.", DeprecationWarning, stacklevel=4)
