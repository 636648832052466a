"""Ray's ``kill_child_processes_on_worker_exit_with_raylet_subreaper`` (Linux, off by default).

With it, the process that forks a node's task and actor processes (its zygote, Ray's raylet)
becomes a *subreaper*: a process those leave behind when they die, even by ``SIGKILL``, is
adopted by it rather than by init, and it kills each such orphan within a second or two (Ray:
within 10 s). The orphan's own children are adopted in turn and killed on the next sweep, so
the whole tree goes. It is read from the environment (``RAY_<name>``, as Ray reads its system
config); ``ray.init(_system_config={...})`` sets it for the cluster ``init`` starts.
"""
from __future__ import annotations

import contextlib
import ctypes
import os
import sys
import time
from collections.abc import Container

FLAG = "RAY_kill_child_processes_on_worker_exit_with_raylet_subreaper"
SWEEP_S = 1.0  # how often orphans are looked for
_PR_SET_CHILD_SUBREAPER = 36


def wanted() -> bool:
    """Whether the flag is on (Ray's reading: ``1`` or ``true``, any case)."""
    value = os.environ.get(FLAG, "")
    return value == "1" or value.lower() == "true"


def become(always: bool = False) -> bool:
    """Make this process a subreaper if the flag is on (or ``always``); whether it is one
    now."""
    if not (always or wanted()) or not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return bool(libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0)
    except (OSError, AttributeError):
        return False


class Sweeper:
    """Kills this process's children that it did not fork itself (adopted orphans)."""

    def __init__(self) -> None:
        self._last = 0.0

    def due(self) -> float:
        """Seconds until the next sweep."""
        return max(0.0, self._last + SWEEP_S - time.monotonic())

    def sweep(self, forked: Container[int]) -> None:
        """Kill the adopted children, if a sweep is due; ``forked``: the pids forked here."""
        if self.due() > 0:
            return
        self._last = time.monotonic()
        import psutil

        with contextlib.suppress(psutil.Error):
            for child in psutil.Process().children():
                if child.pid not in forked:
                    with contextlib.suppress(psutil.Error):
                        child.kill()
