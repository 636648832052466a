"""``ray.experimental.tqdm_ray``: a progress bar usable in tasks and actors, shown by the driver.

A bar in a task or actor process prints its state, at most once per ``flush_interval_s`` and
always on ``close``, as one JSON line marked with :data:`RAY_TQDM_MAGIC`; the driver's log
forwarder hands those lines to the driver's bar manager (:func:`instance`,
``raylike._api.progress_bars``), which draws every process's bars without overlap. A bar made
in the driver updates the manager directly.

Difference from Ray: without the ``tqdm`` package Ray shows no bars; raylike then draws each
bar as a line of text each time its state changes.
"""
from __future__ import annotations

import copy
import json
import os
import time
import uuid
from collections.abc import Iterable, Iterator
from typing import Any

from raylike._api import context as _context
from raylike._api.progress_bars import MAGIC as RAY_TQDM_MAGIC
from raylike._api.progress_bars import Bar as _Bar
from raylike._api.progress_bars import BarGroup as _BarGroup
from raylike._api.progress_bars import BarManager as _BarManager
from raylike._api.progress_bars import instance, safe_print

__all__ = ["RAY_TQDM_MAGIC", "instance", "safe_print", "tqdm"]
__all__ += ["_Bar", "_BarGroup", "_BarManager"]  # Ray's names, which its tests read


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
        self._ip = _node_ip()
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
        if _context.current() is not None:  # a task or actor: the driver reads the line
            # one write, newline included, so that other prints cannot split the line
            print(json.dumps(self._get_state()) + "\n", end="", flush=True)
        else:
            instance().process_state_update(copy.deepcopy(self._get_state()))

    def _get_state(self) -> dict[str, Any]:
        return {"__magic_token__": RAY_TQDM_MAGIC, "x": self._x, "pos": self._pos,
                "desc": self._desc, "total": self._total, "unit": self._unit, "ip": self._ip,
                "pid": self._pid, "uuid": self._uuid, "closed": self._closed}


def _node_ip() -> str:
    from raylike.util import get_node_ip_address

    return get_node_ip_address()
