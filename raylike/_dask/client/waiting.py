"""What the driver's backend waits on and how it raises what it waited for: Dask futures,
direct calls' answers and generators' next items as one kind of "done" (``wait_done``), and
task errors as Ray raises them (a fresh copy; the argument's error for a task that never ran)."""
from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
from typing import TYPE_CHECKING, Any, TypeVar

from distributed import Future
from distributed.utils import sync

from raylike._api import ids as _ids
from raylike._api.objects import ObjectRef
from raylike._api.serialization import dumps, loads
from raylike._dask import internals
from raylike._dask.client.callbacks import when_done
from raylike.exceptions import (
    ObjectLostError,
    RayActorError,
    RayError,
    RayTaskError,
    WorkerCrashedError,
    dependency_failed,
)

if TYPE_CHECKING:
    from raylike._dask.client.backend import DaskBackend

logger = logging.getLogger("raylike")
_E = TypeVar("_E", bound=BaseException)


class StreamReady:
    """What ``wait`` waits on for a generator: done once its next item is there or its task
    has ended (asked of the scheduler, a slice at a time, until ``close``)."""

    SLICE = 1.0  # seconds: a closed watch leaves the scheduler waiting this long at most

    def __init__(self, backend: DaskBackend, position: Any) -> None:
        self._future: concurrent.futures.Future[bool] = concurrent.futures.Future()
        self._closed = False
        self._client = backend.client
        self._position = position
        if self._client.loop is not None:
            self._client.loop.add_callback(self._watch)

    async def _watch(self) -> None:
        try:
            while not self._closed:
                # looked at before asking, as in ``stream_next``: the ask can overtake the
                # task's submission
                state = internals.future_state(self._client, self._position.key)
                ended = state is None or state.status != "pending"
                answer = await self._client.scheduler.raylike_stream_next(
                    key=self._position.key, index=self._position.index, timeout=self.SLICE)
                if answer["status"] not in ("timeout", "gone"):
                    break
                if answer["status"] == "gone":  # the task is not there yet, or was cancelled
                    if ended:
                        break
                    await asyncio.sleep(0.01)
        except Exception:  # the connection is lost: ``wait`` says so
            logger.debug("watching a generator failed", exc_info=True)
        if not self._future.done():
            self._future.set_result(True)

    def done(self) -> bool:
        return self._future.done()

    def add_done_callback(self, fn: Any) -> None:
        self._future.add_done_callback(fn)

    def close(self) -> None:
        self._closed = True


class Done:
    """What ``wait`` sees for a ref whose value ``get`` already had from its node (Dask may
    not have heard yet)."""

    @staticmethod
    def done() -> bool:
        return True


DONE = Done()


class Never:
    """What ``wait`` sees for a ref of an earlier session: never ready."""

    @staticmethod
    def done() -> bool:
        return False

    def add_done_callback(self, fn: Any) -> None:
        pass


NEVER = Never()


def fresh(err: _E) -> _E:
    """A copy of ``err`` to raise, without a traceback. Dask keeps the instance it raised for
    the future, and raising it again would append the caller's frames to its traceback: their
    locals (the caller's refs among them) would live as long as the future, which such a ref
    holds, through the client (a cycle the collector cannot free). Ray, too, raises a new
    error at each ``get``."""
    err.__traceback__ = None  # the frames its raise in this process added
    try:
        copy: _E = loads(dumps(err, "error"))
    except Exception:  # noqa: BLE001 - not picklable after all: the instance itself
        return err
    return copy


def blamed(err: RayTaskError, refs: list[tuple[ObjectRef[Any], Future]]) -> RayTaskError:
    """``err``, raised by Dask for the first failed ref; where that ref's task never ran
    because an argument's task failed, Ray's error for it: "At least one of the input
    arguments for this task could not be computed", with ``err`` inside."""
    from raylike._dask.worker import node as _node

    failed = next((ref for ref, fut in refs if fut.status == "error"), None)
    if failed is None or err._task_key is None:
        return err
    key = _node.task_key_of(failed._key)
    if key == err._task_key:
        return err
    blamed = dependency_failed(err, key.rsplit("-", 1)[0])
    blamed._task_key = key
    return blamed


def passed_on(err: RayError, refs: list[tuple[ObjectRef[Any], Future]]) -> RayError:
    """``err``; where it is an actor's error, or a lost object's that could not be rebuilt,
    that reached a task through an argument (a task never raises one itself: a ``get`` of it
    inside the task raises a ``RayTaskError``), Ray's error for that task: a
    ``RayTaskError`` that is also an instance of ``err``'s class."""
    failed = next((ref for ref, fut in refs if fut.status == "error"), None)
    if failed is None:
        return err
    from raylike._dask.worker import node as _node

    name = _node.task_key_of(failed._key).rsplit("-", 1)[0]
    if isinstance(err, ObjectLostError) and not isinstance(err, RayTaskError):
        # an object that could not be rebuilt, given to the task of ``failed``
        if err.object_ref_hex == _ids.object_hex(failed._key):
            return err
        return dependency_failed(err, name)
    crashed = getattr(err, "_task_key", None)  # the task whose process died (its node says)
    if isinstance(err, WorkerCrashedError) and crashed is not None and \
            crashed != _node.task_key_of(failed._key):
        return dependency_failed(err, name)
    if not isinstance(err, RayActorError) or failed._actor_call:
        return err

    return dependency_failed(err, _node.task_key_of(failed._key).rsplit("-", 1)[0])


def wait_done(futures: list[Any], count: int, timeout: float | None) -> bool:
    """Block until ``count`` of ``futures`` are done (in any state) or ``timeout`` passes."""
    pending = [f for f in futures if not f.done()]
    need = count - (len(futures) - len(pending))
    if need <= 0:
        return True
    if timeout == 0:
        return False
    event = threading.Event()
    lock = threading.Lock()
    left = [need]

    def on_done(_fut: Any) -> None:
        with lock:
            left[0] -= 1
            if left[0] <= 0:
                event.set()

    for fut in pending:
        when_done(fut, on_done)
    return event.wait(timeout)


def worker_values(worker: Any, keys: list[str | None]) -> list[tuple[bool, Any]]:
    """``(True, value)`` for each key the Dask worker holds in memory or on disk (read on
    its event loop, where Dask changes that store), else ``(False, None)``."""
    async def read() -> list[tuple[bool, Any]]:
        data = internals.worker_data(worker)
        return [(True, data[key]) if key is not None and key in data else (False, None)
                for key in keys]

    return sync(worker.loop, read)
