"""The parts of Ray's ``ray._private.utils`` that Ray's test files use."""
from __future__ import annotations

import signal
import threading
from types import FrameType, TracebackType
from typing import Any

__all__ = ["DeferSigint", "publish_error_to_driver"]


class DeferSigint:
    """Hold back SIGINT (Ctrl-C) while the block runs: signals that arrive are noted, and a
    SIGINT handler set inside the block (``signal.signal``) takes effect only at its end. On
    exit the last handler set (else the one before the block) is installed and, if a SIGINT
    arrived, runs once. Only in the main thread, which alone receives signals (elsewhere a
    no-op)."""

    def __init__(self) -> None:
        self._received = False
        self._previous: Any = None
        self._set_inside: Any = None
        self._real_signal: Any = None

    def _defer(self, signum: int, frame: FrameType | None) -> None:
        self._received = True

    def _signal(self, signum: int, handler: Any) -> Any:
        if signum != signal.SIGINT:
            return self._real_signal(signum, handler)
        before = self._set_inside if self._set_inside is not None else self._previous
        self._set_inside = handler
        return before

    def __enter__(self) -> DeferSigint:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._defer)
            self._real_signal = signal.signal
            signal.signal = self._signal  # type: ignore[assignment]
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._real_signal is None:
            return
        signal.signal = self._real_signal
        handler = self._set_inside if self._set_inside is not None else self._previous
        signal.signal(signal.SIGINT, handler)
        self._real_signal = self._previous = self._set_inside = None
        if self._received:
            signal.raise_signal(signal.SIGINT)


def publish_error_to_driver(*_: Any, **__: Any) -> None:
    """Ray's push of an error message to drivers; raylike has no such channel."""
    raise NotImplementedError("ray._private.utils.publish_error_to_driver is not available on "
                              "raylike: errors reach drivers through get(), not a pubsub")
