"""Tasks a process submits in a burst go to the scheduler together (part of the Dask boundary,
used by ``_backend`` only).

Dask's scheduler reads a client's stream one message at a time, and each ``update-graph``
message hands its graph to Dask's single offload thread and back before the next message is
read; the client builds, pickles and queues each message on its own. One message per task cost
≈0.3 ms of the scheduler's CPU and ≈0.2 ms of the driver's, on top of the task itself
(``docs/performance.md``, "Bursts of tasks"). Here a task's future is made at once (its ref
exists and holds it, so no release can overtake it) while its description waits in a
:class:`Batch`. The batch leaves as one graph per run of tasks with equal Dask restrictions:

* on the client's event loop, as soon as the loop runs after the first task was added (a lone
  task waits for no timer; a burst fills the batch while the submitting thread holds the GIL),
* on the submitting thread once it holds ``MAX_BATCH`` tasks,
* before anything else the backend sends or asks (``flush``), so no message concerns a task the
  scheduler has not been sent.

Only tasks whose dependencies are all in the batch wait in it: Dask cancels every key of a
graph one of whose dependencies is gone, and a task given a lost object must fail alone.
"""
from __future__ import annotations

import itertools
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from distributed import Client, Future
from distributed.worker import thread_state

from raylike._dask import internals
from raylike._dask.internals import LLGExpr, SpanMetadata, Task, parse_input

MAX_BATCH = 1000  # tasks in one graph at most: the scheduler reads nothing else meanwhile
FIFO_TIMEOUT = "100 ms"  # Dask's default for ``submit``: graphs this close share a generation


@dataclass(frozen=True)
class _Shape:
    """What one graph's tasks share: Dask's restrictions and the task that submitted them."""

    resources: tuple[tuple[str, float], ...]
    workers: tuple[str, ...]
    allow_other_workers: bool
    submitting_task: Any


@dataclass
class _Pending:
    key: str
    task: Any  # a Dask ``Task``
    shape: _Shape
    future: Future  # held until sent: the key cannot be released before its graph left
    order: int


def available() -> bool:
    """Whether this Dask has the graph expressions batches are sent as."""
    return LLGExpr is not None


class Batch:
    """Plain tasks waiting to be sent on one client's stream to the scheduler; ``sent`` is
    called with the keys of each flush once their graphs are queued (still in order)."""

    def __init__(self, client: Client, sent: Callable[[list[str]], None]) -> None:
        self._client = client
        self._sent = sent
        self._pending: list[_Pending] = []
        self._keys: set[str] = set()
        self._lock = threading.RLock()  # held while a batch is taken *and* queued: in order
        self._order = itertools.count()

    def submit(self, func: Any, args: tuple[Any, ...], key: str, deps: list[Future],
               resources: dict[str, float] | None, workers: Any = None,
               allow_other_workers: bool = False) -> Future | None:
        """A future for task ``key`` (``func(*args)``), added to the batch; ``None`` when the
        task must go alone (a dependency the batch does not hold): flushed first, then it is
        the caller's to send."""
        if LLGExpr is None or any(d.key not in self._keys for d in deps):
            self.flush()
            return None
        shape = _Shape(tuple(sorted((resources or {}).items())),
                       tuple([workers] if isinstance(workers, str) else workers or ()),
                       bool(allow_other_workers), getattr(thread_state, "key", None))
        task = Task(key, func, *(parse_input(a) for a in args))
        future: Future = Future(key, self._client)
        with self._lock:
            first = not self._pending
            self._pending.append(_Pending(key, task, shape, future, next(self._order)))
            self._keys.add(key)
            full = len(self._pending) >= MAX_BATCH
        loop = self._client.loop
        if full or (first and loop is None):
            self.flush()
        elif first and loop is not None:
            loop.add_callback(self.flush)
        return future

    def flush(self) -> None:
        """Send what waits, in order (a no-op when nothing does)."""
        with self._lock:  # also when empty: another thread may be sending what it took
            if not self._pending:
                return
            pending, self._pending, self._keys = self._pending, [], set()
            start = 0
            for end in range(1, len(pending) + 1):
                if end == len(pending) or pending[end].shape != pending[start].shape:
                    self._send(pending[start:end])
                    start = end
            self._sent([p.key for p in pending])

    def _send(self, run: list[_Pending]) -> None:
        """One graph for ``run`` (tasks of one shape), queued on the client's stream."""
        shape = run[0].shape
        expr = LLGExpr({p.key: p.task for p in run}, _determ_token=uuid.uuid4().hex)
        had, outer = hasattr(thread_state, "key"), getattr(thread_state, "key", None)
        swap = outer != shape.submitting_task
        if swap:  # Dask reads it there: a task's sub-tasks go before other waiting tasks
            thread_state.key = shape.submitting_task
        try:
            internals.graph_to_futures(
                self._client, expr, [p.key for p in run],
                span_metadata=SpanMetadata(collections=[{"type": "Future"}]),
                workers=list(shape.workers) or None,
                allow_other_workers=shape.allow_other_workers or None,
                internal_priority={p.key: p.order for p in run},
                resources=dict(shape.resources) or None, fifo_timeout=FIFO_TIMEOUT)
        finally:
            if swap and had:
                thread_state.key = outer
            elif swap:
                del thread_state.key
