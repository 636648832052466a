"""Dask's transfers of an object from a worker (to the driver's ``get``, to another worker)
send it as one pickle.

Dask pickles each item of a top-level list, tuple, set or dict on its own, so an object met
twice in such a value (``[a, a]``) arrives as two copies; Ray pickles a value as one, with
one memo. A node wraps its ``get_data`` handler so that such values travel as
:class:`raylike._api.serialization.Whole` (they unpickle as the value itself). Part of the Dask
boundary: the handler's own code (throttling, accounting) is unchanged.
"""
from __future__ import annotations

import logging
from typing import Any

from distributed.protocol import Serialize

from raylike._api.serialization import Whole

logger = logging.getLogger("raylike")
_ITERATED = (list, tuple, set, dict)  # the types Dask pickles item by item


def install(worker: Any) -> None:
    """Wrap ``worker``'s ``get_data`` handler (once)."""
    original = worker.handlers.get("get_data")
    if original is None or getattr(original, "raylike_whole", False):
        return

    async def get_data(comm: Any, **kwargs: Any) -> Any:
        return await original(_WholeValues(comm), **kwargs)

    get_data.raylike_whole = True  # type: ignore[attr-defined]
    worker.handlers["get_data"] = get_data


class _WholeValues:
    """The handler's comm, whose ``write`` sends collection values whole."""

    def __init__(self, comm: Any) -> None:
        self._comm = comm

    def __getattr__(self, name: str) -> Any:
        return getattr(self._comm, name)

    async def write(self, msg: Any, **kwargs: Any) -> Any:
        data = msg.get("data") if isinstance(msg, dict) else None
        if data:
            msg = {**msg, "data": {k: _whole(v) for k, v in data.items()}}
        return await self._comm.write(msg, **kwargs)


def _whole(item: Any) -> Any:
    if not isinstance(item, Serialize) or type(item.data) not in _ITERATED:
        return item
    try:
        return Serialize(Whole(item.data))
    except Exception:  # Dask's own way then says what is wrong
        logger.debug("could not pickle a value whole", exc_info=True)
        return item
