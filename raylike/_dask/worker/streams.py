"""Generators on a node: the worker keeps each item a task's or actor's process yields
(``raylike._process.generators``) as Dask data under ``item_key(K, i)`` and registers it with the
scheduler's :class:`~raylike._dask.scheduler.stream_registry.StreamRegistry`, which also
answers backpressure waits; the item after the last one raises the generator's error.
"""
from __future__ import annotations

import time
from typing import Any

from raylike._api.serialization import Frames, dumps, loads
from raylike._dask.scheduler.stream_registry import item_key

WAIT_SLICE = 5.0  # seconds of one backpressure wait on the scheduler (the process asks again)


def raise_error(payload: bytes) -> None:
    """The Dask task behind the item that holds a generator's error: it fails with it."""
    raise loads(payload)


def store_item(node: Any, key: str, index: int, data: Frames) -> tuple[str, int]:
    """Keep item ``index`` of ``key`` as Dask data of this worker and register it with the
    scheduler; ``(status, items taken by the consumer)``."""
    from raylike._dask import internals
    from raylike._dask.client.local_objects import store

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
    payload = error if isinstance(error, bytes) else dumps(error)
    node.backend().scheduler_call("raylike_stream_end", key=key, error=payload)


def wait_taken(node: Any, key: str, taken: int) -> tuple[str, int]:
    """Backpressure: wait (a while at most) until the consumer took ``taken`` items."""
    answer = node.backend().scheduler_call("raylike_stream_wait", key=key, taken=taken,
                                           timeout=WAIT_SLICE)
    return answer["status"], int(answer["taken"])
