"""``ray.cloudpickle``: the cloudpickle raylike serializes functions and classes with.

``dumps`` and ``dump`` pickle out of band, as Ray's serialization sees them: each ``ObjectRef``
they pickle pins its object for the life of this process (see ``raylike._api.pinning``)."""
from __future__ import annotations

from typing import Any

import cloudpickle as _cloudpickle
from cloudpickle import *  # noqa: F403
from cloudpickle import CloudPickler, load, loads, register_pickle_by_value
from cloudpickle import __version__ as __version__

from raylike._api import pinning as _pinning

__all__ = ["CloudPickler", "dump", "dumps", "load", "loads", "register_pickle_by_value"]


def dumps(obj: Any, protocol: int | None = None, buffer_callback: Any = None) -> bytes:
    """cloudpickle's ``dumps``; the refs ``obj`` holds pin their objects (out of band)."""
    with _pinning.out_of_band():
        return _cloudpickle.dumps(obj, protocol=protocol, buffer_callback=buffer_callback)


def dump(obj: Any, file: Any, protocol: int | None = None, buffer_callback: Any = None) -> None:
    """cloudpickle's ``dump``; the refs ``obj`` holds pin their objects (out of band)."""
    with _pinning.out_of_band():
        _cloudpickle.dump(obj, file, protocol=protocol, buffer_callback=buffer_callback)
