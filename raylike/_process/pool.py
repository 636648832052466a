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
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

from raylike._process import zygote as _zygote
from raylike._transport import wire as _wire

logger = logging.getLogger(__name__)
REAP_EVERY_S = 0.2  # how often surplus idle children are looked at (Ray's
#                     kill_idle_workers_interval_ms)


def idle_kill_s() -> float:
    """Seconds a surplus idle child lives (Ray's ``RAY_idle_worker_killing_time_threshold_ms``
    in the node's environment, 1000 by default)."""
    try:
        return float(os.environ.get("RAY_idle_worker_killing_time_threshold_ms", 1000)) / 1000
    except ValueError:
        return 1.0


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
        self.idle_since = 0.0  # when it was last given back to the pool (monotonic)

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
    recently used make room first.

    As Ray's worker pool: up to ``max_idle`` idle children stay; those beyond (a burst of
    tasks blocked in ``get`` made them) are ended once idle for ``idle_s`` seconds, so the
    next burst (a tree of nested tasks run again) reuses them instead of forking anew."""

    def __init__(self, max_idle: int, on_start: Callable[[int], None] | None = None,
                 idle_s: float | None = None) -> None:
        self._max_idle = max_idle
        self._idle_s = idle_kill_s() if idle_s is None else idle_s
        self._reaping = False  # a reaper thread runs (only while surplus children idle)
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
        """Give back a child after its task; a dead one is dropped, one beyond ``max_idle``
        lives ``idle_s`` more seconds (see the class)."""
        reap = False
        with self._lock:
            if self._closed or not child.alive():
                self._all.pop(child.pid, None)
                evicted = [child]
            else:
                child.idle_since = time.monotonic()
                self._idle.append(child)
                evicted = self._surplus(0.0 if self._idle_s <= 0 else None)
                reap = len(self._idle) > self._max_idle and not self._reaping
                self._reaping = self._reaping or reap
        for old in evicted:
            old.kill()
        if reap:
            threading.Thread(target=self._reap, daemon=True, name="raylike-pool-reaper").start()

    def _surplus(self, idle_s: float | None = None) -> list[Child]:
        """Take out (under the lock) the least recently used idle children beyond
        ``max_idle`` that have been idle ``idle_s`` seconds (the pool's by default)."""
        limit = time.monotonic() - (self._idle_s if idle_s is None else idle_s)
        evicted = []
        while len(self._idle) > self._max_idle and self._idle[0].idle_since <= limit:
            old = self._idle.pop(0)
            self._all.pop(old.pid, None)
            evicted.append(old)
        return evicted

    def _reap(self) -> None:
        """End surplus idle children as they pass ``idle_s``; returns once none is left."""
        while True:
            time.sleep(REAP_EVERY_S)
            with self._lock:
                evicted = [] if self._closed else self._surplus()
                if self._closed or len(self._idle) <= self._max_idle:
                    self._reaping = False
                    done = True
                else:
                    done = False
            for old in evicted:
                old.kill()
            if done:
                return

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
