"""A task's or actor's process asks its worker for the Ray API (``get``, ``put``, ``submit``,
actor and placement-group requests, ...) over its pipe; the worker serves each request with its
own backend, the same functions the driver uses, and holds what the process refers to by key
(``TaskScope``, one per running task or actor process)."""
from __future__ import annotations

import contextlib
import logging
import threading
import time
from typing import TYPE_CHECKING, Any

from distributed import secede

from raylike._api import logs as _logs
from raylike._api.generators import StreamPosition
from raylike._api.objects import ObjectRef, _Borrowed
from raylike._api.serialization import Frames, dumps_error, dumps_frames, loads_to_keep
from raylike._dask import internals
from raylike._dask.worker import memory as _memory
from raylike._dask.worker import streams as _streams
from raylike._dask.worker import task_events as _task_events

if TYPE_CHECKING:
    from raylike._dask.worker.node import NodePlugin

logger = logging.getLogger("raylike.node")


class _Held:
    """The refs a scope holds for its child (appended from several threads)."""

    def __init__(self) -> None:
        self._refs: list[Any] = []
        self._lock = threading.Lock()

    def append(self, ref: Any) -> None:
        with self._lock:
            self._refs.append(ref)

    def extend(self, refs: Any) -> None:
        refs = list(refs)
        with self._lock:
            self._refs.extend(refs)

    def release(self, keys: list[str]) -> None:
        drop = set(keys)
        with self._lock:
            kept = [r for r in self._refs if r._key not in drop]
            gone, self._refs = len(self._refs) - len(kept), kept
        logger.debug("released %d held refs of %d keys", gone, len(drop))

    def clear(self) -> None:
        with self._lock:
            self._refs = []

    def __len__(self) -> int:
        return len(self._refs)


