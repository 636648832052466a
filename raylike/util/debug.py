"""``ray.util.debug``: ``log_once`` and its switches, used by libraries built on Ray to log a
message once per process.

Ray's memory-leak helpers in this module (``_test_some_code_for_memory_leaks``) are private to
Ray's own tests and are not provided.
"""
from __future__ import annotations

import threading
import time

__all__ = ["disable_log_once_globally", "enable_periodic_logging", "log_once", "reset_log_once"]

PERIOD_S = 60.0  # with periodic logging on, every key logs again once this long has passed

_lock = threading.Lock()
_seen: set[str] = set()
_disabled = False
_periodic = False
_last_true = 0.0  # when log_once last answered True


def log_once(key: str) -> bool:
    """True the first time this process asks for ``key``, False afterwards.

    After ``disable_log_once_globally()`` it is always False; after
    ``enable_periodic_logging()`` every key is forgotten once a minute has passed since the
    last True answer, so each logs again.
    """
    global _last_true
    with _lock:
        if _disabled:
            return False
        now = time.time()
        if key not in _seen:
            _seen.add(key)
            _last_true = now
            return True
        if _periodic and now - _last_true > PERIOD_S:
            _seen.clear()  # as in Ray: this call stays False, the next one for each key is True
            _last_true = now
        return False


def disable_log_once_globally() -> None:
    """Make ``log_once`` return False in this process from now on."""
    global _disabled
    _disabled = True


def enable_periodic_logging() -> None:
    """Make ``log_once`` return True again for each key about once a minute."""
    global _periodic
    _periodic = True


def reset_log_once(key: str | None = None) -> None:
    """Forget ``key`` (every key if None): its next ``log_once`` is True again."""
    with _lock:
        if key is None:
            _seen.clear()
        else:
            _seen.discard(key)
