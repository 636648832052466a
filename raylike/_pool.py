"""The processes of a node that run user code (tasks and actors), owned by its Dask worker.

Each child has one duplex pipe to the worker. Children are forked from a zygote
(``raylike._zygote``; forking the threaded worker itself is unsafe, and spawning costs a whole
interpreter start per child) that has raylike, cloudpickle and numpy imported already. A child
exits when its worker dies: on EOF of its pipe when idle, and through a watchdog thread while it
runs user code.
"""
from __future__ import annotations

import logging
import os
import threading
from multiprocessing.connection import Connection
from typing import Any

from raylike import _wire, _zygote

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
    """Idle children ready to run tasks; new ones are started on demand."""

    def __init__(self, max_idle: int) -> None:
        self._max_idle = max_idle
        self._idle: list[Child] = []
        self._all: dict[int, Child] = {}
        self._lock = threading.Lock()
        self._forks_lock = threading.Lock()
        self._forks: _zygote.ForkClient | None = None
        self._closed = False

    def start_child(self) -> Child:
        """A new child (not in the idle list)."""
        try:
            process, [fd] = self._zygote().fork("task-process", os.getpid())
        except (EOFError, OSError):  # the zygote is gone: start one of our own, and retry
            logger.warning("the zygote of this node's task processes is gone; starting another",
                           exc_info=True)
            process, [fd] = self._zygote(renew=True).fork("task-process", os.getpid())
        child = Child(process, Connection(fd))
        with self._lock:
            self._all[child.pid] = child
        return child

    def _zygote(self, renew: bool = False) -> _zygote.ForkClient:
        with self._forks_lock:
            if renew and self._forks is not None:
                self._forks.close()
                self._forks = None
            if self._forks is None:
                self._forks = _zygote.node_forks()
            return self._forks

    def acquire(self) -> Child:
        """An idle child, or a new one."""
        with self._lock:
            while self._idle:
                child = self._idle.pop()
                if child.alive():
                    return child
                self._all.pop(child.pid, None)
        return self.start_child()

    def release(self, child: Child) -> None:
        """Give back a child after its task; a dead one, or one too many, is dropped."""
        with self._lock:
            if not self._closed and child.alive() and len(self._idle) < self._max_idle:
                self._idle.append(child)
                return
            self._all.pop(child.pid, None)
        child.kill()

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
