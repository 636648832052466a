"""The host of one actor on its worker: its process, its restarts, its death.

:func:`host_actor` is the actor's *reservation task*: an ordinary Dask task, submitted with the
actor's resources, that secedes at once (so it holds no thread slot, but keeps its resources),
starts the actor's dedicated child process, and blocks until the actor is dead. Ray's default
actor (no resources asked) holds no CPU while it lives: it is submitted with ``CPU: 0``
(``_resources.default_actor_request``), so it goes to a node with CPUs and takes none.

The calls are queued on the worker's event loop (``_actor_calls.CallQueue``), which also reads
the process's pipe, so an answer reaches its caller with no thread hand-off. Threads serve the
rest: the reservation task's (the lifecycle: start, restart, bury), and for each process one
that serves its API requests (through a ``TaskScope``, in order) and one that writes the calls
that need pickling off the event loop.
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import logging
import os
import queue
import select
import signal
import threading
import time
from typing import Any

from distributed import secede

from raylike._api import context as _context
from raylike._api import error_pubsub as _error_pubsub
from raylike._api import logs as _logs
from raylike._api import resources as _resources
from raylike._api import runtime as _runtime
from raylike._api.actor_spec import (
    CRASHED,
    EXITED,
    KILLED,
    SYSTEM_CONCURRENCY_GROUPS,
    ActorSpec,
    died_of,
    node_died,
)
from raylike._api.objects import _Borrowed
from raylike._api.options import STREAMING
from raylike._api.serialization import dumps, dumps_frames, loads
from raylike._dask.worker import actor_calls as _actor_calls
from raylike._dask.worker import memory as _memory
from raylike._dask.worker import task_events as _task_events
from raylike.exceptions import ActorDiedError, RayError, RuntimeEnvSetupError

logger = logging.getLogger("raylike.actors")
_READ_BURST = 64  # messages from an actor process read in one wake-up of the loop at most
GRACE_PERIOD = 30.0  # seconds a gracefully stopped actor has to finish its running calls


def host_actor(spec: ActorSpec) -> None:
    """The reservation task of one actor (see the module docstring)."""
    from raylike._dask.worker.node import current_node

    secede()
    node = current_node()
    _actor_calls.install(node.worker)
    ActorHost(node, spec).run()


class ActorHost:
    """One actor on its worker."""

    def __init__(self, node: Any, spec: ActorSpec) -> None:
        self.node = node
        self.spec = spec
        self.meta = spec.meta
        self.loop = node.worker.loop.asyncio_loop
        self.calls = _actor_calls.CallQueue(
            self.loop, spec.meta, functools.partial(_actor_calls.resolve, node),
            functools.partial(_actor_calls.take_cancelled, node), window=spec.max_concurrency,
            in_order=not spec.out_of_order,
            groups={**SYSTEM_CONCURRENCY_GROUPS, **spec.meta.concurrency_groups})
        self.events: queue.Queue[tuple[Any, ...]] = queue.Queue()
        self.link: _Link | None = None
        self.stop: tuple[bool, ActorDiedError | None, bool] | None = None  # set by kill
        self.exiting = False
        self.restarts = 0
        self.setup: Any = None  # its runtime environment (``raylike._process.env_setup``)

    # -- lifecycle (the reservation task's thread) -------------------------------------------
    def run(self) -> None:
        """Start the actor, restart it while it may, and bury it."""
        node, actor_id = self.node, self.meta.actor_id
        node.actors[actor_id] = self
        leased = node.accelerators.lease(self.spec.resources)
        try:
            error = self._run(leased)
        except Exception as exc:  # a bug or a lost scheduler: the actor cannot go on
            logger.exception("actor %s failed", actor_id)
            error = died_of(self.meta, f"{CRASHED} ({type(exc).__name__}: {exc})")
        try:
            self._bury(error)
        finally:
            node.actors.pop(actor_id, None)
            node.accelerators.release(leased, self.spec.resources)

    def _run(self, leased: dict[str, list[str]]) -> RayError:
        reply = self._registry("raylike_actor_host", address=self.node.worker.address)
        if reply.get("dead") is not None:
            return loads(reply["dead"])
        self.restarts, restarted = reply["restarts"], reply["restarted"]
        self.calls.adopt = restarted  # its first host was on a worker that died
        try:
            deps = self.node.backend().get(list(self.spec.deps), None) if self.spec.deps else []
        except Exception as exc:  # an argument's task failed: so does the constructor
            return died_of(self.meta, "", cause=exc)
        try:
            self.setup = self.node.envs.prepare(self.spec.runtime_env)
        except RuntimeEnvSetupError as exc:  # as Ray: every call of the actor raises it
            return exc
        while True:
            error = self._live(leased, deps, restarted)
            if error is not None:
                return error
            self.restarts += 1
            restarted = True
            self._registry("raylike_actor_update", state="RESTARTING", restarts=self.restarts)

    def _live(self, leased: dict[str, list[str]], deps: list[Any], restarted: bool
              ) -> RayError | None:
        """One process of the actor, from start to end: ``None`` to restart it, else the
        error of the dead actor."""
        if self.stop is not None and self.stop[0]:
            return self.stop[1]
        link = self.link = _Link(self, self.node.pool.start_child(self.setup))
        if self.stop is not None:  # killed while the process started
            link.kill()
        link.send_init(self._info(leased, restarted), deps)
        ready = False
        try:
            while True:
                event = self.events.get()
                if event[1] is not link:
                    continue  # from an earlier process
                if event[0] == "ready":
                    if not event[2]:  # no error: exit_actor() in the constructor
                        error = died_of(self.meta, EXITED) if event[3] is None else \
                            died_of(self.meta, "", cause=loads(event[3]))
                        # calls fail with it now, not as the restart's ActorUnavailableError
                        # while the process is ended
                        self._on_loop(self.calls.die, dumps(error))
                        link.kill()
                        return error
                    ready = True
                    self._on_ready(link, event[4])
                elif event[0] == "exit":
                    self.exiting = True
                elif event[0] == "exited":
                    return self._after(link, ready, event[2])
        finally:
            self.link = None
            from raylike._dask.worker.node import cancel_owned

            cancel_owned(self.node, link.scope)  # as in Ray: its tasks die with it
            link.close()

    def _after(self, link: _Link, ready: bool, code: Any) -> RayError | None:
        """The process ended: why, and is there a restart left?"""
        stop, self.stop = self.stop, None
        if stop is not None and stop[0]:
            return stop[1]
        if self.exiting:
            return died_of(self.meta, EXITED)
        detail = f"{CRASHED} The process (pid {link.child.pid}) exited with code {code}."
        oom = self.node.memory_monitor.take(self.meta.actor_id)
        if stop is None and oom is not None:  # the memory monitor killed it
            return self._after_oom(oom)
        if stop is None:  # no ray.kill: nobody meant it to end
            _error_pubsub.worker_died(self.node.worker, self.spec.job_id,
                                      f"Actor ID: {self.meta.actor_id}", self.node.node_id,
                                      link.child.pid, f"The actor's process exited with code "
                                      f"{code}.")
        max_restarts = self.spec.max_restarts
        if stop is not None and stop[1] is not None and not (
                max_restarts < 0 or self.restarts < max_restarts):
            return stop[1]  # ray.kill(no_restart=False) with no restart left: killed for good
        if max_restarts < 0 or self.restarts < max_restarts:
            error = self.calls.unavailable(f"The actor's process died while running this "
                                           f"call; the actor is restarting. ({detail})")
            self._on_loop(self.calls.lost, error)
            return None
        return died_of(self.meta, detail)

    def _after_oom(self, oom: Any) -> RayError | None:
        """The memory monitor killed the process: restart it if a restart is left (its
        calls retried as their ``max_task_retries`` allow, else failing with
        ``OutOfMemoryError``); else the actor is dead of it: as in Ray, its calls, those it
        ran and any later, fail with ``OutOfMemoryError``."""
        max_restarts = self.spec.max_restarts
        if max_restarts < 0 or self.restarts < max_restarts:
            self._on_loop(self.calls.lost, oom.error())
            return None
        error: RayError = oom.error()
        return error

    def _on_ready(self, link: _Link, repr_name: str = "") -> None:
        self._on_loop(self.calls.alive, link)
        self._registry("raylike_actor_update", state="ALIVE", repr_name=repr_name)

    def _bury(self, error: RayError) -> None:
        dead = dumps(error)
        self._on_loop(self.calls.die, dead)
        try:
            self._registry("raylike_actor_update", state="DEAD", dead=dead)
        except Exception:
            logger.info("could not tell the registry that actor %s died", self.meta.actor_id)

    def _info(self, leased: dict[str, list[str]], restarted: bool) -> _context.TaskInfo:
        resources = {k: v for k, v in _resources.without_hidden(self.spec.resources).items()
                     if v > 0}
        meta = self.meta
        return _context.TaskInfo(
            key=self.spec.reservation, name=f"{meta.class_name}.__init__",
            job_id=self.spec.job_id, node_id=self.node.node_id,
            namespace=self.spec.creator_namespace, actor_id=meta.actor_id,
            gpu_ids=leased.get("GPU", []), accelerator_ids=leased,
            detached_default=self.spec.detached_default, depth=self.spec.depth,
            resources=resources, restarted=restarted,
            function_name=f"{self.spec.class_path}.__init__", actor_name=meta.name or "",
            gcs_address=_runtime.gcs_address(self.node.worker.scheduler.address),
            is_async=meta.is_async,
            actor_meta=meta, reservation=self.spec.reservation,
            placement=self.spec.placement)

    def _registry(self, op: str, **kwargs: Any) -> Any:
        return self.node.backend().scheduler_call(op, actor_id=self.meta.actor_id, **kwargs)

    def _on_loop(self, fn: Any, *args: Any) -> None:
        self.loop.call_soon_threadsafe(fn, *args)

    # -- requests (on the event loop) --------------------------------------------------------
    def kill(self, no_restart: bool, dead: bytes | None, graceful: bool = False) -> None:
        """Kill the process (``ray.kill``); a graceful stop lets running calls finish."""
        error = loads(dead) if dead else died_of(self.meta, KILLED)
        self.stop = (no_restart, error, graceful)
        if no_restart:
            self.calls.die(dumps(error), keep_inflight=graceful)
        link = self.link
        if link is None:
            return
        if graceful:  # running calls may finish; a process that never gets idle is killed
            link.stop()
            self.loop.call_later(GRACE_PERIOD, link.kill)
        else:
            link.kill()

    def close(self) -> None:
        """The worker is closing: the actor dies with it."""
        self.stop = (True, died_of(self.meta, node_died(self.node.node_id, True)), False)
        link = self.link
        if link is not None:
            link.kill()


class _Link:
    """One process of an actor, and the two threads that talk to it."""

    def __init__(self, host: ActorHost, child: Any) -> None:
        from raylike._dask.worker.scope import TaskScope

        self.host = host
        self.child = child
        self.started = time.monotonic()  # (the memory monitor kills the latest first)
        self.scope = TaskScope(host.node, host.spec.reservation, 0.0, child, can_secede=False)
        self.outbox: queue.Queue[Any] = queue.Queue()
        self.queued = 0  # items in the outbox or being written by the writer thread
        self.lock = threading.Lock()
        self.closed = False
        self.cancels: dict[int, list[asyncio.Future[None]]] = {}  # recursive, not answered
        self.requests: queue.Queue[Any] = queue.Queue()
        self.reading = True
        name = f"raylike-actor-{host.meta.class_name}"
        threading.Thread(target=self._serve, daemon=True, name=f"{name}-requests").start()
        threading.Thread(target=self._write, daemon=True, name=f"{name}-write").start()
        self.fd = child.conn.fileno()
        self._ready = select.poll()  # whether another message waits (``_read``)
        self._ready.register(self.fd, select.POLLIN)
        host.loop.call_soon_threadsafe(self._register)

    def send_init(self, info: _context.TaskInfo, deps: list[Any]) -> None:
        spec = self.host.spec
        with _Borrowed() as borrowed:
            deps_bytes = dumps_frames(deps, "actor constructor argument")
        self.scope.held.extend(borrowed.refs)
        self._queue(("actor-init", spec.cls, spec.args, deps_bytes, info,
                     spec.meta.class_name, spec.max_concurrency, spec.meta.is_async,
                     spec.meta.concurrency_groups))

    def send_calls(self, calls: list[tuple[int, Any]]) -> None:
        """Send calls (on the event loop), in order: small ones at once, the calls of one
        turn of the loop in one message, unless the writer thread has something to send
        first; one with values to pickle, and all after it, through the writer thread."""
        now: list[tuple[Any, ...]] = []
        for call_id, entry in calls:
            if entry.values is None and not entry.call.nested_keys and self.queued == 0:
                now.append(self._call(call_id, entry))
                continue
            self._send_now(now)
            now = []
            self._queue((call_id, entry))
        self._send_now(now)

    def _send_now(self, calls: list[tuple[Any, ...]]) -> None:
        if not calls:
            return
        try:
            self.child.send(calls[0] if len(calls) == 1 else
                            ("actor-calls", [c[1:] for c in calls]), plain=True)
        except (OSError, ValueError):
            pass  # the process is gone: the reader reports it

    def send_cancel(self, call_id: int, recursive: bool) -> asyncio.Future[None] | None:
        """Tell the process to cancel call ``call_id`` (on the event loop). Recursive: the
        future the process answers (``actor-cancelled``) once what the call submitted is
        cancelled too."""
        reached = None
        if recursive:
            reached = self.host.loop.create_future()
            self.cancels.setdefault(call_id, []).append(reached)
        try:
            self.child.send(("actor-cancel", call_id, recursive), plain=True)
        except (OSError, ValueError):
            self._cancels_reached()  # the process is gone: the reader reports it
        return reached

    def _cancels_reached(self, call_id: int | None = None) -> None:
        """The process answered the recursive cancels of ``call_id`` (all: it ended)."""
        ids = list(self.cancels) if call_id is None else [call_id]
        for each in ids:
            for reached in self.cancels.pop(each, ()):
                if not reached.done():
                    reached.set_result(None)

    def stop(self) -> None:
        self._queue(("actor-exit",))

    def _queue(self, item: Any) -> None:
        with self.lock:
            self.queued += 1
        self.outbox.put(item)

    def kill(self) -> None:
        if self.closed:  # its pid may belong to another process by now
            return
        try:
            os.kill(self.child.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def _register(self) -> None:
        """Read the process's pipe on the event loop. A pipe closed while registered leaves
        asyncio an entry for its number that the kernel no longer watches; a new pipe given
        the same number would then be 'registered' without being watched (asyncio only swaps
        the callback), and its messages never read: drop any such entry first."""
        self.host.loop.remove_reader(self.fd)
        if self.reading:
            self.host.loop.add_reader(self.fd, self._read)

    def _unregister(self) -> None:
        if self.reading:
            self.reading = False
            self.host.loop.remove_reader(self.fd)

    def close(self) -> None:
        """The process ended: stop the writer, drop what it held. The pipe leaves the event
        loop before it is closed (see :meth:`_register`)."""
        self.closed = True
        self.outbox.put(None)
        self.requests.put(None)
        self.scope.finish()
        unregistered: concurrent.futures.Future[None] = concurrent.futures.Future()

        def unregister() -> None:
            try:
                self._unregister()
            finally:
                unregistered.set_result(None)

        try:
            self.host.loop.call_soon_threadsafe(unregister)
            unregistered.result(timeout=10)
        except (RuntimeError, concurrent.futures.TimeoutError):  # the loop is closed or stuck
            pass
        self.host.node.pool.discard(self.child)

    def _write(self) -> None:
        while True:
            item = self.outbox.get()
            if item is None:
                return
            try:
                self.child.send(item if isinstance(item[0], str) else self._call(*item))
            except (OSError, ValueError):
                pass  # the process is gone: the reader reports it
            except Exception as exc:  # an argument that does not pickle: that call fails
                if not isinstance(item[0], str):
                    self.host.loop.call_soon_threadsafe(
                        self.host.calls.on_result, item[0], "err", dumps(exc))
            finally:
                with self.lock:
                    self.queued -= 1

    def _call(self, call_id: int, entry: Any) -> tuple[Any, ...]:
        call, deps = entry.call, None
        if entry.values:
            with _Borrowed() as borrowed:
                deps = dumps_frames(entry.values, "actor call argument")
            self.scope.held.extend(borrowed.refs)
        if call.nested_keys:  # the actor may keep them: hold them while it lives
            backend = self.host.node.backend()
            self.scope.held.extend(backend.ref(k) for k in call.nested_keys)
        retry = None  # a streaming call's errors to retry, while it has retries left
        if call.num_returns == STREAMING and call.retry_exceptions and (
                call.max_task_retries < 0 or entry.attempts < call.max_task_retries):
            retry = dumps(call.retry_exceptions)
        return ("actor-call", call_id, call.key, call.method, call.args, deps, call.num_returns,
                call.backpressure, call.concurrency_group, call.name,
                list(call.dep_keys) if entry.values else [], retry)

    def _read(self) -> None:
        """The messages from the process (on the event loop, when its pipe is readable: the
        process writes each message at once, so this does not wait): those already there, up
        to ``_READ_BURST``, in one wake-up of the loop (answers of a burst of calls come
        together)."""
        with self.host.calls.holding():  # the calls the answers make room for: one message
            for _ in range(_READ_BURST):
                if not self._read_one() or not self.reading:
                    return
                try:
                    if not self._ready.poll(0):
                        return
                except (OSError, ValueError):
                    return

    def _read_one(self) -> bool:
        """One message from the process; False once its pipe closed."""
        host = self.host
        try:
            message = self.child.recv()
        except (EOFError, OSError):
            self._ended()
            return False
        kind = message[0]
        if kind == "actor-result":
            host.calls.on_result(*message[1:])
            if message[2] == "exit":
                host.events.put(("exit", self))
        elif kind == "log":
            _logs.publish(host.node.worker, message[1], message[2])
        elif kind == "refs":  # its memory report (``raylike._dask.worker.memory``)
            _memory.answered(message[1], message[2])
        elif kind == "req":  # served in order, off the loop: requests may block
            self.requests.put(message)
        elif kind == "actor-ready":
            host.events.put(("ready", self, message[1], message[2],
                             message[3] if len(message) > 3 else ""))
        elif kind == "actor-cancelled":
            self._cancels_reached(message[1])
        elif kind == "actor-exiting":  # exit_actor() outside any call: nothing starts now
            host.calls.die(dumps(died_of(host.meta, EXITED)), keep_inflight=True)
            host.events.put(("exit", self))
        return True

    def _ended(self) -> None:
        self._cancels_reached()
        if not self.reading:
            return
        if self.host.stop is None:  # it died, nobody stopped it: a dead worker to list
            _task_events.exited(self.child.pid, None, self.child.process)
        self._unregister()
        self.requests.put(("ended",))

    def _serve(self) -> None:
        """Serve the process's API requests; report its end once its pipe closed."""
        while True:
            message = self.requests.get()
            if message is None:
                return
            if message[0] == "ended":
                break
            self.scope.dispatch(message[1], message[2], message[3])
        self.child.process.wait(1)
        self.host.events.put(("exited", self, self.child.process.exitcode))
