"""Worker logs shown by the driver: ``print`` and ``logging`` in tasks and actors.

Three pieces, one per kind of process (see ``docs/design.md``, "Logs"):

* **task/actor process** (``capture``): ``sys.stdout``/``sys.stderr`` become ``LineWriter``s.
  A completed line is tagged with the process's current name (the task's, or the actor's class
  or ``repr``) and job, and a background thread sends the lines to the worker in batches over
  the child's pipe. ``end_of_call`` sends what is left, partial lines included, before the
  task's answer. Writes also go on to the process's original stream (the worker's log).
* **worker** (``publish``): each batch becomes Dask events on the topic of its job (the
  scheduler forwards them to the subscribers and keeps none: ``_backend.RefsPlugin``).
* **driver** (``Forwarder``): subscribed to its job's topic when ``log_to_driver`` is on; writes
  each line as ``(name pid=N) line`` (``, ip=...`` for a node on another host) to its own
  ``sys.stdout`` or ``sys.stderr``.

Imported by the forkserver of every node through ``raylike._child``: no Dask import here.
"""
from __future__ import annotations

import io
import os
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

TOPIC_PREFIX = "raylike-logs-"
GATHER_S = 0.01  # a burst of prints within this time travels as one message
MAX_PENDING = 10_000  # lines waiting to be sent before a writer waits (the pipe is full)
MAX_BATCH = 1_000  # lines in one message (and one Dask event kept by the scheduler)

Entry = tuple[str, str, bool, str]  # job id, name, is stderr, line


def topic(job_id: str) -> str:
    """The Dask event topic of a job's log lines."""
    return TOPIC_PREFIX + job_id


# -- in a task or actor process -------------------------------------------------------------------
class _Outbox:
    """Completed lines of this process, sent to the worker by a background thread."""

    def __init__(self, send: Callable[[tuple[Any, ...]], None]) -> None:
        self.name = ""
        self.job_id = ""
        self._send = send
        self._pending: list[Entry] = []
        self._cond = threading.Condition()
        self._send_lock = threading.Lock()  # batches leave in the order they were made
        self._thread: threading.Thread | None = None

    def add(self, is_err: bool, lines: list[str]) -> None:
        with self._cond:
            while len(self._pending) >= MAX_PENDING and self._thread is not None:
                self._cond.wait(0.1)  # the worker reads slowly: wait, as a full pipe would
            self._pending.extend((self.job_id, self.name, is_err, line) for line in lines)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, daemon=True,
                                                name="raylike-logs")
                self._thread.start()
            self._cond.notify_all()

    def flush(self) -> None:
        """Send every pending line now."""
        with self._send_lock:
            while True:
                with self._cond:
                    batch = self._pending[:MAX_BATCH]
                    del self._pending[:MAX_BATCH]
                    self._cond.notify_all()
                if not batch:
                    return
                try:
                    self._send(("log", os.getpid(), batch))
                except (OSError, ValueError):
                    return  # the worker is gone

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._pending:
                    self._cond.wait()
            time.sleep(GATHER_S)
            try:
                self.flush()
            except Exception:  # this thread must live on: writers wait for it when full
                with self._cond:
                    self._pending.clear()


class LineWriter(io.TextIOBase):
    """A thread-safe text stream that hands complete lines to the outbox."""

    def __init__(self, outbox: _Outbox, is_err: bool, original: Any) -> None:
        super().__init__()
        self._outbox = outbox
        self._is_err = is_err
        self._original = original
        self._partial = ""
        self._lock = threading.Lock()

    def write(self, text: str) -> int:
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        with self._lock:
            *lines, self._partial = (self._partial + text).split("\n")
            if lines:
                self._outbox.add(self._is_err, lines)
        self._tee(text)
        return len(text)

    def _tee(self, text: str) -> None:
        try:
            self._original.write(text)
        except Exception:  # the worker's own stream is closed: the driver still gets it
            pass

    def end_line(self) -> None:
        """Close a partial line (what ``print(..., end="")`` left) so it is sent."""
        with self._lock:
            partial, self._partial = self._partial, ""
            if partial:
                self._outbox.add(self._is_err, [partial])

    def flush(self) -> None:
        self._outbox.flush()
        self.flush_original()

    def flush_original(self) -> None:
        try:
            self._original.flush()
        except Exception:
            pass

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return False

    def fileno(self) -> int:
        # bytes written to the descriptor (C code, subprocesses) go to the worker's stream
        if self._original is None:
            raise io.UnsupportedOperation("fileno")
        return int(self._original.fileno())

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return str(getattr(self._original, "encoding", None) or "utf-8")

    @property
    def buffer(self) -> Any:
        return self._original.buffer


