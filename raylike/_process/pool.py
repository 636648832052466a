"""The processes of a node that run user code (tasks and actors), owned by its Dask worker.

Each child has one duplex pipe to the worker. Children are forked from a zygote
(``raylike._process.zygote``; forking the threaded worker itself is unsafe, and spawning costs a
whole
interpreter start per child) that has raylike, cloudpickle and numpy imported already. A child
exits when its worker dies: on EOF of its pipe when idle, and through a watchdog thread while it
runs user code.
"""
from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

from raylike._process import zygote as _zygote
from raylike._transport import wire as _wire

logger = logging.getLogger(__name__)


class Child:
    """One child process and the worker's end of its pipe."""

    def __init__(self, process: _zygote.Forked, conn: Connection) -> None:
        self.process = process
        self.conn = conn
        self.pid: int = process.pid
        self._send_lock = threading.Lock()
        self._kill_lock = threading.Lock()
        self._killed = False
        self.env_key = ""  # the runtime environment it entered (it serves no other)
        self.job_id = ""  # the job whose tasks it runs, from its first task on
        self.calls: dict[str, int] = {}  # runs of each function with ``max_calls``

    def count_call(self, function: str) -> int:
        """Count one more run of ``function`` here; how many it has made."""
        self.calls[function] = self.calls.get(function, 0) + 1
        return self.calls[function]

    def send(self, message: tuple[Any, ...], plain: bool = False) -> None:
        _wire.send(self.conn, self._send_lock, message, plain)

    def recv(self) -> tuple[Any, ...]:
        """The next message; ``EOFError``/``OSError`` when the child died."""
        message: tuple[Any, ...] = _wire.recv(self.conn)
        return message

    def alive(self) -> bool:
        return bool(self.process.is_alive())

    def kill(self) -> None:
        """Kill the process and close its pipe; once only (the pool's close and the task
        that was using the child may both get here)."""
        with self._kill_lock:
            if self._killed:
                return
            self._killed = True
        try:
            self.process.kill()
            self.process.wait(1)
        except Exception:
            pass
        self.process.close()
        self.conn.close()


class Pool:
    """Idle children ready to run tasks; new ones are started on demand. A child that entered
    a runtime environment (``raylike._process.env_setup``) only ever runs tasks of that environment;
    a child that ran a task of a job only ever runs tasks of that job (as a Ray worker: what
    one driver imported or left behind never reaches another's tasks); the idle ones least
    recently used make room first."""

    def __init__(self, max_idle: int, on_start: Callable[[int], None] | None = None) -> None:
        self._max_idle = max_idle
        self._on_start = on_start  # called with the number of children after each start
        self._idle: list[Child] = []
        self._all: dict[int, Child] = {}
        self._lock = threading.Lock()
        self._forks_lock = threading.Lock()
        self._forks: _zygote.ForkClient | None = None
        self._closed = False

    def start_child(self, setup: Any = None) -> Child:
        """A new child (not in the idle list), in runtime environment ``setup`` if any."""
        try:
            process, [fd] = self._zygote().fork("task-process", os.getpid())
        except (EOFError, OSError):  # the zygote is gone: start one of our own, and retry
            logger.warning("the zygote of this node's task processes is gone; starting another",
                           exc_info=True)
            process, [fd] = self._zygote(renew=True).fork("task-process", os.getpid())
        child = Child(process, Connection(fd))
        if setup is not None:  # the first message it reads: it enters the environment
            child.env_key = setup.key
            child.send(("env", setup))
        with self._lock:
            self._all[child.pid] = child
            count = len(self._all)
        if self._on_start is not None:
            self._on_start(count)
        return child

    def _zygote(self, renew: bool = False) -> _zygote.ForkClient:
        with self._forks_lock:
            if renew and self._forks is not None:
                self._forks.close()
                self._forks = None
            if self._forks is None:
                self._forks = _zygote.node_forks()
            return self._forks

    def acquire(self, setup: Any = None, job_id: str = "") -> Child:
        """An idle child of runtime environment ``setup`` (or of none) that serves job
        ``job_id`` or none yet, or a new one; it serves that job from now on."""
        key = setup.key if setup is not None else ""
        with self._lock:
            for i in range(len(self._idle) - 1, -1, -1):
                child = self._idle[i]
                if child.env_key != key or child.job_id not in ("", job_id):
                    continue
                del self._idle[i]
                if child.alive():
                    child.job_id = job_id
                    return child
                self._all.pop(child.pid, None)
        child = self.start_child(setup)
        child.job_id = job_id
        return child

    def release(self, child: Child) -> None:
        """Give back a child after its task; a dead one, or one too many, is dropped."""
        with self._lock:
            if self._closed or not child.alive():
                self._all.pop(child.pid, None)
                evicted = [child]
            else:
                self._idle.append(child)
                evicted = self._idle[:-self._max_idle] if len(self._idle) > self._max_idle \
                    else []
                del self._idle[:len(evicted)]
                for old in evicted:
                    self._all.pop(old.pid, None)
        for old in evicted:
            old.kill()

    def take_idle(self) -> list[Child]:
        """Every idle child, out of the pool until given back (``release``): none runs a task
        meanwhile."""
        with self._lock:
            idle, self._idle = self._idle, []
        return idle

    def discard(self, child: Child) -> None:
        """Forget (and kill) a child that crashed or was cancelled by force."""
        with self._lock:
            self._all.pop(child.pid, None)
        child.kill()

    def prewarm(self, count: int) -> None:
        """Start ``count`` idle children (call in a background thread)."""
        for _ in range(count):
            child = self.start_child()
            self.release(child)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            children = list(self._all.values())
            self._all.clear()
            self._idle.clear()
        for child in children:
            child.kill()
        with self._forks_lock:
            if self._forks is not None:
                self._forks.close()
                self._forks = None
