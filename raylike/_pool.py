"""The processes of a node that run user code (tasks and actors), owned by its Dask worker.

Each child has one duplex pipe to the worker. Children are forked from a forkserver (forking the
threaded worker itself is unsafe; spawning costs a whole interpreter start per child) that has
raylike, cloudpickle and numpy imported already. A child exits when its worker dies: on EOF of
its pipe when idle, and through a watchdog thread while it runs user code.
"""
from __future__ import annotations

import importlib.util
import multiprocessing
import multiprocessing.process
import os
import threading
from multiprocessing.connection import Connection
from typing import Any

from raylike import _wire

_PRELOAD = ["raylike._child", "cloudpickle"]


class Child:
    """One child process and the worker's end of its pipe."""

    def __init__(self, process: Any, conn: Connection) -> None:
        self.process = process
        self.conn = conn
        self.pid: int = process.pid
        self._send_lock = threading.Lock()

    def send(self, message: tuple[Any, ...], plain: bool = False) -> None:
        _wire.send(self.conn, self._send_lock, message, plain)

    def recv(self) -> tuple[Any, ...]:
        """The next message; ``EOFError``/``OSError`` when the child died."""
        message: tuple[Any, ...] = _wire.recv(self.conn)
        return message

    def alive(self) -> bool:
        return bool(self.process.is_alive())

    def kill(self) -> None:
        try:
            self.process.kill()
            self.process.join(1)
        except Exception:
            pass
        self.conn.close()


class Pool:
    """Idle children ready to run tasks; new ones are started on demand."""

    def __init__(self, max_idle: int) -> None:
        config = multiprocessing.process.current_process()._config  # type: ignore[attr-defined]
        if config.get("daemon"):
            # A worker started by a Nanny is daemonic, and multiprocessing refuses children to
            # daemonic processes. Our children are ours to stop (watchdog + teardown).
            config["daemon"] = False
        self._ctx = multiprocessing.get_context("forkserver")
        preload = _PRELOAD + (["numpy"] if importlib.util.find_spec("numpy") else [])
        self._ctx.set_forkserver_preload(preload)
        self._max_idle = max_idle
        self._idle: list[Child] = []
        self._all: dict[int, Child] = {}
        self._lock = threading.Lock()
        self._closed = False

    def start_child(self) -> Child:
        """A new child (not in the idle list)."""
        from raylike import _child

        parent_conn, child_conn = self._ctx.Pipe(duplex=True)
        process = self._ctx.Process(target=_child.main, args=(child_conn, os.getpid()),
                                    daemon=True, name="raylike-task")
        process.start()
        child_conn.close()
        child = Child(process, parent_conn)
        with self._lock:
            self._all[child.pid] = child
        return child

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