_outbox: _Outbox | None = None


def capture(send: Callable[[tuple[Any, ...]], None]) -> None:
    """Send what this process prints to its worker (called once, when a child starts)."""
    global _outbox
    _outbox = _Outbox(send)
    sys.stdout = LineWriter(_outbox, False, sys.__stdout__)
    sys.stderr = LineWriter(_outbox, True, sys.__stderr__)


def set_source(name: str, job_id: str) -> None:
    """Lines printed from now on come from ``name`` (a task's or actor's) of job ``job_id``."""
    if _outbox is not None:
        _outbox.name, _outbox.job_id = name, job_id


def end_of_call() -> None:
    """A task or actor call ended: send its output, partial lines included, before its
    answer (so a driver usually sees the output before the result)."""
    if _outbox is None:
        return
    streams = [s for s in (sys.stdout, sys.stderr) if isinstance(s, LineWriter)]
    for stream in streams:
        stream.end_line()
    _outbox.flush()
    for stream in streams:  # the worker's copy too: the process may end with os._exit
        stream.flush_original()


# -- in a worker ----------------------------------------------------------------------------------
def publish(worker: Any, pid: int, entries: list[Entry]) -> None:
    """Publish a process's lines as Dask events: one per run of lines with the same source."""
    host = worker.address.split("://", 1)[-1].rpartition(":")[0]
    group: list[str] = []
    for i, (job_id, name, is_err, line) in enumerate(entries):
        group.append(line)
        if i + 1 == len(entries) or entries[i + 1][:3] != (job_id, name, is_err):
            worker.log_event(topic(job_id), {"pid": pid, "name": name, "err": is_err,
                                             "lines": group, "ip": host})
            group = []


# -- in the driver --------------------------------------------------------------------------------
class Forwarder:
    """Writes the lines of one job, prefixed as Ray does, to this process's stdout/stderr."""

    def __init__(self, backend: Any, job_id: str) -> None:
        self._backend = backend
        self._topic = topic(job_id)
        self._local = {"127.0.0.1", "localhost", "::1", backend.local_host()}
        backend.subscribe(self._topic, self.on_event)

    def on_event(self, event: tuple[float, Any]) -> None:
        """Runs on the client's event loop: writing here (not in another thread) keeps the
        lines ahead of the result of the task that printed them, which comes after them."""
        msg = event[1]
        try:
            sink = sys.stderr if msg["err"] else sys.stdout
            ip = "" if msg.get("ip") in self._local else f", ip={msg['ip']}"
            name = f"{msg['name']} " if msg["name"] else ""
            start, end = _colors(sink)
            prefix = f"{start}({name}pid={msg['pid']}{ip}){end} "
            sink.write("".join(f"{prefix}{line}\n" for line in msg["lines"]))
            sink.flush()
        except Exception:  # a closed or odd stream must not break the client
            pass

    def close(self) -> None:
        try:
            self._backend.unsubscribe(self._topic)
        except Exception:
            pass


def _colors(sink: Any) -> tuple[str, str]:
    """Cyan prefixes on a terminal, as Ray (which colours them everywhere);
    ``RAY_COLOR_PREFIX=0`` turns colour off."""
    if os.environ.get("RAY_COLOR_PREFIX") == "0":
        return "", ""
    try:
        tty = sink.isatty()
    except Exception:
        tty = False
    return ("\x1b[36m", "\x1b[0m") if tty else ("", "")
