"""Ray's process titles: a task or actor process shows as ``ray::<name>`` in ``ps`` and
``psutil.Process().cmdline()`` while it runs that task or call, ``ray::IDLE`` (a task process)
or ``ray::<Class>`` (an actor's) in between.

Linux only, without ``setproctitle``: the title is written over the process's own argument
area (its bounds are in ``/proc/self/stat``; Python copied ``argv`` at start-up and never
reads that memory again), padded with NULs. The area keeps its size, so a longer title is cut.
Elsewhere, or if anything fails, titles are left as they are.
"""
from __future__ import annotations

import ctypes
import os
from typing import Any

__all__ = ["set_title"]

_ARG_START_FIELD = 48  # fields of /proc/<pid>/stat (1-based), see proc(5)
_ARG_END_FIELD = 49
_area: tuple[int, int, int] = (-1, 0, 0)  # (pid, start, length), read again after a fork


def _argv_area() -> tuple[int, int]:
    """Where this process's argument strings are, and their length (0: unknown)."""
    global _area
    pid = os.getpid()
    if _area[0] != pid:
        try:
            with open("/proc/self/stat", "rb") as stat:
                fields = stat.read().rsplit(b")", 1)[1].split()  # after "pid (comm)"
            start = int(fields[_ARG_START_FIELD - 3])
            length = int(fields[_ARG_END_FIELD - 3]) - start
        except (OSError, ValueError, IndexError):
            start = length = 0
        _area = (pid, start, length if start > 0 else 0)
    return _area[1], _area[2]


def set_title(title: str) -> None:
    """Show this process as ``title`` (cut to the room its arguments had), and name the
    calling thread by its first 15 bytes (``prctl(PR_SET_NAME)``, as ``setproctitle`` does:
    the main thread's name is the process's ``comm``, ``psutil.Process().name()``). Called
    twice per task or actor call: both writes are made without letting go of the GIL (a
    foreign call through ``ctypes.CDLL`` releases it and must take it back, behind the
    process's pipe reader at every call)."""
    start, length = _argv_area()
    if length < 2:
        return
    data = title.encode(errors="replace")
    area = _area_buffer(start, length)
    area.raw = data[:length - 1] + b"\0" * (length - len(data[:length - 1]))
    _name_thread(data[:_COMM_LENGTH])


_buffer: list[Any] = [None, -1, 0]  # the argument area as a ctypes array, its start, length


def _area_buffer(start: int, length: int) -> Any:
    if _buffer[1] != start or _buffer[2] != length:
        _buffer[:] = [(ctypes.c_char * length).from_address(start), start, length]
    return _buffer[0]


_COMM_LENGTH = 15  # a thread name's bytes (TASK_COMM_LEN, its NUL left out)
_PR_SET_NAME = 15
_libc: list[Any] = []  # the C library, once loaded (empty: not loaded yet, [None]: not there)


def _name_thread(name: bytes) -> None:
    if not _libc:
        try:  # PyDLL: the call keeps the GIL (prctl is quick and touches no Python state)
            _libc.append(ctypes.PyDLL(None, use_errno=True))
        except OSError:
            _libc.append(None)
    if _libc[0] is not None:
        _libc[0].prctl(_PR_SET_NAME, ctypes.c_char_p(name), 0, 0, 0)
