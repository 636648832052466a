"""Generators, producer side: what a task's (or actor's) process does with the values a
generator yields, and what its worker does with them.

* streaming (``num_returns="streaming"``): each value is sent to the worker as soon as it is
  yielded; the worker keeps it as Dask data under ``item_key(K, i)`` and registers it with the
  scheduler's :class:`~raylike._stream_registry.StreamRegistry`. With
  ``_generator_backpressure_num_objects=N`` the process then waits while ``N`` items are not
  taken by the consumer. The task's own result is ``None``; an error the generator raises
  becomes the item after the last one.
* dynamic (``num_returns="dynamic"``): each value is ``put``; the task returns a
  ``DynamicObjectRefGenerator`` of their refs.
"""
from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Callable
from typing import Any

from raylike import _runtime
from raylike._generators import DynamicObjectRefGenerator
from raylike._objects import _Borrowed
from raylike._serialization import Frames, dumps, dumps_frames, loads
from raylike._stream_registry import item_key

WAIT_SLICE = 5.0  # seconds of one backpressure wait on the scheduler (the process asks again)


class _Producer:
    """Sends one generator's values to the worker, in order, honouring backpressure."""

    def __init__(self, key: str, limit: int) -> None:
        self.key = key
        self.limit = limit
        self.index = 0
        self.dropped = False  # the consumer dropped the generator: values are not sent

    def pack(self, value: Any) -> Frames | None:
        if self.dropped:
            return None
        with _Borrowed():
            return dumps_frames(value, "value yielded by a generator")

    def push(self, data: Frames | None) -> None:
        if data is None:
            return
        backend: Any = _runtime.process_backend()
        status, taken = backend.request("stream_item", self.key, self.index, data)
        self.index += 1
        while status != "dropped" and 0 < self.limit <= self.index - taken:
            status, taken = backend.request("stream_wait", self.key,
                                            self.index - self.limit + 1)
        self.dropped = status == "dropped"


def stream(key: str, values: Any, backpressure: int) -> None:
    """Run a streaming generator task's generator (sync or async) to its end."""
    if inspect.isasyncgen(values):
        asyncio.run(stream_async(key, values, backpressure))
        return
    producer = _Producer(key, backpressure)
    for value in values:
        producer.push(producer.pack(value))


async def stream_async(key: str, values: Any, backpressure: int) -> None:
    """The same on an event loop (async generators, async actors): the sends, which may wait
    for the consumer, run in a thread so the loop goes on."""
    producer = _Producer(key, backpressure)
    if inspect.isasyncgen(values):
        async for value in values:
            await asyncio.to_thread(producer.push, producer.pack(value))
    else:
        for value in values:
            await asyncio.to_thread(producer.push, producer.pack(value))


def collect(values: Any, name: str = "",
            retry: Callable[[BaseException], bool] | None = None) -> DynamicObjectRefGenerator:
    """A dynamic generator task's result: each value ``put``, in order; an error the
    generator raises is its last ref (as in Ray: the task itself succeeds), unless ``retry``
    says it is to be retried: then it is raised (the task runs again from the start)."""
    if inspect.isasyncgen(values):
        return asyncio.run(collect_async(values, name))
    backend = _runtime.process_backend()
    refs: list[Any] = []
    try:
        for value in values:
            refs.append(backend.put(value))
    except Exception as exc:
        if retry is not None and retry(exc):
            raise
        refs.append(_error_object(backend, exc, name))
    return DynamicObjectRefGenerator(refs)


async def collect_async(values: Any, name: str = "") -> DynamicObjectRefGenerator:
    backend = _runtime.process_backend()
    refs: list[Any] = []
    try:
        if inspect.isasyncgen(values):
            async for value in values:
                refs.append(backend.put(value))
        else:
            for value in values:
                refs.append(backend.put(value))
    except Exception as exc:
        refs.append(await asyncio.to_thread(_error_object, backend, exc, name))
    return DynamicObjectRefGenerator(refs)


def _error_object(backend: Any, exc: BaseException, name: str) -> Any:
    """An object whose ``get`` raises ``exc`` as the task error of ``name`` (made by the
    worker: a task process's backend asks it)."""
    from raylike._child import error_payload

    payload = error_payload(exc, name)
    if backend.client is not None:  # not in a task's or actor's process: nowhere to keep it
        raise exc
    return backend.error_object(payload)


def end_with_error(key: str, error: bytes) -> None:
    """In a task's or actor's process: the generator of ``key`` raised ``error`` (pickled);
    the consumer's next item raises it."""
    backend: Any = _runtime.process_backend()
    backend.request("stream_end", key, error)


def raise_error(payload: bytes) -> None:
    """The Dask task behind the item that holds a generator's error: it fails with it."""
    raise loads(payload)


# -- the worker's side (``TaskScope`` requests) --------------------------------------------
def store_item(node: Any, key: str, index: int, data: Frames) -> tuple[str, int]:
    """Keep item ``index`` of ``key`` as Dask data of this worker and register it with the
    scheduler; ``(status, items taken by the consumer)``."""
    from raylike._dask import internals
    from raylike._local_objects import store

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
