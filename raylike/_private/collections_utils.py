"""``ray._private.collections_utils``: small helpers on sequences."""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TypeVar

__all__ = ["split"]

T = TypeVar("T")


def split(items: Sequence[T], chunk_size: int) -> Iterator[list[T]]:
    """``items`` in consecutive lists of ``chunk_size`` (the last one may be shorter)."""
    if chunk_size <= 0:
        raise ValueError(f"chunk_size must be positive, got {chunk_size}")
    for start in range(0, len(items), chunk_size):
        yield list(items[start:start + chunk_size])
