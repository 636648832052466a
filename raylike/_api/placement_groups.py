"""Placement groups (``ray.util.placement_group``): bundles of resources reserved on nodes.

Each bundle is a *reservation task* (``_pg_host.hold_bundle``) pinned to the worker that the
scheduler's registry (``_pg_registry``) chose by the group's strategy: it holds the bundle's
resources as Dask resource restrictions, so every client sees them taken, and declares the
group's resources under Ray's names on its worker while it lives (``_pg_options``). Tasks
and actors in the group ask for those names. Removing a group ends its reservation tasks,
and with them the actors and tasks running in it.
"""
from __future__ import annotations

import os
import warnings
from typing import Any

from raylike._api import context as _context
from raylike._api import ids as _ids
from raylike._api import pg_options as _pg_options
from raylike._api import runtime as _runtime
from raylike._api.objects import ObjectRef
from raylike.exceptions import RaySystemError

STRATEGIES = ("PACK", "SPREAD", "STRICT_PACK", "STRICT_SPREAD")


class PlacementGroup:
    """A handle to a placement group."""

    @staticmethod
    def empty() -> PlacementGroup:
        return PlacementGroup(_ids.PlacementGroupID.nil())

    def __init__(self, id: _ids.PlacementGroupID,  # noqa: A002 - Ray's parameter name
                 bundle_cache: list[dict[str, float]] | None = None) -> None:
        self.id = id
        self.bundle_cache = bundle_cache

    @property
    def is_empty(self) -> bool:
        return bool(self.id.is_nil())

    def ready(self) -> ObjectRef[Any]:
        """An ``ObjectRef`` that resolves (to this group) once every bundle is placed; works
        with ``ray.get`` and ``ray.wait``."""
        if self.is_empty:
            from raylike._api.objects import put

            return put(self)
        backend = _runtime.backend(auto_init=True)
        return backend.placement_group_ready(self)

    def wait(self, timeout_seconds: float = 30) -> bool:
        """Whether the group is created within ``timeout_seconds``."""
        return bool(_request("wait", self.id.hex(), float(timeout_seconds)))

    @property
    def bundle_specs(self) -> list[dict[str, float]]:
        """The group's bundles (resource name -> quantity)."""
        if not self.bundle_cache:
            row = _request("table", self.id.hex())
            if not row:
                raise RaySystemError(f"Placement group {self.id!r} does not exist.")
            self.bundle_cache = [row["bundles"][i] for i in sorted(row["bundles"])]
        return list(self.bundle_cache)

    @property
    def bundle_count(self) -> int:
        return len(self.bundle_specs)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PlacementGroup) and self.id == other.id

    def __hash__(self) -> int:
        return hash(self.id)


# -- the public functions ---------------------------------------------------------------------
def placement_group(bundles: list[dict[str, float]], strategy: str | None = None,
                    name: str = "", lifetime: str | None = None,
                    _soft_target_node_id: str | None = None,
                    bundle_label_selector: list[dict[str, str]] | None = None,
                    topology_strategy: dict[str, str] | None = None) -> PlacementGroup:
    """Reserve ``bundles`` of resources on the cluster's nodes, asynchronously.

    ``strategy``: ``"PACK"`` (default; as few nodes as possible), ``"SPREAD"`` (distinct nodes
    as far as possible), ``"STRICT_PACK"`` (one node), ``"STRICT_SPREAD"`` (one node per
    bundle). ``lifetime="detached"`` keeps the group after its driver ends. Use
    ``pg.ready()``/``pg.wait()`` to wait for it.

    ``bundle_label_selector``: one label selector per bundle; a bundle goes only to a node
    whose labels match its selector.

    Differences from Ray: a group's bundles are reserved one by one (Ray reserves them all at
    once), bundles lost with their node are not placed again, and ``_soft_target_node_id``
    and ``topology_strategy`` are validated but not honoured.
    """
    _validate(bundles, strategy, lifetime, _soft_target_node_id, topology_strategy)
    if any(_pg_options.BUNDLE in bundle for bundle in bundles):
        raise ValueError(f"Bundles cannot ask for the resource {_pg_options.BUNDLE!r}: "
                         "its name is reserved for placement groups' own use")
    if not isinstance(name, str):
        raise TypeError(f"placement group name must be a string, got {type(name).__name__}")
    if topology_strategy is not None:
        strategy = topology_strategy.get("ray.io/node-id", "PACK")
    job_id = _context.current_job_id()
    pg_id = _ids.PlacementGroupID(os.urandom(_ids.PlacementGroupID.SIZE - _ids.JobID.SIZE)
                                  + bytes.fromhex(_ids._job_part(job_id)))
    cache = [{k: float(v) for k, v in b.items()} for b in bundles]
    _request("create", pg_id.hex(), name, _context.current_namespace(), cache,
             strategy or "PACK", lifetime == "detached", job_id, bundle_label_selector)
    return PlacementGroup(pg_id, bundle_cache=cache)


