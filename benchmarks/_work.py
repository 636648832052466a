"""The work every engine runs: the same functions and actor class for all of them.

Workers cannot import this module (it is not installed); the child ships it by value
(``_engines.ship_by_value``), as it would ship code defined in a script.
"""
from __future__ import annotations

import time
from typing import Any

import numpy as np


def inc(x: int) -> int:
    """The trivial task."""
    return x + 1


def spin(loops: int) -> int:
    """The CPU-bound task: a pure-Python loop that holds the GIL throughout."""
    total = 0
    for i in range(loops):
        total += i % 7
    return total


def nap(seconds: float) -> float:
    """A task that occupies a CPU slot without using it (to start every worker up)."""
    time.sleep(seconds)
    return seconds


class Counter:
    """The actor: a counter whose ``incr`` returns its new value."""

    def __init__(self) -> None:
        self.value = 0

    def incr(self) -> int:
        self.value += 1
        return self.value


def make_array(megabytes: int) -> np.ndarray:
    """A float64 array of ``megabytes`` * 10**6 bytes with non-trivial content."""
    return np.arange(megabytes * 10**6 // 8, dtype=np.float64)


def check_array(out: Any, expected: np.ndarray) -> None:
    """Fail loudly if a transfer returned something else."""
    if out.shape != expected.shape or out[-1] != expected[-1] or out[1] != expected[1]:
        raise AssertionError("array came back different")
