"""``ray.experimental.get_object_locations``: which nodes hold an object, and its size.

An object is held by the Dask workers (nodes) the scheduler lists for its key; its size is its
value serialized, measured by one of them (Dask's own figure is an estimate of the value in
memory). A driver's direct actor call answered but not yet given a key gets one here."""
from __future__ import annotations

import concurrent.futures
import threading
import time
from typing import Any

from raylike._api import objects as _objects
from raylike._api import runtime as _runtime
from raylike._api import state as _state
from raylike.exceptions import GetTimeoutError

__all__ = ["get_local_object_locations", "get_object_locations"]

_PENDING: dict[str, Any] = {"node_ids": [], "object_size": None, "did_spill": False}
ANNOUNCE_WAIT = 5.0  # seconds a finished object may take to reach the scheduler's table


def get_object_locations(obj_refs: list[_objects.ObjectRef[Any]],
                         timeout_ms: int = -1) -> dict[_objects.ObjectRef[Any], dict[str, Any]]:
    """``{ref: {"node_ids": [...], "object_size": int | None, "did_spill": bool}}`` for each
    ref: the hex ids of the nodes holding a copy, and the object's serialized size (``None``,
    with no nodes, while it is being made). ``GetTimeoutError`` if the answer takes longer
    than ``timeout_ms`` (negative: no limit)."""
    if not _runtime.is_initialized():
        raise RuntimeError("Ray hasn't been initialized.")
    refs = list(obj_refs)
    for ref in refs:
        if not isinstance(ref, _objects.ObjectRef):
            raise TypeError(f"get_object_locations takes ObjectRefs, got {type(ref)}")
    keys = {ref: _key_of(ref) for ref in refs}
    wanted = [k for k in keys.values() if k is not None]
    if timeout_ms is None or timeout_ms < 0:
        found = _state.object_locations(wanted)
    else:
        found = _within(wanted, timeout_ms / 1000)
    # a finished object the scheduler does not list yet: its announcement (one way, on the
    # client's stream) is still on its way; the query took another connection
    late = [k for r, k in keys.items() if k is not None and _finished_here(r)
            and not found.get(k, _PENDING)["node_ids"]]
    deadline = time.monotonic() + ANNOUNCE_WAIT
    while late and time.monotonic() < deadline:
        time.sleep(0.02)
        found.update(_state.object_locations(late))
        late = [k for k in late if not found.get(k, _PENDING)["node_ids"]]
    return {ref: dict(found.get(key, _PENDING)) if key is not None else dict(_PENDING)
            for ref, key in keys.items()}


def _finished_here(ref: _objects.ObjectRef[Any]) -> bool:
    fut = ref._future
    return fut is not None and getattr(fut, "status", None) == "finished"


def get_local_object_locations(
        obj_refs: list[_objects.ObjectRef[Any]]) -> dict[_objects.ObjectRef[Any], dict[str, Any]]:
    """As :func:`get_object_locations`. Differences from Ray: Ray answers from what the
    calling process knows, without asking anyone; raylike has no such local table and asks
    the scheduler."""
    return get_object_locations(obj_refs)


def _key_of(ref: _objects.ObjectRef[Any]) -> str | None:
    """The Dask key to look up, or ``None`` for a direct actor call still running (a put
    still in flight is waited for by the lookup itself: the backend's ``state_request``)."""
    direct = ref._direct
    if ref._future is None and direct is not None:
        if not direct.future.done():
            return None
        # answered: its value gets a key (and a holder), which the scheduler must know
        _reported(direct.promote(ref, block=True))
    elif ref._future is not None and (ref._delivered or direct is not None):
        _reported(ref._future)  # a value known here first (early, or a put's kept copy)
    return ref._key


def _reported(future: Any, timeout: float = 30.0) -> None:
    """Wait (a while at most) until Dask has heard of a result handed over early (through
    the lane, before the worker's report): ``get`` has returned it, so it exists."""
    done = threading.Event()
    future.add_done_callback(lambda _f: done.set())
    done.wait(timeout)


def _within(keys: list[str], timeout: float) -> dict[str, dict[str, Any]]:
    result: concurrent.futures.Future[dict[str, dict[str, Any]]] = concurrent.futures.Future()

    def run() -> None:
        try:
            result.set_result(_state.object_locations(keys))
        except BaseException as exc:  # noqa: BLE001 - handed to the caller
            result.set_exception(exc)

    threading.Thread(target=run, daemon=True, name="raylike-locations").start()
    try:
        return result.result(timeout=timeout)
    except concurrent.futures.TimeoutError:
        raise GetTimeoutError(f"Could not find the objects' locations within "
                              f"{int(timeout * 1000)} ms.") from None
