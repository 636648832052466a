"""``ray.experimental.tqdm_ray``: a progress bar usable in tasks and actors, shown by the driver.

Each bar prints its state as one line (``desc:  40%|####      | 4/10 [it]``), at most once per
``flush_interval_s`` and always on ``close``. In a task or actor the line travels to the driver
with the rest of its output (raylike's log forwarding), prefixed by the task's name; in the
driver it is printed directly.

Differences from Ray: the driver does not redraw bars in place at fixed positions (each update
is a new line); ``position`` is kept but does not move the line.
"""
from __future__ import annotations

import os
import sys
import time
import uuid
from collections.abc import Iterable, Iterator
from typing import Any

__all__ = ["tqdm"]

_WIDTH = 20  # characters of the bar itself


class tqdm:  # noqa: N801 - Ray's (and tqdm's) name
    """A progress bar with the subset of ``tqdm.tqdm``'s API that Ray's has."""

    DEFAULT_FLUSH_INTERVAL_SECONDS = 1.0

    def __init__(self, iterable: Iterable[Any] | None = None, desc: str | None = None,
                 total: int | None = None, unit: str | None = None,
                 position: int | None = None, flush_interval_s: float | None = None) -> None:
        if total is None and iterable is not None:
            try:
                total = len(iterable)  # type: ignore[arg-type]
            except (TypeError, AttributeError):
                total = None
        self._iterable = iterable
        self._desc = desc or ""
        self._total = total
        self._unit = unit or "it"
        self._pos = position or 0
        self._pid = os.getpid()
        self._uuid = uuid.uuid4().hex
        self._x = 0
        self._closed = False
        self._flush_interval_s = (self.DEFAULT_FLUSH_INTERVAL_SECONDS if flush_interval_s is None
                                  else flush_interval_s)
        self._last_flush_time = 0.0

    def set_description(self, desc: str) -> None:
        self._desc = desc
        self._dump_state()

    def update(self, n: int = 1) -> None:
        self._x += n
        self._dump_state()

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._dump_state(force_flush=True)

    def refresh(self) -> None:
        self._dump_state(force_flush=True)

    @property
    def total(self) -> int | None:
        return self._total

    @total.setter
    def total(self, total: int) -> None:
        self._total = total

    @property
    def n(self) -> int:
        return self._x

    @n.setter
    def n(self, n: int) -> None:
        self._x = n

    def __iter__(self) -> Iterator[Any]:
        if self._iterable is None:
            raise ValueError("No iterable provided")
        for item in self._iterable:
            self.update(1)
            yield item

    def __enter__(self) -> tqdm:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _dump_state(self, force_flush: bool = False) -> None:
        now = time.monotonic()
        if not force_flush and now - self._last_flush_time < self._flush_interval_s:
            return
        self._last_flush_time = now
        sys.stdout.write(self._line() + "\n")
        sys.stdout.flush()

    def _line(self) -> str:
        prefix = f"{self._desc}: " if self._desc else ""
        if self._total:
            done = min(1.0, self._x / self._total)
            filled = int(done * _WIDTH)
            bar = "#" * filled + " " * (_WIDTH - filled)
            return f"{prefix}{done * 100:3.0f}%|{bar}| {self._x}/{self._total} [{self._unit}]"
        return f"{prefix}{self._x} [{self._unit}]"
