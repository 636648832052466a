"""Ray's log deduplication on the driver: a line that several processes print within a window
is shown once when first seen, and again at the end of the window (or at shutdown) with
``[repeated Nx across cluster]``.

Ray's rules (``RAY_DEDUP_LOGS``, on by default): a line's key is its words without those
containing digits (ids, times, counters differ between workers); a line whose key is empty,
or that matches ``RAY_DEDUP_LOGS_ALLOW_REGEX``, is always shown; one matching
``RAY_DEDUP_LOGS_SKIP_REGEX`` never is; repeats from the *same* process are shown as they
come, except the raylet's (messages pushed to the driver), which are folded too. A key's
window (``RAY_DEDUP_LOGS_AGG_WINDOW_S``, 5 s) closes when a later batch arrives after it, or
when the driver disconnects; its last suppressed line is then shown, with the
count when there were two or more. The first such line in a driver also says how to turn
deduplication off.
"""
from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from raylike._api import progress_bars as _bars

SYSTEM_SOURCE = "raylet"  # the source of messages pushed to the driver: folded even alone
# Ray's token that its tests print to keep a line out of deduplication
NEVER_DEDUP_TOKEN = "__ray_testing_never_deduplicate__"
_HAS_NUMBER = re.compile(r"\d|0x[0-9a-fA-F]+")
_HINT = (" (Ray deduplicates logs by default. Set RAY_DEDUP_LOGS=0 to disable log "
         "deduplication, or see https://docs.ray.io/en/master/ray-observability/user-guides/"
         "configure-logging.html#log-deduplication for more options.)")

Batch = dict[str, Any]  # "ip", "pid", "name", "err", "lines"
_FROM_ENV = "\0from the environment"  # a default: read Ray's variable


def enabled() -> bool:
    """``RAY_DEDUP_LOGS`` (on unless set to 0/false)."""
    return os.environ.get("RAY_DEDUP_LOGS", "1").strip().lower() not in ("0", "false", "no")


def key_of(line: str) -> str:
    """The line's words less those with a number in them."""
    return " ".join(word for word in line.split() if not _HAS_NUMBER.search(word))


@dataclass
class _Seen:
    since: float  # when this key's window opened
    line: str  # the latest line with this key
    meta: Batch  # the latest batch's fields (less its lines)
    sources: set[tuple[Any, Any]] = field(default_factory=set)
    held: int = 0  # lines with this key not shown


class Deduplicator:
    """One per output stream of the driver. ``hint`` is shared by a driver's streams: it
    returns the how-to-disable note the first time only."""

    def __init__(self, hint: Callable[[], str], clock: Callable[[], float] = time.monotonic,
                 *, window: float | None = None, allow: str | None = _FROM_ENV,
                 skip: str | None = _FROM_ENV) -> None:
        """``window``, ``allow`` and ``skip`` default to Ray's environment variables."""
        self._window = float(os.environ.get("RAY_DEDUP_LOGS_AGG_WINDOW_S", "5")
                             if window is None else window)
        if allow is _FROM_ENV:
            allow = os.environ.get("RAY_DEDUP_LOGS_ALLOW_REGEX", NEVER_DEDUP_TOKEN)
        if skip is _FROM_ENV:
            skip = os.environ.get("RAY_DEDUP_LOGS_SKIP_REGEX")
        self._allow = re.compile(allow) if allow else None
        self._skip = re.compile(skip) if skip else None
        self._hint = hint
        self._clock = clock
        self._seen: dict[str, _Seen] = {}  # in the order their windows opened

    def feed(self, batch: Batch) -> list[Batch]:
        """The batches to show for this one: its lines that are shown now, then the lines of
        windows that have closed."""
        own, closed = self.split(batch)
        return ([own] if own["lines"] else []) + closed

    def split(self, batch: Batch) -> tuple[Batch, list[Batch]]:
        """``batch`` with the lines shown now (maybe none), and the batches of the windows
        that have closed."""
        now = self._clock()
        meta = {k: v for k, v in batch.items() if k != "lines"}
        source = (meta.get("ip"), meta.get("pid"))
        shown: list[str] = []
        for line in batch["lines"]:
            if _bars.MAGIC in line or (self._allow is not None and self._allow.search(line)):
                shown.append(line)
                continue
            if self._skip is not None and self._skip.search(line):
                continue
            key = key_of(line)
            seen = self._seen.get(key) if key else None
            if not key:
                shown.append(line)
            elif seen is None:
                self._seen[key] = _Seen(now, line, meta, {source})
                shown.append(line)
            else:
                seen.sources.add(source)
                if len(seen.sources) > 1 or meta.get("pid") == SYSTEM_SOURCE:
                    seen.held, seen.line, seen.meta = seen.held + 1, line, meta
                else:
                    shown.append(line)  # the same process again: not a repeat across it
        return dict(meta, lines=shown), self._closed(now)

    def _closed(self, now: float) -> list[Batch]:
        out: list[Batch] = []
        while self._seen:
            key, seen = next(iter(self._seen.items()))
            if now - seen.since < self._window:
                break
            del self._seen[key]
            if seen.held > 1:  # keep counting in a new window (moved to the end)
                out.append(self._summary(seen))
                seen.since, seen.held = now, 0
                self._seen[key] = seen
            elif seen.held == 1:
                out.append(dict(seen.meta, lines=[seen.line]))
        return out

    def flush(self) -> list[Batch]:
        """Every held line, as it is to be shown; forgets all windows."""
        out = [self._summary(s) if s.held > 1 else dict(s.meta, lines=[s.line])
               for s in self._seen.values() if s.held]
        self._seen.clear()
        return out

    def _summary(self, seen: _Seen) -> Batch:
        return dict(seen.meta, lines=[seen.line], repeated=seen.held, hint=self._hint())


def hint_once() -> Callable[[], str]:
    """A function returning the how-to-disable note on its first call, then ``""``."""
    given: list[bool] = []

    def hint() -> str:
        if given:
            return ""
        given.append(True)
        return _HINT
    return hint
