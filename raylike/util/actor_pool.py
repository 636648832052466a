"""``ray.util.ActorPool``: spread calls over a fixed set of actors.

Each submission goes to an idle actor; when none is idle it waits in a FIFO backlog and is sent
as soon as a result is collected (collecting a result is what frees its actor, as in Ray: the
pool does nothing in the background). Results come back in submission order (``get_next``,
``map``) or in completion order (``get_next_unordered``, ``map_unordered``).
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

__all__ = ["ActorPool"]

_TIMEOUT_MSG = "Timed out waiting for result"


class ActorPool:
    """A pool of actors that run ``fn(actor, value)`` calls, one call per actor at a time.

    ``fn`` takes an actor handle and a value and returns an ``ObjectRef`` (typically
    ``lambda a, v: a.method.remote(v)``); the actor is busy until the result is collected.
    """

    def __init__(self, actors: Iterable[Any]) -> None:
        self._idle: list[Any] = list(actors)
        # submissions waiting for an idle actor, oldest first (Ray's name and type: a list)
        self._pending_submits: list[tuple[Callable[[Any, Any], Any], Any]] = []
        # submission index -> (result ref, actor) for every call sent and not yet collected
        self._running: dict[int, tuple[Any, Any]] = {}
        self._submitted = 0  # index the next sent call gets
        self._next_ordered = 0  # index get_next returns next

    # -- submitting -------------------------------------------------------------------------

    def submit(self, fn: Callable[[Any, Any], Any], value: Any) -> None:
        """Run ``fn(actor, value)`` on an idle actor, or queue it until one is free."""
        if not self._idle:
            self._pending_submits.append((fn, value))
            return
        actor = self._idle.pop()
        ref = fn(actor, value)
        self._running[self._submitted] = (ref, actor)
        self._submitted += 1

    def map(self, fn: Callable[[Any, Any], Any], values: Iterable[Any]) -> Iterator[Any]:
        """Apply ``fn`` over ``values``; a generator of the results in the order of ``values``.

        Results still pending from earlier submissions are dropped first."""
        self._drain(ordered=True)
        for value in values:
            self.submit(fn, value)
        return self._results(ordered=True)

    def map_unordered(self, fn: Callable[[Any, Any], Any],
                      values: Iterable[Any]) -> Iterator[Any]:
        """Like ``map``, but yields the results as they complete."""
        self._drain(ordered=False)
        for value in values:
            self.submit(fn, value)
        return self._results(ordered=False)

    def _results(self, ordered: bool) -> Iterator[Any]:
        while self.has_next():
            yield self.get_next() if ordered else self.get_next_unordered()

    def _drain(self, ordered: bool) -> None:
        # Collect what earlier submissions left behind, so a map only yields its own results.
        while self.has_next():
            try:
                if ordered:
                    self.get_next(timeout=0, ignore_if_timedout=True)
                else:
                    self.get_next_unordered(timeout=0)
            except TimeoutError:
                pass

    # -- collecting -------------------------------------------------------------------------

    def has_next(self) -> bool:
        """Whether a submitted call's result has yet to be returned."""
        return bool(self._running)

    def get_next(self, timeout: float | None = None, ignore_if_timedout: bool = False) -> Any:
        """The next result in submission order, waiting up to ``timeout`` seconds for it.

        Raises ``StopIteration`` when nothing is pending and ``TimeoutError`` on timeout; with
        ``ignore_if_timedout`` the timed-out call is dropped (its actor goes back to the pool)
        before ``TimeoutError`` is raised, otherwise it stays next in line."""
        import raylike as ray

        if not self.has_next():
            raise StopIteration("No more results to get")
        if self._next_ordered not in self._running:
            raise ValueError("It is not allowed to call get_next() after get_next_unordered().")
        index = self._next_ordered
        ref, actor = self._running[index]
        if timeout is not None:
            ready, _ = ray.wait([ref], timeout=timeout)
            if not ready:
                if not ignore_if_timedout:
                    raise TimeoutError(_TIMEOUT_MSG)
                self._forget(index)
                self._release(actor)
                raise TimeoutError(f"{_TIMEOUT_MSG}. The task {ref} has been ignored.")
        self._forget(index)
        return self._collect(ref, actor)

    def get_next_unordered(self, timeout: float | None = None,
                           ignore_if_timedout: bool = False) -> Any:
        """Any one finished result (the first to complete), waiting up to ``timeout`` seconds.

        Raises ``StopIteration`` when nothing is pending and ``TimeoutError`` on timeout; with
        ``ignore_if_timedout`` the oldest pending call is dropped before it is raised."""
        import raylike as ray

        if not self.has_next():
            raise StopIteration("No more results to get")
        by_ref = {ref: index for index, (ref, _) in self._running.items()}
        ready, _ = ray.wait(list(by_ref), num_returns=1, timeout=timeout)
        if not ready:
            if not ignore_if_timedout:
                raise TimeoutError(_TIMEOUT_MSG)
            index = min(self._running)
            ref, actor = self._running[index]
            self._forget(index)
            self._release(actor)
            raise TimeoutError(f"{_TIMEOUT_MSG}. The task {ref} has been ignored.")
        index = by_ref[ready[0]]
        ref, actor = self._running[index]
        self._forget(index)
        return self._collect(ref, actor)

    def _forget(self, index: int) -> None:
        del self._running[index]
        self._next_ordered = max(self._next_ordered, index + 1)

    def _collect(self, ref: Any, actor: Any) -> Any:
        import raylike as ray

        alive = True
        try:
            return ray.get(ref)
        except ray.exceptions.ActorDiedError:
            alive = False  # a dead actor leaves the pool
            raise
        finally:
            self._release(actor, alive)

    def _release(self, actor: Any, alive: bool = True) -> None:
        if alive:
            self._idle.append(actor)
        if self._pending_submits and self._idle:
            self.submit(*self._pending_submits.pop(0))

    # -- membership -------------------------------------------------------------------------

    def has_free(self) -> bool:
        """Whether an actor is idle and no submission is waiting for one."""
        return bool(self._idle) and not self._pending_submits

    def pop_idle(self) -> Any:
        """Remove and return an idle actor, or ``None`` if none is free."""
        return self._idle.pop() if self.has_free() else None

    def push(self, actor: Any) -> None:
        """Add an actor to the pool (it starts on a waiting submission, if any)."""
        busy = [a for _, a in self._running.values()]
        if actor in self._idle or actor in busy:
            raise ValueError("Actor already belongs to current ActorPool")
        self._release(actor)
