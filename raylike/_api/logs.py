"""Worker logs shown by the driver: ``print`` and ``logging`` in tasks and actors.

Three pieces, one per kind of process (see ``docs/design.md``, "Logs"):

* **task/actor process** (``capture``): ``sys.stdout``/``sys.stderr`` become line-buffered
  streams over a ``LineSink``. A completed line is tagged with the process's current name (the
  task's, or the actor's class or ``repr``) and job, and a background thread sends the lines to
  the worker in batches over the child's pipe. ``end_of_call`` sends what is left, partial
  lines included, before the task's answer. Writes also go on to the process's original
  stream (the worker's log).
* **worker** (``publish``): each batch becomes Dask events on the topic of its job (the
  scheduler forwards them to the subscribers and keeps none: ``_refs_plugin.RefsPlugin``).
* **driver** (``Forwarder``): subscribed to its job's topic when ``log_to_driver`` is on; writes
  each line as ``(name pid=N) line`` (``, ip=...`` for a node on another host) to its own
  ``sys.stdout`` or ``sys.stderr``.

Imported by the zygote of every node through ``raylike._process.child``: no Dask import here.
"""
from __future__ import annotations

import codecs
import io
import os
import socket
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from raylike._api import log_dedup as _dedup
from raylike._api import progress_bars as _bars

TOPIC_PREFIX = "raylike-logs-"
GATHER_S = 0.01  # a burst of prints within this time travels as one message
MAX_PENDING = 10_000  # lines waiting to be sent before a writer waits (the pipe is full)
MAX_BATCH = 1_000  # lines in one Dask event

Group = tuple[str, str, bool, list[str]]  # job id, name, is stderr, lines
_HINT = _dedup.hint_once()  # Ray gives its how-to-disable note once per process


def topic(job_id: str) -> str:
    """The Dask event topic of a job's log lines."""
    return TOPIC_PREFIX + job_id


# -- in a task or actor process -------------------------------------------------------------------
class _Outbox:
    """Completed lines of this process, sent to the worker by a background thread."""

    def __init__(self, send: Callable[[tuple[Any, ...]], None], threaded: bool = True) -> None:
        self.threaded = threaded
        self.name = ""
        self.job_id = ""
        self._send = send
        self._pending: list[Group] = []  # runs of lines from one source
        self._count = 0  # lines in _pending
        self._cond = threading.Condition()
        self._send_lock = threading.Lock()  # batches leave in the order they were made
        self._thread: threading.Thread | None = None

    def add(self, is_err: bool, lines: list[str]) -> None:
        with self._cond:
            while self._count >= MAX_PENDING and self._thread is not None:
                self._cond.wait(0.1)  # the worker reads slowly: wait, as a full pipe would
            wake = not self._pending
            last = self._pending[-1] if self._pending else None
            if (last is not None and last[:3] == (self.job_id, self.name, is_err)
                    and len(last[3]) < MAX_BATCH):
                last[3].extend(lines)
            else:
                self._pending.append((self.job_id, self.name, is_err, lines))
            self._count += len(lines)
            if not self.threaded:
                pass  # sent below, by the writer itself
            elif self._thread is None:
                self._thread = threading.Thread(target=self._run, daemon=True,
                                                name="raylike-logs")
                self._thread.start()
            elif wake:
                self._cond.notify_all()
        if not self.threaded:
            self.flush()

    def flush(self) -> None:
        """Send every pending line now."""
        with self._send_lock:
            with self._cond:
                batch, self._pending, self._count = self._pending, [], 0
                self._cond.notify_all()
            if batch:
                try:
                    self._send(("log", os.getpid(), batch))
                except (OSError, ValueError):
                    pass  # the worker is gone

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
                    self._pending, self._count = [], 0


