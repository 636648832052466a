"""Generators on a node: the worker keeps each item a task's or actor's process yields
(``raylike._process.generators``) as Dask data under ``item_key(K, i)`` and registers it with the
scheduler's :class:`~raylike._dask.scheduler.stream_registry.StreamRegistry`, which also
answers backpressure waits; the item after the last one raises the generator's error.
"""
from __future__ import annotations

import dataclasses
import threading
import time
import uuid
from typing import Any

from raylike._api.generators import DynamicObjectRefGenerator
from raylike._api.serialization import Frames, dumps, loads
from raylike._dask.scheduler.stream_registry import ItemRebuild, item_key

__all__ = ["ItemRebuild", "adopt_dynamic", "raise_error", "rebuild_item", "record_error",
           "store_item", "wait_taken"]

WAIT_SLICE = 5.0  # seconds of one backpressure wait on the scheduler (the process asks again)
_REBUILDS: dict[str, dict[str, Any]] = {}  # a rebuild's run key -> {"index", "value"...}
_lock = threading.Lock()
KEEP_S = 60.0  # seconds a rebuild run's other values wait for the rebuilds of their items
_KEPT: dict[str, tuple[float, dict[int, Any]]] = {}  # generator key -> (when, {index: value})


def rebuild_item(node: Any, rebuild: ItemRebuild, deps: tuple[Any, ...]) -> Any:
    """Make item ``rebuild.index`` of a generator task again (its copy was lost with its
    node): run the generator again, as a task of its own key that nobody consumes, and return
    its ``index``-th value (it runs to its end, as a re-executed generator task does in Ray).
    The run's other values are kept here a while (``KEEP_S``) for the rebuilds of the other
    items lost with it, which then take them instead of running the generator again. Its
    error, if it raised one by then, is this task's error; one that yielded fewer values
    raises ``ObjectReconstructionFailedError``."""
    from raylike._api import ids as _ids
    from raylike.exceptions import ObjectReconstructionFailedError, WorkerCrashedError

    call, index = rebuild.call, rebuild.index
    if index < 0:  # the streaming generator's own result (None), lost after it ended
        return None
    kept = _take_kept(call.key, index)
    if kept is not None:
        value = kept[0]
        return node.backend().get([value], None)[0] if _is_ref(value) else value
    run_key = f"{call.key}/rebuild/{index}/{uuid.uuid4().hex[:12]}"
    box: dict[str, Any] = {"index": index, "all": {}}
    with _lock:
        _REBUILDS[run_key] = box
    try:
        result = node.run_task(dataclasses.replace(call, key=run_key, backpressure=-1), deps)
        if isinstance(result, DynamicObjectRefGenerator):  # a dynamic generator's: puts
            box["all"] = dict(enumerate(result._refs))
            if index in box["all"]:
                box["value"] = node.backend().get([box["all"][index]], None)[0]
    except WorkerCrashedError as crashed:  # the item's own error, not an argument's
        crashed._task_key = item_key(call.key, index)  # type: ignore[attr-defined]
        raise
    finally:
        with _lock:
            _REBUILDS.pop(run_key, None)
            others = {i: v for i, v in box["all"].items() if i != index}
            if others and "error" not in box:
                _KEPT[call.key] = (time.monotonic(), others)
    if "value" in box:
        return box["value"]
    if "error" in box:
        error = box["error"]
        raise loads(error) if isinstance(error, bytes) else error
    raise ObjectReconstructionFailedError(
        _ids.object_hex(item_key(call.key, index)),
        "GENERATOR_TASK_FAILED_FOR_OBJECT_RECONSTRUCTION",
        f"The generator task ran again to rebuild its lost value {index} but "
        "yielded fewer values.")


def _take_kept(key: str, index: int) -> tuple[Any] | None:
    """Value ``index`` of a recent rebuild run of generator ``key`` on this node, taken."""
    now = time.monotonic()
    with _lock:
        for stale in [k for k, (at, _) in _KEPT.items() if now - at > KEEP_S]:
            del _KEPT[stale]
        found = _KEPT.get(key)
        if found is None or index not in found[1]:
            return None
        value = found[1].pop(index)
        if not found[1]:
            del _KEPT[key]
        return (value,)


def _is_ref(value: Any) -> bool:
    from raylike._api.objects import ObjectRef

    return isinstance(value, ObjectRef)


def adopt_dynamic(node: Any, key: str, result: Any) -> None:
    """Dynamic generator task ``key`` returned ``result``: its values (``put`` by its
    process) get the lineage of generator items, so a lost one is made again."""
    if isinstance(result, DynamicObjectRefGenerator):
        node.backend().scheduler_call("raylike_adopt_items", key=key,
                                      items=[ref._key for ref in result._refs])


def _rebuilding(key: str) -> dict[str, Any] | None:
    with _lock:
        return _REBUILDS.get(key)


def raise_error(payload: bytes) -> None:
    """The Dask task behind the item that holds a generator's error: it fails with it."""
    raise loads(payload)


def store_item(node: Any, key: str, index: int, data: Frames) -> tuple[str, int]:
    """Keep item ``index`` of ``key`` as Dask data of this worker and register it with the
    scheduler; ``(status, items taken by the consumer)``."""
    from raylike._dask import internals
    from raylike._dask.client.local_objects import store

    box = _rebuilding(key)
    if box is not None:  # a rebuild's run: keep the value it is for, drop the others
        value = loads(data)
        box["all"][index] = value
        if index == box["index"]:
            box["value"] = value
        return "ok", index + 1
    value = loads(data)  # refs inside hold their objects for as long as the item lives
    worker, item = node.worker, item_key(key, index)

    async def on_loop() -> dict[str, Any]:
        if item in worker.state.tasks:  # a retried task yields what this worker holds
            return {"status": "dup", "taken": index + 1}
        nbytes = store(worker, item, value)
        answer: dict[str, Any] = await worker.scheduler.raylike_stream_item(
            key=key, index=index, item=item, nbytes=nbytes, worker=worker.address)
        if answer["status"] != "ok":
            internals.stimulate(worker, internals.free_keys_event(
                [item], f"raylike-stream-{time.time()}"))
        return answer

    answer = node.backend().client.sync(on_loop)
    return answer["status"], int(answer["taken"])


def record_error(node: Any, key: str, error: BaseException | bytes) -> None:
    """The generator of ``key`` raised ``error``: the item after its last one raises it."""
    box = _rebuilding(key)
    if box is not None:
        box.setdefault("error", error)
        return
    payload = error if isinstance(error, bytes) else dumps(error)
    node.backend().scheduler_call("raylike_stream_end", key=key, error=payload)


def wait_taken(node: Any, key: str, taken: int) -> tuple[str, int]:
    """Backpressure: wait (a while at most) until the consumer took ``taken`` items."""
    answer = node.backend().scheduler_call("raylike_stream_wait", key=key, taken=taken,
                                           timeout=WAIT_SLICE)
    return answer["status"], int(answer["taken"])
