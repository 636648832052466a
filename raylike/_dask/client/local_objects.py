"""``put`` and ``get`` between a driver and a worker on its host, through the lane's shared memory.

Part of the Dask boundary (with ``_backend``): Dask still owns every object. A ``put`` stores
the value on the worker as Dask data (the worker's ``update_data``, then the scheduler's, as
Dask's own ``scatter`` does), so Dask tracks, moves, spills and frees it as any other; a
``get`` of an object held by that worker reads it there. Only the bytes take the shorter way
(see ``raylike._transport.lane``): a 100 MB array is one copy on ``put`` and none on ``get``, where
Dask's
TCP path costs several.
"""
from __future__ import annotations

import concurrent.futures
import contextlib
import functools
from typing import TYPE_CHECKING, Any

from distributed import Client, Future

from raylike._api.objects import ObjectRef, _Borrowed
from raylike._api.serialization import dumps_frames, loads
from raylike._dask import internals
from raylike._dask.client.callbacks import when_done

if TYPE_CHECKING:
    from raylike._dask.client.puts import PutsInFlight
    from raylike._transport.lane import Lane

ABSENT: Any = object()  # ``get``: the lane's worker does not hold this object
# ``watch`` a get of at most this many running tasks: it saves each result ≈2–3 ms of Dask's
# reporting, which matters to a caller waiting on a few; a large batch is bound by throughput,
# which the watches would only cost (≈5 % of tasks/s measured with 2,000)
WATCH_LIMIT = 64


def put(puts: PutsInFlight, lane: Lane, value: Any, owner: Any = None) -> ObjectRef[Any] | None:
    """Store ``value`` on the lane's worker, one way (``puts``); ``None`` if it must go Dask's
    way instead. ``owner``: the driver's ``DirectCalls``, which keeps a copy of a small value
    (``small_puts``)."""
    from raylike._api.tasks import new_key
    from raylike._dask.client import small_puts as _small_puts

    with _Borrowed() as borrowed:
        frames = dumps_frames(value, "put value")
    if borrowed.refs:  # refs inside: Dask's scatter keeps them alive with the value
        return None
    ref = puts.send(lane, new_key(type(value).__name__), frames, type(value))
    if ref is not None:
        _small_puts.keep_copy(ref, frames, owner)
    return ref


def announce(client: Client, key: str, address: str, nbytes: int, kind: type) -> Future:
    """Tell the scheduler that the worker at ``address`` holds ``key`` (stored there with
    ``Worker.update_data``) for ``client``: the second half of Dask's ``scatter``.

    One way, on the client's batched stream (no round trip: it was half of a small ``put``'s
    time): whatever the client sends later about ``key`` (a task that uses it, its release)
    travels behind it on the same stream, and another process that asks for the key before
    the scheduler knows it waits for it (``RefsPlugin``'s wishes)."""
    future: Future = Future(key, client)
    internals.send_to_scheduler(client, {"op": "raylike-update-data", "who_has": {key: [address]},
                                         "nbytes": {key: nbytes}})
    internals.finish_future(client, key, kind)
    return future


def store(worker: Any, key: str, value: Any) -> int:
    """Keep ``value`` as Dask data of ``worker`` under ``key`` (on its event loop); its size.
    The first half of Dask's ``scatter``: :func:`announce` is the second."""
    reply = worker.update_data(data={key: value}, stimulus_id=f"raylike-store-{key}")
    return int(reply["nbytes"][key])


class WorkerObjects:
    """A Dask worker's data, as its lane serves it (``raylike._transport.lane.LocalObjects``)."""

    def __init__(self, worker: Any) -> None:
        self.worker = worker

    def holds(self, key: str) -> bool:
        return key in self.worker.data

    def value(self, key: str) -> Any:
        return self.worker.data[key]

    def store(self, key: str, value: Any) -> int:
        return store(self.worker, key, value)


def keep_here(worker: Any, client: Client, key: str, value: Any) -> Future:
    """Store ``value`` under ``key`` on ``worker`` (whose client is ``client``; called off its
    event loop) and make it an ordinary Dask object."""
    async def on_loop() -> int:
        return store(worker, key, value)

    nbytes = client.sync(on_loop)
    return announce(client, key, worker.address, nbytes, type(value))


