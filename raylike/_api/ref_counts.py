"""How long objects live in this process: the refs a task's or actor's process counts (its
worker holds their objects until none is left), a driver's dropped refs released together,
and the arguments of its unfinished tasks and calls (Ray's "submitted" count). ``ObjectRef``
(``_api.objects``) reports to these as refs are made, pickled and dropped.
"""
from __future__ import annotations

import collections
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

__all__ = ["ArgsHeld", "ChildRefs", "child_refs", "defer_releases", "hold_until_done",
           "release_dropped", "releases", "submitted"]


class ChildRefs:
    """In a task's or actor's process: how many ``ObjectRef`` objects of each key are alive.

    Its worker holds every object the process made, got or was given
    (``raylike._dask.worker.scope.TaskScope``);
    a key none of the process's refs names any more is released here and the worker drops its
    hold with the process's next request (``_child.Channel``), so a long-lived actor or task
    does not keep every object it ever touched. No I/O here: ``__del__`` may run anywhere."""

    def __init__(self) -> None:
        self.active = False  # set by the process's main (``_child.main``)
        self._counts: dict[str, int] = {}
        self._released: list[str] = []
        self._returned: set[str] = set()  # keys just sent in an answer (see ``returned``)
        self._lock = threading.RLock()  # re-entrant: the collector may run __del__ inside add
        # keys of this process's direct actor calls and leased tasks whose answers its worker
        # keeps with no Dask key (``raylike._dask.client.direct``); one that leaves the process
        # (pickled: into a value, a task's arguments, an answer) is sent to ``on_leave``
        # first, which tells the worker to make it an ordinary Dask object
        self.direct: set[str] = set()
        self.on_leave: Callable[[str], None] | None = None

    def add(self, key: str) -> None:
        with self._lock:
            self._counts[key] = self._counts.get(key, 0) + 1

    def drop(self, key: str) -> None:
        with self._lock:
            count = self._counts.get(key)
            if count is None:  # made before counting began
                return
            if count > 1:
                self._counts[key] = count - 1
            else:
                del self._counts[key]
                self._released.append(key)
                self.direct.discard(key)

    def mark_direct(self, key: str) -> None:
        """``key`` is an actor call's or a task's that its worker may answer with no Dask key
        (a direct call, a task run in a lease of its node)."""
        with self._lock:
            self.direct.add(key)

    def leaving(self, key: str) -> None:
        """A ref of ``key`` is being pickled: its worker must give it a Dask key (once)."""
        with self._lock:
            if key not in self.direct:
                return
            self.direct.discard(key)
        if self.on_leave is not None:
            self.on_leave(key)

    def returned(self, keys: list[str]) -> None:
        """``keys`` went out in an answer the worker may not have taken over yet: a ``take``
        right after leaves them for the next one."""
        with self._lock:
            self._returned.update(keys)

    def take(self) -> list[str]:
        """The keys released since the last call that no ref names again meanwhile."""
        with self._lock:
            keys = [k for k in dict.fromkeys(self._released) if k not in self._counts]
            self._released = [k for k in keys if k in self._returned]
            self._returned = set()
            return [k for k in keys if k not in self._released]


child_refs = ChildRefs()


class _Releases:
    """Holds the Dask futures of dropped refs for a moment, then drops them together.

    Each release is a message on Dask's batched streams (client to scheduler, scheduler to
    worker), and a stream that has just sent waits out its batch interval before it sends
    again: a release sent just before the next task's submission delays that task by up to the
    interval, in each stream. Together, a moment later, they leave the next task's way clear
    (a sequential round trip ≈1.5 ms shorter). Ray frees objects asynchronously too. Only a
    driver's refs wait: a worker releases at once, as before.
    """

    DELAY = 0.02  # seconds

    def __init__(self) -> None:
        self.futures: collections.deque[tuple[str, Any, bool]] = collections.deque()
        self.scheduled = False
        self.wake = threading.Event()
        self.thread: threading.Thread | None = None
        # sees each dropped ref before its future goes (the backend's unhandled-error check)
        self.observer: Callable[[str, Any, bool], None] | None = None

    def start(self) -> None:
        """Start the thread (``init`` does, never ``__del__``: a thread started while the
        interpreter exits may never run, and its ``start`` would wait for ever)."""
        if self.thread is None or not self.thread.is_alive():
            self.thread = threading.Thread(target=self._run, daemon=True,
                                           name="raylike-releases")
            self.thread.start()

    def add(self, item: tuple[str, Any, bool]) -> None:
        """Hold ``(key, future, watch)`` of a dropped ref for a moment (``watch``: see
        ``raylike._dask.client.unhandled``)."""
        # lock-free: called from __del__, which the collector may run inside any code
        if self.thread is None or sys.is_finalizing():
            return  # the future is dropped (so released) at once
        self.futures.append(item)
        if not self.scheduled:
            self.scheduled = True
            self.wake.set()

    def _run(self) -> None:
        while True:
            self.wake.wait()
            self.wake.clear()
            time.sleep(self.DELAY)
            self.scheduled = False
            self.release_now()

    def release_now(self) -> None:
        """Drop what is held (each future dropped here is released by Dask); ``shutdown``
        calls this before it closes the client, so no release meets a closing connection."""
        for _ in range(len(self.futures)):
            try:
                key, future, watch = self.futures.popleft()
            except IndexError:  # another thread emptied it
                return
            if self.observer is not None:
                self.observer(key, future, watch)
            del future


releases = _Releases()


def defer_releases(observer: Callable[[str, Any, bool], None] | None = None) -> None:
    """From now on, a driver's dropped refs are released together (see :class:`_Releases`),
    each shown to ``observer`` first: ``(key, its future, watch)``."""
    releases.observer = observer
    releases.start()


def release_dropped() -> None:
    """Release the objects of refs dropped in the last moment now (see :class:`_Releases`)."""
    releases.release_now()


def hold_until_done(_refs: list[Any], _future: Any) -> None:
    """A done callback whose only job is to hold ``_refs`` (bound with ``functools.partial``)
    until the future it is attached to is done."""


class _Submitted:
    """Ray's "submitted" reference count: per key, how many of this process's tasks and actor
    calls not finished yet were given the object as an argument (top level or nested)."""

    def __init__(self) -> None:
        self.counts: collections.Counter[str] = collections.Counter()
        self.lock = threading.Lock()

    def add(self, keys: list[str]) -> None:
        with self.lock:
            self.counts.update(keys)

    def remove(self, keys: list[str]) -> None:
        with self.lock:
            self.counts.subtract(keys)
            for key in keys:
                if self.counts[key] <= 0:
                    del self.counts[key]

    def snapshot(self) -> dict[str, int]:
        with self.lock:
            return dict(self.counts)


submitted = _Submitted()


class ArgsHeld:
    """A done callback for a submitted task or call: until its future is done it holds
    ``keep`` (refs that must live meanwhile) and counts ``keys`` (its arguments' objects) as
    submitted (:func:`reference_counts`)."""

    __slots__ = ("_keep", "_keys")

    def __init__(self, keep: list[Any], keys: list[str]) -> None:
        self._keep = keep
        self._keys = keys
        submitted.add(keys)

    def __call__(self, _future: Any) -> None:
        keys, self._keys, self._keep = self._keys, [], []
        submitted.remove(keys)
