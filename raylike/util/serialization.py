"""``ray.util.serialization``: custom serializers for classes one cannot change.

Differences from Ray: as in Ray a serializer applies in the process that registered it and
the deserializer travels with each value. A Dask worker that stores such a value (Ray's
object store keeps the bytes; Dask keeps the object) learns the pair from it, so it can hand
the value on; task and actor processes do not, as in Ray.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from raylike._api import serialization as _serialization

__all__ = ["deregister_serializer", "register_serializer"]


def register_serializer(cls: type, *, serializer: Callable[[Any], Any],
                        deserializer: Callable[[Any], Any]) -> None:
    """Pickle instances of ``cls`` as ``serializer(obj)``, rebuilt by ``deserializer``.

    Args:
        cls: the class (exactly: not its subclasses).
        serializer: turns an instance into something that pickles (a dict of plain values,
            say).
        deserializer: builds the instance back from that; it must itself pickle.

    Registering again replaces the pair. Applies in the calling process only (Ray's rule).
    """
    _serialization.register_serializer(cls, serializer, deserializer)


def deregister_serializer(cls: type) -> None:
    """Forget ``cls``'s serializer in this process; nothing happens if it has none."""
    _serialization.deregister_serializer(cls)
