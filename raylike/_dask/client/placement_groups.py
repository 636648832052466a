"""Placement groups on Dask, where a client is (the driver, or a worker for its tasks'
processes): the scheduler's registry places a group; each bundle is then held by a reservation
task pinned to its worker, until the group is removed."""
from __future__ import annotations

import asyncio
import itertools
import logging
import threading
import time
import weakref
from collections import OrderedDict
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from raylike._api import pg_options as _pg_options
from raylike._api.objects import ObjectRef
from raylike._api.placement_groups import PlacementGroup
from raylike._dask.scheduler.pg_registry import CREATED_TOPIC
from raylike._dask.worker import pg_host as _pg_host
from raylike.exceptions import RaySystemError

WAIT_SLICE = 5.0  # seconds one ask to the scheduler waits
CREATED_KEPT = 100_000  # groups remembered as created, at most (the oldest are forgotten)
_watched: weakref.WeakKeyDictionary[Any, OrderedDict[str, None]] = weakref.WeakKeyDictionary()
# per process: its creations and removals on their way (group id, "create"/"remove", future)
_inflight: weakref.WeakKeyDictionary[Any, list[tuple[str, str, Future[Any]]]] = (
    weakref.WeakKeyDictionary())
_finishing: ThreadPoolExecutor | None = None
# per process: its groups waiting for room (id -> bundles), in creation order
_waiting: weakref.WeakKeyDictionary[Any, dict[str, list[dict[str, float]]]] = (
    weakref.WeakKeyDictionary())
_lock = threading.Lock()
_warned: set[tuple[str, str]] = set()  # the kinds of group warned about as infeasible
_counter = itertools.count()
_order: dict[str, int] = {}  # group id -> its creation's rank in this process, until placed
SETTLE_TIMEOUT = 60.0  # seconds a request waits, at most, for a removal still on its way
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
    if op == "remove":
        _created(backend).pop(args[0], None)
        return _remove(backend, args[0])
    if op == "create":
        return _create(backend, *args)
    _settle(backend)
    if op == "wait":
        return _wait(backend, *args)
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


def _remove(backend: Any, pg_id: str) -> None:
    """Ask the registry to remove the group and return without waiting for its answer (Ray's
    removal is asynchronous too): the next placement-group request of this process waits for
    it first (:func:`_settle`), so the removal is seen by whatever this process asks next; a
    creation still on its way goes first."""
    with _lock:
        before = [f for i, kind, f in _inflight.get(backend, ()) if i == pg_id and kind == "create"]
    future = asyncio.run_coroutine_threadsafe(_remove_after(backend, pg_id, before),
                                              backend.client.loop.asyncio_loop)
    _track(backend, pg_id, "remove", future)


async def _remove_after(backend: Any, pg_id: str, before: list[Future[Any]]) -> Any:
    for future in before:
        await asyncio.wrap_future(future)
    return await backend.client.scheduler.raylike_pg_remove(pg_id=pg_id)


def _track(backend: Any, pg_id: str, kind: str, future: Future[Any]) -> None:
    with _lock:
        _inflight.setdefault(backend, []).append((pg_id, kind, future))


def _settle(backend: Any) -> None:
    """Wait for this process's creations and removals still on their way (bounded: a lost
    scheduler ends the wait with its error, logged)."""
    with _lock:
        inflight = _inflight.pop(backend, [])
    for _, _, future in inflight:
        try:
            future.result(SETTLE_TIMEOUT)
        except Exception:
            logger.debug("a placement group's creation or removal failed", exc_info=True)


def _created(backend: Any) -> OrderedDict[str, None]:
    """The groups this client heard were created (the registry's ``CREATED_TOPIC``, which it
    watches from its first group on): ``pg.wait()`` on one of them asks nothing."""
    with _lock:
        created = _watched.get(backend)
        if created is None:
            created = _watched[backend] = OrderedDict()

            def heard(event: tuple[float, str]) -> None:
                created[event[1]] = None
                while len(created) > CREATED_KEPT:
                    created.popitem(last=False)

            backend.subscribe(CREATED_TOPIC, heard)
    return created