class LineSink(io.RawIOBase):
    """The bottom of a task process's ``sys.stdout``/``sys.stderr``: hands complete lines to
    the outbox and copies the bytes to the process's original stream.

    Above it sit Python's own buffered writer and line-buffered text wrapper (both in C, and
    as thread-safe as the usual ``sys.stdout``), so a ``print`` costs one Python call here,
    at its newline, instead of one per piece ``print`` writes.
    """

    def __init__(self, outbox: _Outbox, is_err: bool, original: Any) -> None:
        super().__init__()
        self._outbox = outbox
        self._is_err = is_err
        self._original: Any = getattr(original, "buffer", None)
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self._parts: list[str] = []  # the line being written
        self._lock = threading.Lock()

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        size = memoryview(data).nbytes
        with self._lock:
            text = self._decoder.decode(bytes(data))
            if "\n" in text:
                lines = text.split("\n")
                if self._parts:  # the end of a line begun by earlier writes
                    self._parts.append(lines[0])
                    lines[0] = "".join(self._parts)
                    self._parts.clear()
                tail = lines.pop()
                if tail:
                    self._parts.append(tail)
                self._outbox.add(self._is_err, lines)
            elif text:
                self._parts.append(text)
        try:
            self._original.write(data)
        except Exception:  # the worker's own stream is closed: the driver still gets it
            pass
        return size

    def end_line(self) -> None:
        """Close a partial line (what ``print(..., end="")`` left) so it is sent."""
        with self._lock:
            partial = "".join(self._parts)
            self._parts.clear()
            if partial:
                self._outbox.add(self._is_err, [partial])

    def flush(self) -> None:
        try:
            self._original.flush()
        except Exception:
            pass

    def fileno(self) -> int:
        # bytes written to the descriptor (C code, subprocesses) go to the worker's stream
        if self._original is None:
            raise io.UnsupportedOperation("fileno")
        return int(self._original.fileno())


_outbox: _Outbox | None = None
_streams: list[tuple[io.TextIOWrapper, LineSink]] = []


def capture(send: Callable[[tuple[Any, ...]], None], threaded: bool = True) -> None:
    """Send what this process prints to its worker (called once, when a child starts);
    ``threaded=False``: each line as it is printed, with no thread of its own (a process
    that may fork, Ray's ``support_fork``)."""
    global _outbox
    _outbox = _Outbox(send, threaded)
    for is_err, original in ((False, sys.__stdout__), (True, sys.__stderr__)):
        sink = LineSink(_outbox, is_err, original)
        stream = io.TextIOWrapper(io.BufferedWriter(sink), encoding="utf-8",
                                  errors="backslashreplace", line_buffering=True)
        _streams.append((stream, sink))
    sys.stdout, sys.stderr = _streams[0][0], _streams[1][0]


def set_source(name: str, job_id: str) -> None:
    """Lines printed from now on come from ``name`` (a task's or actor's) of job ``job_id``."""
    if _outbox is not None:
        _outbox.name, _outbox.job_id = name, job_id


def end_of_call() -> None:
    """A task or actor call ended: send its output, partial lines included, before its
    answer (so a driver usually sees the output before the result)."""
    if _outbox is None:
        return
    for stream, sink in _streams:
        try:
            stream.flush()  # what waits in the text and byte buffers reaches the sink
        except Exception:
            pass
        sink.end_line()
    _outbox.flush()
    for _, sink in _streams:  # the worker's copy too: the process may end with os._exit
        sink.flush()


# -- in a worker ----------------------------------------------------------------------------------
def publish(worker: Any, pid: int, groups: list[Group]) -> None:
    """Publish a process's lines as Dask events, one per run of lines from one source."""
    host = worker.address.split("://", 1)[-1].rpartition(":")[0]
    for job_id, name, is_err, lines in groups:
        worker.log_event(topic(job_id), {"pid": pid, "name": name, "err": is_err,
                                         "lines": lines, "ip": host})