class TaskScope:
    """The worker's side of one running task (or actor): serves its child's requests, holds
    the objects the child uses, and gives the CPU back while the child blocks."""

    def __init__(self, node: NodePlugin, key: str, cpus: float, child: Any,
                 can_secede: bool = True, cpu_names: tuple[str, ...] = ("CPU",)) -> None:
        self.node = node
        self.key = key
        self.cpus = cpus
        self.cpu_names = cpu_names  # where its CPUs come from (a placement group's names)
        self.child = child
        self.call: Any = None  # the task it runs (for the memory monitor)
        self.started = time.monotonic()
        self.held = _Held()
        self.submitted: list[str] = []
        self.tasks: list[ObjectRef[Any]] = []  # refs of the (non-actor) tasks it submitted
        self._blocked = 0
        self._finished = False
        self._can_secede = can_secede
        self._seceded = False
        self._lock = threading.Lock()

    def serve(self) -> tuple[str, Any]:
        """Answer requests until the child reports ``done``; ``("crashed", why)`` if it dies."""
        while True:
            try:
                message = self.child.recv()
            except (EOFError, OSError):
                # its pipe closed as it died: its exit code comes within moments
                code = self.child.process.wait(1.0) if hasattr(self.child, "process") else None
                _task_events.exited(self.child.pid, code)  # listed as a dead worker
                return "crashed", _task_events.crash_detail(self.child.pid, code)
            if message[0] == "done":
                return message[1], message[2]
            if message[0] == "req":
                self.dispatch(message[1], message[2], message[3])
            elif message[0] == "log":
                _logs.publish(self.node.worker, message[1], message[2])
            elif message[0] == "refs":
                _memory.answered(message[1], message[2])

    def dispatch(self, rid: int | None, op: str, args: tuple[Any, ...]) -> None:
        if op in ("get", "wait", "actor", "stream_next"):
            self._block_start(op, args)
            self.node.helpers.submit(self._answer_blocking, rid, op, args)
        elif op == "stream_wait" or (op == "state" and args[0] == "query"):
            # a generator under backpressure keeps its CPU, as in Ray; a state query may ask
            # this child for its memory report, which this loop must be free to read
            self.node.helpers.submit(self._answer, rid, op, args)
        else:
            self._answer(rid, op, args)

    def _answer(self, rid: int | None, op: str, args: tuple[Any, ...]) -> None:
        try:
            ok, payload = True, getattr(self, f"op_{op}")(*args)
        except BaseException as exc:  # noqa: B036 - sent back to the child
            logger.debug("request %s failed", op, exc_info=True)
            ok, payload = False, dumps_error(exc)
        if rid is not None:
            try:
                self.child.send(("resp", rid, ok, payload))
            except (OSError, ValueError):
                pass  # the child is gone

    def _answer_blocking(self, rid: int | None, op: str, args: tuple[Any, ...]) -> None:
        try:
            self._answer(rid, op, args)
        finally:
            self._block_end()

    def _block_start(self, op: str, args: tuple[Any, ...]) -> None:
        if op in ("get", "wait") and self._ready(op, args):
            with self._lock:
                self._blocked += 1
            return
        if self._can_secede and not self._seceded:
            try:
                secede()  # frees this task's Dask thread slot; no-op outside a task thread
                self._seceded = True
            except Exception:
                self._can_secede = False
        with self._lock:
            self._blocked += 1
            release = self._blocked == 1 and not self._finished and self.cpus > 0
            if release:
                self._released = True
        # a task waiting here for a lease gets the CPU at once (``LeaseDesk.lend``), else Dask
        if release and not (self.cpu_names == ("CPU",) and self.node.leases.lend(self.cpus,
                                                                                 self)):
            self.node.adjust_cpu(self.cpus, self.cpu_names)

    def blocked(self) -> bool:
        """Whether the task is still blocked (a borrower of its CPU may take more work)."""
        return self._blocked > 0 and not self._finished

    def _block_end(self) -> None:
        with self._lock:
            self._blocked -= 1
            take = self._blocked == 0 and getattr(self, "_released", False) and not self._finished
            if take:
                self._released = False
        if take:
            self.node.adjust_cpu(-self.cpus, self.cpu_names)

    def _ready(self, op: str, args: tuple[Any, ...]) -> bool:
        keys = args[0]
        backend = self.node.backend()
        # backend.ref, not a bare Dask future: the key of a direct actor call this child just
        # made is not Dask's yet, and a future made and dropped here would tell the scheduler
        # to release the key, maybe after the call's answer was stored under it (lost then)
        named = [(k, backend.ref(k)) for k in keys if isinstance(k, str)]  # not generators
        try:
            done = sum(backend._waitable(r).done() or self._held_here(k) for k, r in named)
        except Exception:  # a ref of an earlier session, say: the request answers the error
            return True
        need = len(keys) if op == "get" else min(args[1], len(keys))
        return done >= need or (op == "wait" and args[-1] == 0)

    def _held_here(self, key: str) -> bool:
        """Whether this node holds ``key``'s value: a ref the child names again and again
        (``get`` in a loop) is a fresh future each time, pending until the scheduler
        confirms it, and its task would give back its CPU at each ``get`` (another task
        then takes it: Ray's ``get`` of a local object blocks nothing)."""
        try:
            return key in internals.worker_data(self.node.worker)
        except Exception:  # the store is being changed on the loop: not known to be here
            return False

    def finish(self) -> None:
        """The task ended: settle the CPU it gave back, drop what it held."""
        with self._lock:
            self._finished = True
            take = getattr(self, "_released", False)
            self._released = False
        if take:
            self.node.adjust_cpu(-self.cpus, self.cpu_names)
        self.held.clear()

    # -- requests from the child ---------------------------------------------------------------
    def _refs(self, keys: list[str], hold: bool = True) -> list[ObjectRef[Any]]:
        """Refs for keys the child sent; ``hold``: keep them while this scope lives. Keys the
        child only reads (``get``/``wait``) are already held by whoever gave them to it (the
        submitter, this scope, a value's ref): holding them again would make a long-lived
        actor keep every object it ever read."""
        backend = self.node.backend()
        refs = [backend.ref(k) for k in keys]
        if hold:
            self.held.extend(refs)
        return refs

    def op_get(self, keys: list[str], timeout: float | None) -> Frames:
        values = self.node.backend().get(self._refs(keys, hold=False), timeout)
        with _Borrowed() as borrowed:
            data = dumps_frames(values, "object")
        self.held.extend(borrowed.refs)
        return data

    def op_wait(self, keys: list[Any], num_returns: int, timeout: float | None) -> list[Any]:
        # a generator travels as ("stream", its task's key, its position)
        backend = self.node.backend()
        refs = [backend.ref(k) if isinstance(k, str) else StreamPosition(k[1], k[2])
                for k in keys]
        return [r._key for r in backend.wait(refs, num_returns, timeout)]

    # -- generators (``raylike._dask.worker.streams``) ---------------------------------------------
    def op_stream_item(self, key: str, index: int, data: Frames) -> tuple[str, int]:
        return _streams.store_item(self.node, key, index, data)

    def op_stream_wait(self, key: str, taken: int) -> tuple[str, int]:
        return _streams.wait_taken(self.node, key, taken)

    def op_stream_end(self, key: str, error: bytes) -> None:
        _streams.record_error(self.node, key, error)

    def op_error_object(self, error: bytes) -> str:
        """An object whose ``get`` raises ``error`` (a dynamic generator's last ref)."""
        from raylike._api.tasks import new_key

        ref = self.node.backend().submit_raw(_streams.raise_error, error, key=new_key("error"),
                                             resources=None)
        self.held.append(ref)
        return ref._key

    def op_stream_next(self, key: str, index: int, timeout: float | None) -> tuple[str, Any]:
        backend = self.node.backend()
        return backend.stream_next(backend.ref(key), index, timeout)

    def op_stream_take(self, key: str, index: int, item: str | bytes) -> str:
        ref = self.node.backend().stream_take(key, index, item)
        self.held.append(ref)
        return ref._key

    def op_stream_drop(self, key: str) -> None:
        self.node.backend().stream_drop(key)

    def op_release(self, keys: list[str]) -> None:
        """The child refers to none of ``keys`` any more (``_ref_counts.ChildRefs``)."""
        self.held.release(keys)

    def op_put(self, data: Frames, refs: bool = True, key: str | None = None) -> str:
        """``refs``: the value holds refs (Dask's ``scatter`` keeps them alive with it).
        Without, it is kept as this worker's Dask data as it arrived (a large array stays on
        the shared memory the pipe brought it in, ``_transport.wire``, never copied again),
        under ``key``, which the child chose: it did not wait for this answer (a failure
        here becomes the object's error)."""
        from raylike._dask.client import local_objects as _local_objects

        backend = self.node.backend()
        if refs:
            ref = backend.put(loads_to_keep(data))
        else:
            assert key is not None
            try:
                backend.check_connected()
                ref = _local_objects.keep_as(self.node.worker, backend.client, key,
                                             loads_to_keep(data))
            except Exception as exc:
                logger.debug("the put of %s failed", key, exc_info=True)
                ref = backend.submit_raw(_streams.raise_error, dumps_error(exc), key=key,
                                         resources=None)
        self.held.append(ref)
        return ref._key

    def op_submit(self, call: Any, dep_keys: list[str], nested_keys: list[str]) -> None:
        refs = self.node.backend().submit(call, self._refs(dep_keys), self._refs(nested_keys))
        self.held.extend(refs)
        self.submitted.append(call.key)
        if not getattr(call, "actor_id", None):
            self.tasks.append(refs[0])

    def op_submits(self, batch: list[tuple[Any, list[str], list[str]]]) -> None:
        """Several submissions of the child's, in the order it made them
        (``Channel.submit_soon``); one that fails does not stop the others."""
        direct = self.node.backend().direct
        here = getattr(direct, "here", None)  # its calls to actors here: one hand-off
        with here.holding() if here is not None else contextlib.nullcontext():
            for call, dep_keys, nested_keys in batch:
                try:
                    self.op_submit(call, dep_keys, nested_keys)
                except Exception:
                    logger.debug("request submit failed", exc_info=True)

    def op_promote(self, keys: list[str]) -> None:
        """Refs of direct calls the child made are leaving it (``ChildRefs.leaving``): their
        keys must become Dask's (``DirectCalls.promote_keys``) for whoever gets them."""
        direct = self.node.backend().direct
        if direct is not None:
            direct.promote_keys(keys)

    def op_cancel(self, key: str, force: bool, recursive: bool) -> None:
        backend = self.node.backend()
        backend.cancel(backend.ref(key), force, recursive)

    def op_actor(self, op: str, *args: Any) -> Any:
        from raylike._dask.client import actors as _actors

        return _actors.serve_request(self, op, *args)

    def op_pg(self, op: str, *args: Any) -> Any:
        from raylike._dask.client import placement_groups as _placement_groups

        return _placement_groups.serve_request(self, op, *args)

    def op_state(self, op: str, *args: Any) -> Any:
        from raylike._api import state as _state

        return _state.serve_request(self.node.backend(), op, *args)
