"""Generators in a task's or actor's process: what it does with the values a generator yields
(the worker's side is ``raylike._dask.worker.streams``).

* streaming (``num_returns="streaming"``): each value is sent to the worker as soon as it is
  yielded (a ``stream_item`` request); with ``_generator_backpressure_num_objects=N`` the
  process then waits while ``N`` items are not taken by the consumer. An error the generator
  raises becomes the item after the last one.
* dynamic (``num_returns="dynamic"``): each value is ``put``; the task returns a
  ``DynamicObjectRefGenerator`` of their refs.
"""
from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from typing import Any

from raylike._api import runtime as _runtime
from raylike._api.generators import DynamicObjectRefGenerator
from raylike._api.objects import _Borrowed
from raylike._api.serialization import Frames, dumps_frames


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
    from raylike._process.child import error_payload

    payload = error_payload(exc, name)
    if backend.client is not None:  # not in a task's or actor's process: nowhere to keep it
        raise exc
    return backend.error_object(payload)


def end_with_error(key: str, error: bytes) -> None:
    """In a task's or actor's process: the generator of ``key`` raised ``error`` (pickled);
    the consumer's next item raises it."""
    backend: Any = _runtime.process_backend()
    backend.request("stream_end", key, error)
