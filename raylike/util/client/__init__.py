"""``ray.util.client``: Ray Client, the ``ray://`` protocol. raylike has no Ray Client: a
program reaches a remote Dask cluster directly with ``ray.init("tcp://host:8786")``. The
modules import; ``ray`` here is a stand-in whose every use raises ``NotImplementedError``."""
from __future__ import annotations

from typing import Any

__all__ = ["num_connected_contexts", "ray"]

NO_CLIENT = ("Ray Client (ray://) is not available on raylike: connect to the Dask "
             "scheduler's address with ray.init('tcp://host:8786') instead")


class RayAPIStub:
    """Ray Client's stand-in for the ``ray`` module; nothing connects it on raylike."""

    def is_connected(self) -> bool:
        return False

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        raise NotImplementedError(NO_CLIENT)


ray = RayAPIStub()


def num_connected_contexts() -> int:
    """How many Ray Client connections this process holds: none on raylike."""
    return 0