def _create(backend: Any, pg_id: str, name: str, namespace: str | None,
            bundles: list[dict[str, float]], strategy: str, detached: bool, job_id: str,
            selectors: list[dict[str, str]] | None = None) -> None:
    """Record the group with the registry, which places it if it can; then reserve its
    bundles (or wait for room in a thread). A named group waits for the answer (its name
    may be taken: Ray's error, raised here); an unnamed one returns at once, as Ray's
    creation does, and its requests after are ordered behind it (:func:`_settle`)."""
    _created(backend)
    _order[pg_id] = next(_counter)
    request = dict(pg_id=pg_id, name=name, namespace=namespace, bundles=bundles,
                   strategy=strategy, detached=detached, job_id=job_id, selectors=selectors)
    if name:  # after this process's removals: one may free the name
        _settle(backend)
        _answered(backend, pg_id, name, bundles, strategy,
                  backend.scheduler_call("raylike_pg_create", **request))
        return
    done: Future[None] = Future()
    asked = asyncio.run_coroutine_threadsafe(backend.client.scheduler.raylike_pg_create(**request),
                                             backend.client.loop.asyncio_loop)
    asked.add_done_callback(lambda answer: _finisher().submit(
        _finish, backend, pg_id, bundles, strategy, answer, done))
    _track(backend, pg_id, "create", done)


def _finisher() -> ThreadPoolExecutor:
    """The one thread that reserves the bundles of unnamed groups once the registry answers
    (the answer arrives on the client's event loop, which must not submit and wait)."""
    global _finishing
    with _lock:
        if _finishing is None:
            _finishing = ThreadPoolExecutor(1, thread_name_prefix="raylike-pg-create")
        return _finishing


def _finish(backend: Any, pg_id: str, bundles: list[dict[str, float]], strategy: str,
            answer: Future[Any], done: Future[None]) -> None:
    try:
        _answered(backend, pg_id, "", bundles, strategy, answer.result())
    except Exception:
        logger.warning("placement group %s could not be created", pg_id, exc_info=True)
    finally:
        done.set_result(None)


def _answered(backend: Any, pg_id: str, name: str, bundles: list[dict[str, float]],
              strategy: str, reply: dict[str, Any]) -> None:
    if reply["status"] != "pending":
        _order.pop(pg_id, None)
    if reply["status"] == "taken":
        raise RaySystemError(f"Failed to create placement group '{pg_id}' because name "
                             f"'{name}' already exists.")
    if reply["status"] == "placed":
        _reserve(backend, pg_id, bundles, reply["workers"])
        return
    if not reply.get("feasible", False):  # busy nodes: it waits for room, as in Ray
        _warn_infeasible(name or pg_id, bundles, strategy)
    with _lock:
        waiting = _waiting.setdefault(backend, {})
        waiting[pg_id] = bundles
        if len(waiting) == 1:  # no thread waits for this process's groups: start one
            threading.Thread(target=_place_later, args=(backend, waiting), daemon=True,
                             name="raylike-pg-waiting").start()


def _warn_infeasible(name: str, bundles: list[dict[str, float]], strategy: str) -> None:
    """Warn once per process and kind of group (its bundles and strategy), not per group."""
    shape = (repr(bundles), strategy)
    with _lock:
        if shape in _warned:
            return
        _warned.add(shape)
    logger.warning("Warning: placement group %s (bundles %s, strategy %s) cannot be placed on "
                   "the cluster's nodes now. It will wait until nodes that can hold it join.",
                   name, bundles, strategy)


def _place_later(backend: Any, waiting: dict[str, list[dict[str, float]]]) -> None:
    """Wait (in slices) until the room for this process's waiting groups appears (a worker
    joins, a group goes), then reserve the bundles of those placed; one request for them all,
    in their creation's order. Ends when none waits, or the client is closed."""
    while True:
        with _lock:
            if not waiting:
                _waiting.pop(backend, None)
                return
            ids = sorted(waiting, key=lambda pg_id: _order.get(pg_id, 0))
        try:
            replies = backend.scheduler_call("raylike_pg_place_many", pg_ids=ids,
                                             timeout=WAIT_SLICE)
        except Exception:  # the client is closed or the scheduler lost: nobody waits any more
            with _lock:
                waiting.clear()
                _waiting.pop(backend, None)
            return
        for pg_id, reply in replies.items():
            with _lock:
                bundles = waiting.pop(pg_id, None)
                _order.pop(pg_id, None)
            if bundles is not None and reply["status"] == "placed":
                _reserve(backend, pg_id, bundles, reply["workers"])


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
    if pg_id in _created(backend):
        return True
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
    _settle(backend)  # this process's removal of the group is seen
    key = new_key("placement_group_ready")
    ref: ObjectRef[Any] = backend.submit_raw(_pg_host.ready, group, key, key=key, resources=None)
    return ref
