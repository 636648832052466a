"""``ray._private.ray_logging``: Ray's log deduplicator as its own tests and tools call it.

``LogDeduplicator(agg_window_s, allow_re, skip_re)`` is raylike's driver deduplicator
(``raylike._api.log_dedup``, which the driver's log forwarding uses) with Ray's interface:
``deduplicate(batch)`` returns the batch itself first (its lines shown now, maybe none), then
the batches of the windows that closed, a folded line written as Ray prints it
(``line`` + green `` [repeated Nx across cluster]`` + reset); ``flush()`` returns what is
still held. With ``RAY_DEDUP_LOGS=0`` a batch is returned as it came.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from raylike._api import log_dedup as _dedup

__all__ = ["LogDeduplicator"]

_GREEN, _RESET = "\x1b[32m", "\x1b[0m"  # colorama's Fore.GREEN and Style.RESET_ALL
_hint = _dedup.hint_once()  # the how-to-disable note, once per process as in Ray


class LogDeduplicator:
    """Folds a line printed by several processes within ``agg_window_s`` seconds."""

    def __init__(self, agg_window_s: float, allow_re: str | None, skip_re: str | None, *,
                 _timesource: Callable[[], float] | None = None) -> None:
        self.agg_window_s = agg_window_s
        self._dedup = _dedup.Deduplicator(_hint, _timesource or time.time,
                                          window=float(agg_window_s), allow=allow_re or None,
                                          skip=skip_re or None)

    def deduplicate(self, batch: dict[str, Any]) -> list[dict[str, Any]]:
        """The batches to print for ``batch``: itself (the lines shown now), then those of
        windows that closed."""
        if not _dedup.enabled():
            return [batch]
        own, closed = self._dedup.split(batch)
        return [own, *(_formatted(b) for b in closed)]

    def flush(self) -> list[dict[str, Any]]:
        """Every line still held, as it is to be printed; forgets all windows."""
        return [_formatted(b) for b in self._dedup.flush()]


def _formatted(batch: dict[str, Any]) -> dict[str, Any]:
    repeated = batch.pop("repeated", None)
    hint = batch.pop("hint", "")
    if repeated:
        suffix = f" [repeated {repeated}x across cluster]{hint}"
        batch["lines"] = [line + _GREEN + suffix + _RESET for line in batch["lines"]]
    return batch
