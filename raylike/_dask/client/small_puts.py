"""A driver keeps a copy of each small value it puts (``put`` through a lane), so that its own
``get`` of that ref reads the copy instead of asking the worker again.

The object is the worker's as before (Dask data, announced to the scheduler, listed by the state
API, passed to tasks by its key); the copy only saves the driver's ``get`` a round trip (Ray's
owner keeps small objects in its own memory too, and reads them there). It is the pickled value
(its buffers copied), so every ``get`` unpickles a fresh value, as from the worker. It is used
while the Dask future of the key is finished: once Dask reports the object lost, ``get`` takes
Dask's way and raises as it did. Only values of at most :data:`LIMIT` bytes pickled are kept,
so a program that holds many refs does not hold their values twice over.
"""
from __future__ import annotations

import concurrent.futures
from typing import Any

from raylike._api.objects import ObjectRef
from raylike._api.serialization import Frames, payload_size
from raylike._dask.client.direct import DirectCalls, DirectResult

LIMIT = 4096  # bytes of pickle (buffers included) of a put value the driver keeps a copy of


class KeptCopy(DirectResult):
    """The copy of a put value, read while its Dask object is there."""

    __slots__ = ()

    def usable(self, ref: ObjectRef[Any]) -> bool:
        fut = ref._future
        return fut is None or fut.status in ("pending", "finished")


def keep_copy(ref: ObjectRef[Any], frames: Frames, owner: DirectCalls | None) -> None:
    """Keep a copy of ``frames`` (the value ``ref`` names, just put) with ``ref`` if small."""
    if owner is None or payload_size(frames) > LIMIT:
        return
    future: concurrent.futures.Future[Any] = concurrent.futures.Future()
    future.set_result(("ok", Frames(frames.head, [bytes(memoryview(b).cast("B"))
                                                  for b in frames.buffers])))
    ref._direct = KeptCopy(future, owner)
