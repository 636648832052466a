"""A task or actor process's own children die with it (Ray's
``kill_child_processes_on_worker_exit``, and its ``process_group_cleanup_enabled``).

Each process a zygote forks for tasks and actors leads a process group of its own (POSIX); what
it starts (``subprocess``, ``multiprocessing``, a shell's background job, their children) is in
that group unless it leaves it (``setsid``, a new group). When the process ends, however it
ends (its task's ``sys.exit``, ``ray.kill``, a crash, ``SIGKILL`` from outside), the zygote that
reaps it kills the group; a process whose worker is gone kills its group as it exits. Ray
kills a worker's children when the worker exits on its own or is killed by Ray, and only with
``process_group_cleanup_enabled`` (or the subreaper) after a ``SIGKILL`` from outside; raylike
always does.

With Ray's ``kill_child_processes_on_worker_exit_with_raylet_subreaper``
(:mod:`raylike._process.subreaper`) the process is also a subreaper, so a daemon it starts
(a double fork) stays its child while it lives, and ignores ``SIGCHLD``, so that its finished
children are reaped without a ``wait`` (Ray's core worker does both; a caller that wants to
``wait`` sets ``SIGCHLD`` back to ``SIG_DFL``).
"""
from __future__ import annotations

import contextlib
import os
import signal

from raylike._process import subreaper as _subreaper

_zygote_pid = 0  # the process that forked this one (it kills the group once this one ends)


def enter() -> None:
    """In a newly forked task process: lead a process group of its own."""
    global _zygote_pid
    if not hasattr(os, "setpgid"):
        return
    _zygote_pid = os.getppid()
    with contextlib.suppress(OSError):
        os.setpgid(0, 0)
    if _subreaper.become():
        signal.signal(signal.SIGCHLD, signal.SIG_IGN)


def leads() -> bool:
    """Whether this process leads its own process group (:func:`enter` took effect)."""
    try:
        return hasattr(os, "getpgid") and os.getpgid(0) == os.getpid()
    except OSError:
        return False


def kill(pgid: int) -> None:
    """Kill what is left of the group a task process led (``pgid``: its pid). Safe after the
    process was reaped: the kernel does not give its pid to a new process while the group
    has members."""
    with contextlib.suppress(OSError):
        os.killpg(pgid, signal.SIGKILL)


def exit_with_group(code: int) -> None:
    """End this process (its worker is gone), and the processes of its group: here at once
    where the zygote that would kill them is gone too (this process was re-parented)."""
    if leads() and os.getppid() != _zygote_pid:
        with contextlib.suppress(OSError):
            os.killpg(0, signal.SIGKILL)  # this process too: it was exiting
    os._exit(code)
