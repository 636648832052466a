"""``ray.tests.test_placement_group``: the one helper other Ray test files import from it."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

__all__ = ["are_pairwise_unique"]


def are_pairwise_unique(items: Iterable[Any]) -> bool:
    """True if no two of ``items`` are equal."""
    seen = list(items)
    return all(a != b for i, a in enumerate(seen) for b in seen[i + 1:])
