"""A node starts a waiting task that fits before an earlier one that must wait for resources.

Ray's raylet queues tasks by resource shape: a task waiting for a busy GPU (or for two CPUs
while one is free) does not hold back the tasks behind it that fit now. Dask's worker state
machine takes its resource-restricted tasks strictly in priority order: while the first one
does not fit, nothing else starts. Every raylike task has resource restrictions, so one task
waiting for resources stopped its whole node (a placement group that could not be placed yet
held back an actor of another group). Part of the Dask boundary: the worker's
``WorkerState._next_ready_task`` is wrapped to look further when Dask's own choice is none.
"""
from __future__ import annotations

import heapq
import operator
from collections import Counter
from typing import Any

from distributed.collections import HeapSet
from distributed.worker_state_machine import WorkerState

LOOKAHEAD = 64  # waiting tasks looked at past the first (a bound on each scheduling step)

_installed = False


class ShapedHeapSet(HeapSet):
    """Dask's queue of waiting tasks, counting the distinct resource requests in it: with one
    request shape only (the common case: thousands of 1-CPU tasks), nothing past the first
    task can fit either, and no look further is made."""

    __slots__ = ("shapes",)

    def __init__(self, *, key: Any) -> None:
        super().__init__(key=key)
        self.shapes: Counter[tuple[tuple[str, float], ...]] = Counter()

    def add(self, value: Any) -> None:
        if value not in self._data:
            self.shapes[_shape(value)] += 1
        super().add(value)

    def discard(self, value: Any) -> None:
        if value in self._data:
            self._forget(value)
        super().discard(value)

    def pop(self) -> Any:
        value = super().pop()
        self._forget(value)
        return value

    def popright(self) -> Any:
        value = super().popright()
        self._forget(value)
        return value

    def clear(self) -> None:
        super().clear()
        self.shapes.clear()

    def _forget(self, value: Any) -> None:
        shape = _shape(value)
        if self.shapes[shape] <= 1:
            self.shapes.pop(shape, None)
        else:
            self.shapes[shape] -= 1


def _shape(ts: Any) -> tuple[tuple[str, float], ...]:
    return tuple(sorted((ts.resource_restrictions or {}).items()))


def install(state: WorkerState) -> None:
    """Count the shapes of ``state``'s waiting tasks, and wrap
    ``WorkerState._next_ready_task`` (once per process)."""
    global _installed
    if not isinstance(state.constrained, ShapedHeapSet):
        shaped = ShapedHeapSet(key=operator.attrgetter("priority"))
        for ts in state.constrained.sorted():
            shaped.add(ts)
        state.constrained = shaped
    if _installed:
        return
    original = WorkerState._next_ready_task

    def next_ready_task(state: WorkerState) -> Any:
        ts = original(state)
        if ts is None and len(getattr(state.constrained, "shapes", ())) > 1:
            ts = first_fitting(state)
            if ts is not None:
                state.constrained.discard(ts)
        return ts

    WorkerState._next_ready_task = next_ready_task  # type: ignore[method-assign, assignment]
    _round_resource_books()
    _installed = True


def _round_resource_books() -> None:
    """Keep the node's free amounts rounded, as Ray counts resources in fixed point: Dask
    adds and subtracts floats, so after taking 2.7 of 3 only 0.2999999999999998 was left and
    a request of 0.3 waited for ever."""
    acquire = WorkerState._acquire_resources
    release = WorkerState._release_resources

    def rounded(books: Any, ts: Any) -> None:
        for name in ts.resource_restrictions or ():
            books.available_resources[name] = round(books.available_resources[name], 6)

    def acquire_resources(state: WorkerState, ts: Any) -> None:
        acquire(state, ts)
        rounded(state, ts)

    def release_resources(state: WorkerState, ts: Any) -> None:
        release(state, ts)
        rounded(state, ts)

    WorkerState._acquire_resources = acquire_resources  # type: ignore[method-assign, assignment]
    WorkerState._release_resources = release_resources  # type: ignore[method-assign, assignment]


def first_fitting(state: WorkerState) -> Any:
    """The first waiting task, in Dask's priority order, whose resources are free now (among
    the first ``LOOKAHEAD``); ``None`` if none. The heap is walked best-first, unchanged."""
    heap = state.constrained._heap
    present = state.constrained._data
    frontier: list[tuple[Any, int]] = [(heap[0], 0)] if heap else []
    misfits: list[dict[str, float]] = []  # resource requests known not to fit now
    looked = 0
    while frontier and looked < LOOKAHEAD:
        entry, i = heapq.heappop(frontier)
        for child in (2 * i + 1, 2 * i + 2):
            if child < len(heap):
                heapq.heappush(frontier, (heap[child], child))
        ts = entry[2]()  # a weak reference; entries of removed tasks stay until popped
        if ts is None or ts not in present:
            continue
        looked += 1
        wanted = ts.resource_restrictions
        if wanted in misfits:
            continue
        if state._resource_restrictions_satisfied(ts):
            return ts
        misfits.append(wanted)
    return None
