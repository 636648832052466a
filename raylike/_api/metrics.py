"""Application metrics (``ray.util.metrics``) in the process that records them.

Each process keeps what it recorded since its last flush in an ``Aggregate`` (one value per
metric and label values: counters' increments summed, a gauge's last value, a histogram's
bucket counts, sum and count) and sends it on in the background, never in the caller's way:

* a **task or actor process** sends its batch to its worker over its pipe (a one-way message,
  no answer awaited): at the end of each task, and once a second while it records;
* a **Dask worker** merges its processes' batches into its own, and a **driver** keeps its own;
  both send theirs to the scheduler once a second (``_metrics_store.merge``), and the driver
  once more at ``shutdown``.

The scheduler keeps the cluster's totals and exports them (``_metrics_store``). Imported by
task processes: no Dask import here.
"""
from __future__ import annotations

import atexit
import logging
import os
import threading
from typing import Any

logger = logging.getLogger("raylike")

COUNTER, GAUGE, HISTOGRAM = "counter", "gauge", "histogram"
FLUSH_S = 1.0  # how often a process that recorded sends its batch
EXIT_TIMEOUT_S = 5.0  # the longest a shutdown or exit waits for the last batch to be sent

# kind, description, tag keys, histogram boundaries (sorted, unique; () for the others)
Definition = tuple[str, str, tuple[str, ...], tuple[float, ...]]
Labels = tuple[str, ...]  # the values of a metric's tag keys, in their order
Point = tuple[str, Labels, Any]  # metric name, labels, value (see ``Aggregate.add``)
Batch = tuple[dict[str, Definition], list[Point]]


class Aggregate:
    """The values of a set of metrics, per metric and label values. A value is a counter's
    total (float), a gauge's ``(value, time recorded)``, or a histogram's ``(bucket counts,
    sum, count)`` with one bucket per boundary and one above the last."""

    def __init__(self) -> None:
        self.defs: dict[str, Definition] = {}
        self.values: dict[tuple[str, Labels], Any] = {}

    def define(self, name: str, definition: Definition) -> None:
        """Declare ``name``; a definition of another kind, tag keys or boundaries replaces
        the one known and drops its values (their shapes differ)."""
        known = self.defs.get(name)
        if known is not None and known[0] == definition[0] and known[2:] == definition[2:]:
            return
        if known is not None:
            logger.debug("metric %s redefined (%s -> %s): its values are dropped", name,
                         known, definition)
            for key in [k for k in self.values if k[0] == name]:
                del self.values[key]
        self.defs[name] = definition

    def add(self, name: str, labels: Labels, value: Any) -> None:
        """Fold ``value`` (a counter's increment, a gauge's or a histogram's value as kept)
        into the value of ``name`` for ``labels``."""
        key = (name, labels)
        old = self.values.get(key)
        if old is None:
            self.values[key] = value
            return
        kind = self.defs[name][0]
        if kind == COUNTER:
            self.values[key] = old + value
        elif kind == GAUGE:
            if value[1] >= old[1]:  # the later of two processes' values wins
                self.values[key] = value
        else:
            counts = [a + b for a, b in zip(old[0], value[0], strict=True)]
            self.values[key] = (counts, old[1] + value[1], old[2] + value[2])

    def merge(self, batch: Batch) -> None:
        """Fold in another aggregate's batch (``take``)."""
        defs, points = batch
        for name, definition in defs.items():
            self.define(name, definition)
        for name, labels, value in points:
            if name in self.defs:
                self.add(name, labels, value)

    def take(self) -> Batch | None:
        """The values as a batch (with the definitions they need), forgetting them; None if
        there are none."""
        if not self.values:
            return None
        points = [(name, labels, value) for (name, labels), value in self.values.items()]
        self.values = {}
        return {name: self.defs[name] for name, _, _ in points}, points


class _Recorder:
    """This process's metrics since their last flush, and the thread that flushes them."""

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.lock = threading.Lock()
        self.pending = Aggregate()
        self.thread: threading.Thread | None = None

    def record(self, name: str, definition: Definition, labels: Labels, value: Any) -> None:
        with self.lock:
            self.pending.define(name, definition)
            self.pending.add(name, labels, value)
            self._start()

    def absorb(self, batch: Batch) -> None:
        with self.lock:
            self.pending.merge(batch)
            self._start()

    def take(self) -> Batch | None:
        with self.lock:
            return self.pending.take()

    def _start(self) -> None:
        if self.thread is None:  # under self.lock
            self.thread = threading.Thread(target=self._run, daemon=True,
                                           name="raylike-metrics")
            self.thread.start()
            atexit.register(_at_exit)

    def _run(self) -> None:
        stop = threading.Event()  # never set: the thread is a daemon and ends with the process
        while not stop.wait(FLUSH_S):
            if os.getpid() != self.pid:
                return
            flush()


_recorder: _Recorder | None = None
_recorder_lock = threading.Lock()


def _local() -> _Recorder:
    """This process's recorder (a forked child starts one of its own: the parent's thread and
    lock did not come with it in a usable state)."""
    global _recorder
    recorder = _recorder
    if recorder is None or recorder.pid != os.getpid():
        with _recorder_lock:
            if _recorder is None or _recorder.pid != os.getpid():
                _recorder = _Recorder()
            recorder = _recorder
    return recorder


def record(name: str, definition: Definition, labels: Labels, value: Any) -> None:
    """Record one value of metric ``name`` (see ``Aggregate.add`` for ``value``); no I/O."""
    _local().record(name, definition, labels, value)


def absorb(batch: Batch) -> None:
    """In a worker: a batch one of its task or actor processes sent."""
    _local().absorb(batch)


def flush(backend: Any = None) -> None:
    """Send what this process recorded since the last flush, through ``backend`` (this
    process's if None: nothing is sent before ``init``). A batch that cannot be sent is
    dropped, with a debug log."""
    from raylike._api import runtime as _runtime

    if backend is None and not _runtime.is_initialized():
        return  # kept for after init
    batch = _local().take()
    if batch is None:
        return
    try:
        # from a task or actor process: through its worker
        (backend if backend is not None else _runtime.backend()).send_metrics(batch)
    except Exception:
        logger.debug("metrics: a batch of %d values could not be sent", len(batch[1]),
                     exc_info=True)


def flush_within(backend: Any = None, timeout: float = EXIT_TIMEOUT_S) -> None:
    """``flush``, waiting for it at most ``timeout`` seconds (at shutdown and exit)."""
    if _recorder is None or _recorder.pid != os.getpid():
        return  # nothing was recorded in this process
    sender = threading.Thread(target=flush, args=(backend,), daemon=True,
                              name="raylike-metrics-exit")
    sender.start()
    sender.join(timeout)


def end_of_call() -> None:
    """A task ended in this task process: hand what it recorded to the worker now (the
    process may wait idle, unread, until its next task)."""
    if _recorder is not None and _recorder.pid == os.getpid():
        flush()


def on_shutdown(runtime: Any) -> None:
    """The driver shuts down: send its last batch before its client closes."""
    flush_within(runtime.backend)


def _at_exit() -> None:
    try:
        flush_within()
    except Exception:  # the interpreter is going away: never a traceback
        pass
