"""``ray.util.client.worker``: Ray Client's connection (unavailable on raylike)."""
from __future__ import annotations

from typing import Any

from raylike.util.client import NO_CLIENT

__all__ = ["Worker"]


class Worker:
    """Ray Client's connection to a ``ray://`` server."""

    def __init__(self, *_: Any, **__: Any) -> None:
        raise NotImplementedError(NO_CLIENT)
