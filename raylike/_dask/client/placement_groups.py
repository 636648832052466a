"""Placement groups on Dask, where a client is (the driver, or a worker for its tasks'
processes): the scheduler's registry places a group; each bundle is then held by a reservation
task pinned to its worker, until the group is removed."""
from __future__ import annotations

import logging
import threading
import time
from typing import Any

from raylike._api import pg_options as _pg_options
from raylike._api.objects import ObjectRef
from raylike._api.placement_groups import PlacementGroup
from raylike._dask.worker import pg_host as _pg_host
from raylike.exceptions import RaySystemError

WAIT_SLICE = 5.0  # seconds one ask to the scheduler waits
logger = logging.getLogger("raylike")


def serve_request(scope: Any, op: str, *args: Any) -> Any:
    """A task's or actor's request, served by its worker (``TaskScope.op_pg``)."""
    backend = scope.node.backend()
    if op == "ready":
        ref = ready_ref(backend, args[0])
        scope.held.append(ref)
        return ref._key
    return serve(backend, op, *args)


def serve(backend: Any, op: str, *args: Any) -> Any:
    if op == "create":
        return _create(backend, *args)
    if op == "wait":
        return _wait(backend, *args)
    if op == "remove":
        return backend.scheduler_call("raylike_pg_remove", pg_id=args[0])
    if op == "table":
        return _int_keys(backend.scheduler_call("raylike_pg_table", pg_id=args[0]), args[0])
    if op == "lookup":
        return backend.scheduler_call("raylike_pg_lookup", name=args[0], namespace=args[1])
    raise ValueError(f"unknown placement group request {op!r}")


def _int_keys(table: dict[str, Any], pg_id: str | None) -> dict[str, Any]:
    """Bundle indexes as ints, as Ray gives them (they may travel as strings)."""
    rows = [table] if pg_id is not None else list(table.values())
    for row in rows:
        for key in ("bundles", "bundles_to_node_id"):
            if key in row:
                row[key] = {int(i): v for i, v in row[key].items()}
    return table


def _create(backend: Any, pg_id: str, name: str, namespace: str | None,
            bundles: list[dict[str, float]], strategy: str, detached: bool, job_id: str,
            selectors: list[dict[str, str]] | None = None) -> None:
    status = backend.scheduler_call(
        "raylike_pg_create", pg_id=pg_id, name=name, namespace=namespace, bundles=bundles,
        strategy=strategy, detached=detached, job_id=job_id, selectors=selectors)
    if status == "taken":
        raise RaySystemError(f"Failed to create placement group '{pg_id}' because name "
                             f"'{name}' already exists.")
    reply = backend.scheduler_call("raylike_pg_place", pg_id=pg_id, timeout=0.0)
    if reply["status"] == "placed":
        _reserve(backend, pg_id, bundles, reply["workers"])
        return
    if not reply.get("feasible", False):  # busy nodes: it waits for room, as in Ray
        _warn_infeasible(name or pg_id, bundles, strategy)
    threading.Thread(target=_place_later, args=(backend, pg_id, bundles), daemon=True,
                     name=f"raylike-pg-{pg_id[:8]}").start()


def _warn_infeasible(name: str, bundles: list[dict[str, float]], strategy: str) -> None:
    logger.warning("Warning: placement group %s (bundles %s, strategy %s) cannot be placed on "
                   "the cluster's nodes now. It will wait until nodes that can hold it join.",
                   name, bundles, strategy)


def _place_later(backend: Any, pg_id: str, bundles: list[dict[str, float]]) -> None:
    """Wait (in slices) until workers that can hold the group join, then reserve its bundles;
    ends when the group is removed or the client is closed."""
    while True:
        try:
            reply = backend.scheduler_call("raylike_pg_place", pg_id=pg_id, timeout=WAIT_SLICE)
        except Exception:  # the client is closed or the scheduler lost: nobody waits any more
            return
        if reply["status"] == "placed":
            _reserve(backend, pg_id, bundles, reply["workers"])
            return
        if reply["status"] == "removed":
            return


def _reserve(backend: Any, pg_id: str, bundles: list[dict[str, float]],
             workers: list[str]) -> None:
    """Submit each bundle's reservation task, pinned to its worker. They run until the group
    is removed, whoever holds a ref (the registry releases them)."""
    for index, (bundle, address) in enumerate(zip(bundles, workers)):
        key = f"placement_group.{pg_id}-{index}"
        backend.submit_raw(
            _pg_host.hold_bundle, pg_id, index, _pg_options.declared(bundle, pg_id, index),
            key, key=key, resources={k: v for k, v in bundle.items() if v > 0}, detach=True,
            workers=[address], allow_other_workers=False)


def _wait(backend: Any, pg_id: str, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        left = max(0.0, deadline - time.monotonic())
        state = backend.scheduler_call("raylike_pg_wait", pg_id=pg_id,
                                       timeout=min(left, WAIT_SLICE))
        if state == "CREATED":
            return True
        if state in ("REMOVED", "MISSING"):
            raise RaySystemError(f"Placement group PlacementGroupID({pg_id}) does not exist.")
        if left <= 0:
            return False


def ready_ref(backend: Any, group: PlacementGroup) -> ObjectRef[Any]:
    from raylike._api.tasks import new_key
    key = new_key("placement_group_ready")
    ref: ObjectRef[Any] = backend.submit_raw(_pg_host.ready, group, key, key=key, resources=None)
    return ref