def remove_placement_group(placement_group: PlacementGroup) -> None:
    """Remove the group: its resources are freed, actors in it are killed, tasks running in
    it are cancelled."""
    assert placement_group is not None
    _request("remove", placement_group.id.hex())


def get_placement_group(placement_group_name: str) -> PlacementGroup:
    """The group named ``placement_group_name`` in the caller's namespace."""
    if not placement_group_name:
        raise ValueError("Please supply a non-empty value to get_placement_group")
    found = _request("lookup", placement_group_name, _context.current_namespace())
    if found is None:
        raise ValueError(f"Failed to look up placement group with name: "
                         f"{placement_group_name}")
    return PlacementGroup(_ids.PlacementGroupID.from_hex(found["pg_id"]),
                          bundle_cache=[dict(b) for b in found["bundles"]])


def placement_group_table(placement_group: PlacementGroup | None = None) -> dict[str, Any]:
    """The state of one group (Ray's keys), or of every group by id."""
    pg_id = placement_group.id.hex() if placement_group is not None else None
    table: dict[str, Any] = _request("table", pg_id)
    return table


def get_current_placement_group() -> PlacementGroup | None:
    """The group the calling task or actor runs in; None in the driver or outside a group."""
    here = getattr(_context.current(), "placement", None)
    return None if here is None else here.group


# -- plumbing ---------------------------------------------------------------------------------
def _request(op: str, *args: Any) -> Any:
    """Run ``op`` where a Dask client is: here, or (in a task's process) on its worker."""
    backend = _runtime.backend(auto_init=True)
    return backend.placement_group_request(op, *args)


def on_shutdown(runtime: Any) -> None:
    """The driver shuts down: its groups that are not detached are removed, as in Ray."""
    runtime.backend.scheduler_call("raylike_pg_remove_job", job_id=runtime.job_id)


# -- validation (Ray's checks and messages) ----------------------------------------------------
def _validate(bundles: Any, strategy: Any, lifetime: Any, soft_target: Any,
              topology_strategy: Any) -> None:
    if topology_strategy is not None and strategy is not None:
        raise ValueError("`strategy` and `topology_strategy` cannot both be specified. Pass "
                         "node-level packing via `topology_strategy['ray.io/node-id']`.")
    if strategy is not None and strategy not in STRATEGIES:
        raise ValueError(f"Invalid placement group strategy {strategy}. Supported strategies "
                         f"are: {set(STRATEGIES)}.")
    if soft_target and (strategy or "PACK") != "STRICT_PACK":
        raise ValueError("_soft_target_node_id currently only works with STRICT_PACK but got "
                         f"{strategy or 'PACK'}")
    validate_bundles(bundles)
    if lifetime not in (None, "detached"):
        raise ValueError("Placement group `lifetime` argument must be either `None` or "
                         f"'detached'. Got {lifetime}.")


def validate_bundles(bundles: Any) -> None:
    """Ray's check of a placement group's bundles (``ValueError`` with Ray's messages)."""
    if not isinstance(bundles, list):
        raise ValueError(f"Placement group bundles must be a list, got {type(bundles)}.")
    if not bundles:
        raise ValueError('Bundles must be a non-empty list of resource dictionaries. For '
                         'example: `[{"CPU": 1.0}, {"GPU": 1.0}]`. Got empty list instead.')
    for bundle in bundles:
        if not isinstance(bundle, dict) or not all(isinstance(k, str) for k in bundle) or \
                not all(isinstance(v, (int, float)) for v in bundle.values()):
            raise ValueError('Bundles must be a non-empty list of resource dictionaries. For '
                             'example: `[{"CPU": 1.0}, {"GPU": 1.0}]`.')
        if not bundle or all(v == 0 for v in bundle.values()):
            raise ValueError("Bundles cannot be an empty dictionary or resources with only 0 "
                             f"values. Bundles: {bundles}")
        if "object_store_memory" in bundle:
            from raylike._private.utils import get_ray_doc_version

            warnings.warn("Setting 'object_store_memory' for bundles is deprecated since it "
                          "doesn't actually reserve the required object store memory. Use "
                          "object spilling that's enabled by default (https://docs.ray.io/en/"
                          f"{get_ray_doc_version()}/ray-core/objects/object-spilling.html) "
                          "instead to bypass the object store memory size limitation.",
                          DeprecationWarning, stacklevel=1)
