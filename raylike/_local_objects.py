"""``put`` and ``get`` between a driver and a worker on its host, through the lane's shared memory.

Part of the Dask boundary (with ``_backend``): Dask still owns every object. A ``put`` stores
the value on the worker as Dask data (the worker's ``update_data``, then the scheduler's, as
Dask's own ``scatter`` does), so Dask tracks, moves, spills and frees it as any other; a
``get`` of an object held by that worker reads it there. Only the bytes take the shorter way
(see ``raylike._lane``): a 100 MB array is one copy on ``put`` and none on ``get``, where Dask's
TCP path costs several.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from distributed import Client, Future

from raylike._objects import ObjectRef, _Borrowed
from raylike._serialization import dumps_frames, loads

if TYPE_CHECKING:
    from raylike._lane import Lane

ABSENT: Any = object()  # ``get``: the lane's worker does not hold this object


def put(client: Client, lane: Lane, value: Any) -> ObjectRef[Any] | None:
    """Store ``value`` on the lane's worker; ``None`` if it must go Dask's way instead."""
    from raylike._tasks import new_key

    with _Borrowed() as borrowed:
        frames = dumps_frames(value, "value passed to put")
    if borrowed.refs:  # refs inside: Dask's scatter keeps them alive with the value
        return None
    key = new_key(type(value).__name__)
    answer = lane.put(key, frames)
    if answer is None:
        return None
    status, payload = answer.result()
    if status == "absent":  # the lane closed meanwhile
        return None
    if status != "ok":
        raise loads(payload)
    return ObjectRef(key, announce(client, key, lane.address, payload, type(value)))


def announce(client: Client, key: str, address: str, nbytes: int, kind: type) -> Future:
    """Tell the scheduler that the worker at ``address`` holds ``key`` (stored there with
    ``Worker.update_data``) for ``client``: the second half of Dask's ``scatter``."""
    future: Future = Future(key, client)
    client.sync(client.scheduler.update_data, who_has={key: [address]}, nbytes={key: nbytes},
                client=client.id)
    state = client.futures.get(key)
    if state is not None and not state.done():
        state.finish(type=kind)
    return future


def store(worker: Any, key: str, value: Any) -> int:
    """Keep ``value`` as Dask data of ``worker`` under ``key`` (on its event loop); its size.
    The first half of Dask's ``scatter``: :func:`announce` is the second."""
    reply = worker.update_data(data={key: value}, stimulus_id=f"raylike-store-{key}")
    return int(reply["nbytes"][key])


def keep_here(worker: Any, client: Client, key: str, value: Any) -> Future:
    """Store ``value`` under ``key`` on ``worker`` (whose client is ``client``; called off its
    event loop) and make it an ordinary Dask object."""
    async def on_loop() -> int:
        return store(worker, key, value)

    nbytes = client.sync(on_loop)
    return announce(client, key, worker.address, nbytes, type(value))


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