def keep_as(worker: Any, client: Client, key: str, value: Any) -> ObjectRef[Any]:
    """A task process's ``put`` of ``value`` (no refs in it) under ``key``, kept as Dask
    data of its own ``worker`` (whose client is ``client``; called off its event loop).

    One way: the ref (its future pending) is returned at once, and the value is stored and
    announced on the event loop, ahead of whatever is queued there after this call (a task
    that uses the key, a ``get``, its release: each of those reaches Dask through that loop,
    and a lease waits for the future to finish). A store that fails there (the worker is
    closing) fails the future, as a driver's one-way ``put`` does (``puts``)."""
    future: Future = Future(key, client)

    def on_loop() -> None:
        try:
            nbytes = store(worker, key, value)
            internals.send_to_scheduler(client, {"op": "raylike-update-data",
                                                 "who_has": {key: [worker.address]},
                                                 "nbytes": {key: nbytes}})
            internals.finish_future(client, key, type(value))
        except Exception as exc:
            state = internals.future_state(client, key)
            if state is not None and not state.done():
                state.set_error(exc, None)

    worker.loop.add_callback(on_loop)
    return ObjectRef(key, future)


def get(lanes: list[Lane], futures: list[Future]) -> list[Any]:
    """The values of finished ``futures`` the lanes' workers hold; :data:`ABSENT` for the
    rest (not finished, failed, or held elsewhere)."""
    values: list[Any] = [ABSENT] * len(futures)
    todo = [i for i, fut in enumerate(futures) if fut.status == "finished"]
    for lane in lanes:
        if not todo:
            break
        answers = lane.get([str(futures[i].key) for i in todo])
        if answers is None:
            continue
        left = []
        for i, answer in zip(todo, answers):
            status, payload = answer.result()
            if status == "ok":
                values[i] = loads(payload)
            else:
                left.append(i)
        todo = left
    return values


def watch(lanes: list[Lane], items: list[tuple[Future, bool]]) -> list[Any]:
    """Values of tasks still running, handed over by the lanes' nodes as soon as they are made
    (before Dask has reported them: that takes the worker's and the scheduler's streams);
    :data:`ABSENT` for the rest (done already, failed, not a task's only result, run off this
    host, or more than :data:`WATCH_LIMIT` of them). ``items``: a Dask future and whether it
    is a task's only result. Returns once each has its value or its Dask future is done."""
    values: list[Any] = [ABSENT] * len(items)
    todo = [i for i, (fut, watchable) in enumerate(items) if watchable and fut.status == "pending"]
    if not todo or len(todo) > WATCH_LIMIT:
        return values
    keys = [str(items[i][0].key) for i in todo]
    settled: dict[int, concurrent.futures.Future[Any]] = {
        i: concurrent.futures.Future() for i in todo}

    def settle(i: int, outcome: Any) -> None:
        with contextlib.suppress(concurrent.futures.InvalidStateError):
            settled[i].set_result(outcome)

    def absent(i: int, _fut: Any) -> None:  # Dask's own report came first
        settle(i, ABSENT)

    def answered(i: int, answer: concurrent.futures.Future[tuple[str, Any]]) -> None:
        status, payload = answer.result()
        if status == "ok":
            settle(i, payload)

    watched = []
    for lane in lanes:
        answers = lane.watch(keys)
        if answers is not None:
            watched.append((lane, answers))
            for i, answer in zip(todo, answers):
                answer.add_done_callback(functools.partial(answered, i))
    if not watched:
        return values
    for i in todo:  # Dask's own report: the task ended elsewhere, failed, or was cancelled
        when_done(items[i][0], functools.partial(absent, i))
    concurrent.futures.wait(list(settled.values()))
    for lane, answers in watched:
        left = [key for key, answer in zip(keys, answers) if not answer.done()]
        if left:
            lane.unwatch(left)
    for i in todo:
        frames = settled[i].result()
        if frames is not ABSENT:
            values[i] = loads(frames)
    return values
