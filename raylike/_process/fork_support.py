"""Ray's ``support_fork`` (``_system_config={"support_fork": True}``, ``RAY_support_fork=1``):
a task's process runs user code with no thread of raylike's, so the code may ``os.fork()``
(a ``multiprocessing`` pool with the ``fork`` context), which is unsafe while other threads
hold locks.

A task process normally has two threads besides its main one: the pipe's reader, which routes
the worker's answers to the threads that asked (``child.Channel``), and a watchdog that ends
the process if its worker dies. With fork support:

* :class:`InlineChannel` reads the pipe in the thread that waits: a thread that asked the
  worker something reads messages until its answer came, routing the others (answers of other
  threads, the process's next task) as the reader thread would; one thread reads at a time. A
  message is read with SIGINT held back (a cancel arrives as SIGINT: it then interrupts the
  wait, never a half-read message), and the wait is ``poll``, which reads nothing.
* :func:`exit_with_worker` asks the kernel for SIGIO on the pipe's events; its handler ends the
  process once the pipe reads end of file (the worker died).
* Printed lines go to the worker as they are printed (``logs.capture(threaded=False)``).

Without it, :func:`exit_with_worker` starts the watchdog thread instead.

A memory report's query (``memory_summary``) that reaches a process running user code that
does not call the Ray API is answered once the process next reads its pipe (too late: the
report leaves it out).
"""
from __future__ import annotations

import concurrent.futures
import fcntl
import os
import queue
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from raylike._api.serialization import loads
from raylike._process import own_group as _own_group
from raylike._process.child import Channel
from raylike._transport import wire as _wire

__all__ = ["InlineChannel", "enabled", "exit_with_worker"]

ENV = "RAY_support_fork"  # as Ray's raylet gives its workers the system config
_POLL = 0.05  # seconds between two looks at whether another thread's answer came


def enabled() -> bool:
    """Whether this process supports ``fork`` (Ray's ``support_fork``)."""
    return os.environ.get(ENV, "").strip().lower() in ("1", "true")


class InlineChannel(Channel):
    """The pipe, read by the threads that wait on it instead of a reader thread."""

    batches = False  # no flusher thread: each submission is sent at once

    def start(self) -> None:
        self._read_lock = threading.Lock()

    def next(self) -> tuple[Any, ...] | None:
        while True:
            try:
                return self.inbox.get_nowait()
            except queue.Empty:
                self._read_until(lambda: not self.inbox.empty())

    def request(self, op: str, *args: Any) -> Any:
        self.release_dropped()
        rid = next(self._ids)
        fut: concurrent.futures.Future[tuple[bool, Any]] = concurrent.futures.Future()
        self._pending[rid] = fut
        self.send(("req", rid, op, args))
        try:
            self._read_until(fut.done)
        finally:
            self._pending.pop(rid, None)
        ok, payload = fut.result()
        if not ok:
            raise loads(payload)
        return payload

    def _read_until(self, done: Callable[[], bool]) -> None:
        """Read and route messages until ``done()``; another thread reading meanwhile
        routes them instead."""
        while not done():
            if not self._read_lock.acquire(timeout=_POLL):
                continue
            try:
                if not done() and self.conn.poll(_POLL):
                    with _sigint_held():
                        try:
                            message = _wire.recv(self.conn)
                        except (EOFError, OSError):
                            _own_group.exit_with_group(0)  # the worker is gone
                    self.route(message)
            finally:
                self._read_lock.release()


@contextmanager
def _sigint_held() -> Iterator[None]:
    """SIGINT waits (in the main thread) until the message being read is whole."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def exit_with_worker(conn: Any, worker_pid: int | None) -> None:
    """End this process when its worker dies: a watchdog thread looks for ``worker_pid``
    every second; with no pid (fork support), no thread: the kernel sends SIGIO on the pipe's
    events and the handler ends the process once the pipe reads end of file."""
    if worker_pid is not None:
        threading.Thread(target=_watch_worker, args=(worker_pid,), daemon=True,
                         name="raylike-watchdog").start()
        return
    probe = socket.socket(fileno=os.dup(conn.fileno()))

    def on_io(signum: int, frame: Any) -> None:
        try:
            if probe.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b"":
                _own_group.exit_with_group(1)
        except (BlockingIOError, InterruptedError):
            pass  # nothing to read: a message left, or the pipe can be written again
        except OSError:
            _own_group.exit_with_group(1)

    signal.signal(signal.SIGIO, on_io)
    fd = conn.fileno()
    fcntl.fcntl(fd, fcntl.F_SETOWN, os.getpid())
    fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) | os.O_ASYNC)
    on_io(signal.SIGIO, None)  # it may have died already


def _watch_worker(worker_pid: int) -> None:
    while True:
        time.sleep(1.0)
        try:
            os.kill(worker_pid, 0)
        except ProcessLookupError:
            _own_group.exit_with_group(1)  # its children go with it
        except PermissionError:
            pass
