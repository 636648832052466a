"""``ray.util.client.common``: Ray Client's object, actor and function stand-ins. raylike has
no Ray Client, so no value is ever one of these classes; building one raises."""
from __future__ import annotations

from typing import Any

from raylike.util.client import NO_CLIENT

__all__ = ["OBJECT_TRANSFER_CHUNK_SIZE", "ClientActorClass", "ClientActorHandle",
           "ClientObjectRef", "ClientRemoteFunc"]

OBJECT_TRANSFER_CHUNK_SIZE = 5 * 2**20  # Ray Client's chunk size for large objects


class _ClientOnly:
    def __init__(self, *_: Any, **__: Any) -> None:
        raise NotImplementedError(NO_CLIENT)


class ClientObjectRef(_ClientOnly):
    """A Ray Client object ref."""


class ClientActorHandle(_ClientOnly):
    """A Ray Client actor handle."""


class ClientActorClass(_ClientOnly):
    """A Ray Client actor class."""


class ClientRemoteFunc(_ClientOnly):
    """A Ray Client remote function."""