# -- in the driver --------------------------------------------------------------------------------
class Forwarder:
    """Writes the lines of one job, prefixed as Ray does, to this process's stdout/stderr."""

    def __init__(self, backend: Any, job_id: str, echo: bool = True) -> None:
        self._backend = backend
        self._job_id = job_id
        self._topic = topic(job_id)
        self.echo = echo  # write the lines (``log_to_driver``); else only hand them on
        self._subscribers: list[Any] = []  # Ray's log subscribers (its test utilities)
        self._lock = threading.Lock()
        # Ray's deduplication of repeated lines, one per stream (stdout, stderr)
        self._dedup = ((_dedup.Deduplicator(_HINT), _dedup.Deduplicator(_HINT))
                       if echo and _dedup.enabled() else None)
        self._local = {"127.0.0.1": True, "localhost": True, "::1": True, "": True,
                       backend.local_host(): True}
        backend.subscribe(self._topic, self.on_event)

    def _is_local(self, host: str) -> bool:
        """Whether ``host`` is an address of this machine (then Ray names no ip)."""
        if host not in self._local:
            self._local[host] = _bindable(host)
        return self._local[host]

    def on_event(self, event: tuple[float, Any]) -> None:
        """Runs on the client's event loop: writing here (not in another thread) keeps the
        lines ahead of the result of the task that printed them, which comes after them."""
        msg = event[1]
        with self._lock:
            subscribers = list(self._subscribers)
        for subscriber in subscribers:
            subscriber.put({"ip": msg.get("ip", ""), "pid": msg.get("pid"), "job": self._job_id,
                            "is_err": bool(msg.get("err")), "lines": list(msg.get("lines", ())),
                            "actor_name": "", "task_name": msg.get("name", "")})
        if not self.echo:
            return
        batch = {"ip": msg.get("ip", ""), "pid": msg.get("pid"), "name": msg.get("name", ""),
                 "err": bool(msg.get("err")), "lines": list(msg.get("lines", ()))}
        if self._dedup is None:
            self._write(batch)
            return
        with self._lock:
            shown = self._dedup[batch["err"]].feed(batch)
        for each in shown:
            self._write(each)

    def system_line(self, text: str) -> None:
        """A message pushed to the driver (``error_pubsub``): shown as Ray shows them, a line
        of the raylet, ``(raylet) ...`` on stdout, folded when repeated even by one node."""
        batch = {"ip": "", "pid": _dedup.SYSTEM_SOURCE, "name": "", "err": False,
                 "lines": [text]}
        if self._dedup is None:
            self._write(batch)
            return
        with self._lock:
            shown = self._dedup[False].feed(batch)
        for each in shown:
            self._write(each)

    def _write(self, batch: dict[str, Any]) -> None:
        lines = batch["lines"]
        if any(_bars.MAGIC in line for line in lines):  # progress bars' states (tqdm_ray)
            for line in lines:
                if _bars.MAGIC in line:
                    _bars.process_line(line)
            batch = dict(batch, lines=[line for line in lines if _bars.MAGIC not in line])
            if not batch["lines"]:
                return
        bars = _bars.existing()
        if bars is not None:
            bars.hide_bars()  # cleared while other lines print, drawn again after them
        try:
            self._print(batch)
        finally:
            if bars is not None:
                bars.unhide_bars()

    def _print(self, batch: dict[str, Any]) -> None:
        try:
            sink = sys.stderr if batch["err"] else sys.stdout
            ip = "" if self._is_local(batch["ip"]) else f", ip={batch['ip']}"
            name = f"{batch['name']} " if batch["name"] else ""
            start, end = _colors(sink)
            source = (batch["pid"] if batch["pid"] == _dedup.SYSTEM_SOURCE
                      else f"{name}pid={batch['pid']}{ip}")
            prefix = f"{start}({source}){end} "
            suffix = ""
            if batch.get("repeated"):
                green, reset = ("\x1b[32m", end) if start else ("", "")
                suffix = (f"{green} [repeated {batch['repeated']}x across cluster]"
                          f"{batch.get('hint', '')}{reset}")
            sink.write("".join(f"{prefix}{line}{suffix}\n" for line in batch["lines"]))
            sink.flush()
        except Exception:  # a closed or odd stream must not break the client
            pass

    def add(self, subscriber: Any) -> None:
        with self._lock:
            self._subscribers.append(subscriber)

    def remove(self, subscriber: Any) -> None:
        with self._lock:
            if subscriber in self._subscribers:
                self._subscribers.remove(subscriber)

    def close(self) -> None:
        """Stop listening; show the lines deduplication still holds."""
        try:
            self._backend.unsubscribe(self._topic)
        except Exception:
            pass
        if self._dedup is not None:
            with self._lock:
                held = [b for dedup in self._dedup for b in dedup.flush()]
            for batch in held:
                self._write(batch)


def _bindable(host: str) -> bool:
    """True if a socket can be bound to ``host``: only an address of this machine can (no DNS
    asked, so no wait)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        with socket.socket(family) as sock:
            sock.bind((host, 0))
        return True
    except (OSError, ValueError):
        return False


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
