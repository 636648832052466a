"""Actor method calls on the workers (event-loop side).

A call reaches the actor's host in one of two ways. Most calls are direct: a driver's or a
worker's ``_direct.DirectCalls`` sends it over the lane or Dask's RPC to the worker the
scheduler's registry names (:func:`route_from_client`, :func:`route_batch_from_client`,
handled by ``raylike_actor_call(s)``), and the answer becomes an object of its own later
(``_direct``). Calls with several return values, generator calls and all calls when
``RAYLIKE_DIRECT_ACTOR_CALLS=0`` are Dask tasks running :func:`call_actor` (an ``async def``:
Dask runs it on the worker's event loop; it first gives its worker slot back, as ``secede()``
does for a thread task), which routes the call the same way. The host's :class:`CallQueue`
runs each caller's calls in the order of their sequence numbers, resolves their top-level
refs, and sends them to the actor's process when it is alive; what the process answers is the
call's result (or error).
"""
from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import functools
import itertools
import logging
import pickle
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from distributed import get_worker
from distributed.core import send_recv
from distributed.protocol import to_serialize

from raylike._api import config as _config
from raylike._api import ids as _ids
from raylike._api.actor_spec import (
    EXITED,
    ActorCall,
    ActorMeta,
    died_of,
    retry_after_worker_death,
)
from raylike._api.serialization import dumps, dumps_error, loads
from raylike._dask import errors as _errors
from raylike._dask import internals
from raylike._dask.worker import task_events as _task_events
from raylike.exceptions import (
    ActorUnavailableError,
    ObjectLostError,
    RayActorError,
    TaskCancelledError,
)

logger = logging.getLogger("raylike.actors")

CONNECT_TIMEOUT = 3.0  # seconds to reach the worker hosting an actor, before asking again
_LOAD_IN_THREAD = 1 << 20  # results bigger than this are unpickled off the event loop
# seconds a call failed by a restart waits to learn whether the actor died instead (Ray's
# ``timeout_ms_task_wait_for_death_info``)
DEATH_INFO_WAIT = 1.0


@dataclass(eq=False)
class _Entry:
    """One call waiting for its turn, its arguments, or its answer."""

    call: ActorCall
    done: asyncio.Future[tuple[str, Any]]
    ready: bool = True  # its top-level refs are resolved
    ordered: bool = True  # run in sequence (false for a late or repeated call)
    values: list[Any] | None = None
    error: BaseException | None = None
    attempts: int = 0
    running: bool = False  # counted as running in the state API (not only prefetched)


@dataclass
class _Caller:
    """The calls of one caller that arrived before their turn."""

    next_seq: int = 0
    waiting: dict[int, _Entry] = field(default_factory=dict)
    timer: asyncio.TimerHandle | None = None
    timer_seq: int = -1
    first_seq: int = 0  # numbers below it were never this queue's to run
    skipped: set[int] = field(default_factory=set)  # given up on; may still arrive late

    def ran(self, seq: int) -> bool:
        """True if call ``seq`` was run here already: it comes again because Dask computes
        its lost result again (an actor method is not run twice for that, as in Ray)."""
        return self.first_seq <= seq < self.next_seq and seq not in self.skipped


class CallQueue:
    """The calls of one actor, on its worker's event loop.

    ``link`` is the live process (``None`` while it starts or restarts); ``send_calls`` hands
    it calls, in order. The process gets up to ``window`` calls ahead (its ``max_concurrency`` plus
    ``RAYLIKE_ACTOR_PREFETCH``), so it starts the next call without waiting for a round trip to this
    worker; the others wait here. Each concurrency group (``groups``: name -> limit) has a
    window of its own, so a full group never holds back the calls of another. ``ray.cancel``
    stops a call here, or in the process (:meth:`cancel`). The host's lifecycle thread calls
    ``alive``, ``lost`` and ``die`` (through the loop).
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, meta: ActorMeta,
                 resolve: Callable[[list[str]], Awaitable[list[Any]]],
                 cancelled: Callable[[str], bool] = lambda key: False,
                 window: int = 1, prefetch: int | None = None, in_order: bool = True,
                 groups: dict[str, int] | None = None) -> None:
        self.loop = loop
        # a plain actor starts a caller's calls in order even while an earlier one's arguments
        # are not ready; threaded and async actors start each call once its arguments are (Ray)
        self.in_order = in_order
        self.meta = meta
        # calls its process may hold beyond those it runs (``RAYLIKE_ACTOR_PREFETCH``)
        prefetch = int(_config.number("actor_prefetch")) if prefetch is None else prefetch
        self.window = window + prefetch
        self.windows = {name: limit + prefetch for name, limit in (groups or {}).items()}
        # what the state API calls running: as many as the group runs at once; the calls
        # prefetched behind them are still pending there (``_task_events``)
        self.limits = {"": window, **(groups or {})}
        self.running: dict[str, int] = {}
        self.prefetched: dict[str, deque[_Entry]] = {}
        self.callers: dict[str, _Caller] = {}
        self.pending: deque[_Entry] = deque()  # in order, waiting for room in the process
        self.grouped: dict[str, deque[_Entry]] = {name: deque() for name in self.windows}
        self.inflight: dict[int, _Entry] = {}  # sent to the process, by call id
        self.busy: dict[str, int] = {}  # calls in flight, by concurrency group
        self._queued: dict[str, _Entry] = {}  # not yet sent to the process, by key
        self.link: Any = None
        self.restarting = False  # its process died and another one starts (Ray's RESTARTING)
        self.ever_alive = False  # a process of it ended its constructor here
        self.dead: bytes | None = None  # the pickled error of every call once dead
        self._resolve = resolve
        self._cancelled = cancelled  # ray.cancel() reached this call's key
        self.adopt = False  # a host that replaces one lost with its worker: callers' numbers
        # do not start at 0 here, so each caller's first call sets where its sequence is
        self._ids = itertools.count()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._holding = 0  # inside :meth:`holding`: sends wait for its end
        self._held_back = False

    async def submit(self, call: ActorCall) -> tuple[str, Any]:
        """Run ``call`` in its turn; ``("ok", pickled value)`` or ``("err", pickled error)``."""
        return await self.enqueue(call)

    def enqueue(self, call: ActorCall) -> asyncio.Future[tuple[str, Any]]:
        """:meth:`submit` without a coroutine: the future of the call's answer."""
        done: asyncio.Future[tuple[str, Any]] = self.loop.create_future()
        if self.dead is not None:
            done.set_result(("err", self.dead))
            return done
        entry = _Entry(call, done)
        _task_events.arrived(call, self.meta)  # for the state API and the timeline
        done.add_done_callback(functools.partial(_task_events.ended, call.key))
        caller = self.callers.get(call.caller)
        if caller is None:
            first = call.seq if self.adopt else 0
            caller = self.callers[call.caller] = _Caller(next_seq=first, first_seq=first)
        if caller.ran(call.seq):
            logger.info("actor %s: call %s (seq %d) came again: its result was lost",
                        self.meta.actor_id, call.name, call.seq)
            done.set_result(("err", dumps(ObjectLostError(_ids.object_hex(call.key)))))
            return done
        caller.skipped.discard(call.seq)
        self._queued[call.key] = entry
        if call.cancelled or self._cancelled(call.key):  # ray.cancel came first: it keeps
            # its turn, never runs
            done.set_result(("err", dumps(_cancelled_error(call))))
        entry.ordered = call.seq >= caller.next_seq and call.seq not in caller.waiting
        if call.dep_keys and not done.done():
            entry.ready = False
            task = asyncio.ensure_future(self._fetch(entry, caller))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        if entry.ordered:
            caller.waiting[call.seq] = entry
            self._pump(caller)
        elif entry.ready:
            logger.info("actor %s: call %s (seq %d) arrived after its turn",
                        self.meta.actor_id, call.name, call.seq)
            self._dispatch(entry)
        return done

    async def _fetch(self, entry: _Entry, caller: _Caller) -> None:
        try:
            entry.values = await self._resolve(entry.call.dep_keys)
        except BaseException as exc:  # noqa: B036 - the call raises its argument's error
            entry.error = _errors.translate(exc)
        entry.ready = True
        if entry.ordered:
            self._pump(caller)
        else:
            self._dispatch(entry)

    def _pump(self, caller: _Caller) -> None:
        while True:
            entry = caller.waiting.get(caller.next_seq)
            if entry is None or (not entry.ready and self.in_order):
                break
            del caller.waiting[caller.next_seq]
            caller.next_seq += 1
            if entry.ready:
                self._dispatch(entry)
            else:
                entry.ordered = False  # its turn is over: _fetch dispatches it when ready
        missing = bool(caller.waiting) and caller.next_seq not in caller.waiting
        if caller.timer is not None and (not missing or caller.timer_seq != caller.next_seq):
            caller.timer.cancel()
            caller.timer = None
        if missing and caller.timer is None:
            caller.timer_seq = caller.next_seq
            # how long a caller's later calls wait for a missing one (cancelled before it ran)
            caller.timer = self.loop.call_later(_config.number("actor_gap_timeout"),
                                                self._skip_gap, caller)

    def _skip_gap(self, caller: _Caller) -> None:
        caller.timer = None
        if caller.waiting and caller.next_seq not in caller.waiting:
            first = min(caller.waiting)
            logger.warning("actor %s: calls %d..%d of a caller never arrived after %.0f s; "
                           "running its later calls", self.meta.actor_id, caller.next_seq,
                           first - 1, _config.number("actor_gap_timeout"))
            caller.skipped.update(range(caller.next_seq, first))
            caller.next_seq = first
            self._pump(caller)

    def _dispatch(self, entry: _Entry) -> None:
        if entry.done.done() or entry.error is not None or self.dead is not None:
            self._queued.pop(entry.call.key, None)
        if entry.done.done():
            return
        if entry.error is not None:
            entry.done.set_result(("err", dumps_error(entry.error, RayActorError)))
        elif self.dead is not None:
            entry.done.set_result(("err", self.dead))
        elif self.restarting and self._fails_fast(entry):
            self._queued.pop(entry.call.key, None)
            self._fail_unless_dead(entry, dumps(self.unavailable("The actor is restarting.")))
        else:
            self._queue_of(entry).append(entry)
            self._send()

    @contextlib.contextmanager
    def holding(self) -> Iterator[None]:
        """Calls that become ready meanwhile (a burst arriving, the answers of a burst
        freeing room) are sent together at the end, in one message to the process."""
        self._holding += 1
        try:
            yield
        finally:
            self._holding -= 1
            if not self._holding and self._held_back:
                self._held_back = False
                self._send()

    def _queue_of(self, entry: _Entry) -> deque[_Entry]:
        return self.grouped.get(entry.call.concurrency_group, self.pending)

    def _send(self) -> None:
        """Hand the process as many waiting calls as each group has room for (once the
        burst being handled ends, while :meth:`holding`)."""
        if self._holding:
            self._held_back = True
            return
        self._send_group("", self.pending, self.window)
        for group, queue in self.grouped.items():
            self._send_group(group, queue, self.windows[group])

    def _send_group(self, group: str, queue: deque[_Entry], window: int) -> None:
        sent: list[tuple[int, _Entry]] = []
        link = self.link
        while queue and self.link is not None and self.busy.get(group, 0) < window:
            entry = queue.popleft()
            self._queued.pop(entry.call.key, None)
            if entry.done.done():
                continue
            if self._cancelled(entry.call.key):  # cancelled before it ran: it never runs
                entry.done.set_result(("err", dumps(_cancelled_error(entry.call))))
                continue
            call_id = next(self._ids)
            self.inflight[call_id] = entry
            self.busy[group] = self.busy.get(group, 0) + 1
            if self.running.get(group, 0) < self.limits.get(group, 1):
                self._mark_running(group, entry)
            else:
                self.prefetched.setdefault(group, deque()).append(entry)
            sent.append((call_id, entry))
        if sent:  # the calls of this turn, in one message
            link.send_calls(sent)

    def cancel(self, key: str, recursive: bool = True
               ) -> tuple[bool, asyncio.Future[None] | None]:
        """``ray.cancel`` of a call here: one not yet handed to the process ends now (it never
        runs); the process stops one it holds (see ``_actor_proc.cancel``). Whether the call
        is here, and for a recursive cancel the process got, the future it answers once the
        cancel reached what the call submitted."""
        entry = self._queued.get(key)
        if entry is not None:
            if not entry.done.done():
                entry.done.set_result(("err", dumps(_cancelled_error(entry.call))))
            return True, None
        for call_id, entry in self.inflight.items():
            if entry.call.key == key and self.link is not None:
                return True, self.link.send_cancel(call_id, recursive)
        return False, None

    def _mark_running(self, group: str, entry: _Entry) -> None:
        entry.running = True
        self.running[group] = self.running.get(group, 0) + 1
        _task_events.started(entry.call.key)

    # -- from the process (through the loop) ------------------------------------------------
    def on_result(self, call_id: int, status: str, payload: Any) -> None:
        entry = self.inflight.pop(call_id, None)
        if entry is not None:
            group = entry.call.concurrency_group if entry.call.concurrency_group in \
                self.windows else ""
            self.busy[group] -= 1
            if entry.running:
                entry.running = False
                self.running[group] -= 1
            waiting = self.prefetched.get(group)
            while waiting and self.running.get(group, 0) < self.limits.get(group, 1):
                following = waiting.popleft()
                if not following.done.done() and not following.running:
                    self._mark_running(group, following)
        if status == "exit":  # exit_actor() in this call: nothing starts after it
            if entry is not None:
                _task_events.ended_by_exit(entry.call.key)
            self.die(dumps(died_of(self.meta, EXITED)), keep_inflight=True)
        if entry is not None and status == "err" and self.dead is None and \
                _retried(entry, payload):
            self._queue_of(entry).appendleft(entry)  # it runs again, next
            self._queued[entry.call.key] = entry
            self._send()
            return
        if entry is not None and not entry.done.done():
            if status in ("ok", "err"):
                entry.done.set_result((status, payload or b""))
            elif status == "cancelled":
                entry.done.set_result(("err", dumps(_cancelled_error(entry.call))))
            else:
                entry.done.set_result(("err", self.dead or dumps(died_of(self.meta, EXITED))))
        self._send()

    # -- from the host's lifecycle thread (through the loop) ---------------------------------
    def alive(self, link: Any) -> None:
        """A process is ready: send it the calls that waited."""
        self.link = link
        self.restarting = False
        self.ever_alive = True
        self._send()

    def _fail_unless_dead(self, entry: _Entry, error: bytes) -> None:
        """Fail a call the restart costs with ``error`` (``ActorUnavailableError``) after
        Ray's wait for the actor's death info: if the restart ended in death by then (its
        constructor raised), with the death's error instead."""
        def fail() -> None:
            if not entry.done.done():
                entry.done.set_result(("err", self.dead if self.dead is not None else error))

        self.loop.call_later(DEATH_INFO_WAIT, fail)

    def _fails_fast(self, entry: _Entry) -> bool:
        """Whether a call fails at once while the actor restarts: as in Ray, when the actor
        has no ``max_task_retries`` and the call none of its own either."""
        return self.meta.max_task_retries == 0 and entry.call.max_task_retries == 0

    def unavailable(self, reason: str) -> ActorUnavailableError:
        """Ray's error of a call the actor cannot take while it restarts."""
        actor_id = self.meta.actor_id
        return ActorUnavailableError(
            error_msg=f"The actor {actor_id} is unavailable: {reason} The task may or may "
                      "not have been executed on the actor.", actor_id=actor_id)

    def lost(self, error: BaseException) -> None:
        """The process died and a new one will start: calls it was running fail with
        ``error``, unless their ``max_task_retries`` allow running them again. Until the new
        one is ready, as in Ray, a call without retries fails at once
        (``ActorUnavailableError``); the others wait for it. An actor that never finished
        its constructor is still being created, not restarting (Ray's PENDING_CREATION):
        calls made meanwhile wait for it, retries or not."""
        self.link = None
        self.restarting = self.ever_alive
        waiting = [e for q in (self.pending, *self.grouped.values()) for e in q
                   if self.restarting and self._fails_fast(e)]
        for entry in waiting:
            self._queue_of(entry).remove(entry)
            self._queued.pop(entry.call.key, None)
            self._fail_unless_dead(entry, dumps(self.unavailable("The actor is restarting.")))
        requeue = []
        for _, entry in sorted(self.inflight.items()):
            retries = entry.call.max_task_retries
            if retries < 0 or entry.attempts < retries:
                entry.attempts += 1
                requeue.append(entry)
            else:
                self._fail_unless_dead(entry, dumps_error(error, RayActorError))
        for entry in self.inflight.values():
            entry.running = False
        self.inflight.clear()
        self.busy.clear()
        self.running.clear()
        self.prefetched.clear()
        for entry in reversed(requeue):
            self._queue_of(entry).appendleft(entry)
            self._queued[entry.call.key] = entry

    def die(self, dead: bytes, keep_inflight: bool = False) -> None:
        """The actor is dead: every call, now and later, fails with ``dead`` (but those
        running may finish with ``keep_inflight``: the process is exiting cleanly)."""
        if self.dead is None:
            self.dead = dead
        entries = list(self.pending)
        for queue in self.grouped.values():
            entries.extend(queue)
            queue.clear()
        self._queued.clear()
        if not keep_inflight:
            self.link = None
            entries.extend(self.inflight.values())
            self.inflight.clear()
            self.busy.clear()
            self.running.clear()
            self.prefetched.clear()
        for caller in self.callers.values():
            entries.extend(caller.waiting.values())
            caller.waiting.clear()
            if caller.timer is not None:
                caller.timer.cancel()
                caller.timer = None
        self.pending.clear()
        for entry in entries:
            if not entry.done.done():
                entry.done.set_result(("err", self.dead))


# -- the call task ----------------------------------------------------------------------------
_addresses: dict[str, str] = {}  # actor id -> address of its worker, as last seen here


async def call_actor(call: ActorCall) -> Any:
    """What Dask runs for every actor method call (on the worker's event loop)."""
    worker = get_worker()
    # an awaiting async task counts as executing: give the slot back, as secede() would
    internals.secede_soon(worker, call.key, f"raylike-actor-call-{time.time()}")
    status, payload = await _route(worker, call)
    if isinstance(payload, bytes) and len(payload) > _LOAD_IN_THREAD:
        value = await asyncio.get_running_loop().run_in_executor(None, loads, payload)
    else:  # small, or Frames: rebuilt on their buffers without a copy
        value = loads(payload)
    if status == "ok":
        return value
    raise value


def _died_during(call: ActorCall, exc: BaseException) -> bytes:
    return dumps(RayActorError(f"The worker hosting the actor died during the call: {exc}",
                               actor_id=call.actor_id))


async def _route(worker: Any, call: ActorCall) -> tuple[str, Any]:
    """Hand ``call`` to the actor's host, here or on the worker the registry names."""
    return await route(call, worker.rpc, worker.scheduler, _node_of(worker).actors,
                       worker.address)


async def route_from_client(client: Any, call: ActorCall) -> tuple[str, Any]:
    """Hand ``call`` from a driver straight to the actor's worker
    (``raylike._dask.client.direct``)."""
    return await route(call, client.rpc, client.scheduler, {}, None)


async def route_batch_from_client(client: Any, calls: list[ActorCall],
                                  deliver: Callable[[int, tuple[str, Any]], None]) -> None:
    """Hand several calls to one actor from a driver in one message
    (``raylike._dask.client.direct``);
    ``deliver(i, answer)`` gets each call's answer as soon as it is known, in whatever order
    the calls end (one call awaiting an event must not hold back the answer of a later call
    that sets it). Anything unusual (actor moved, worker gone) falls back to :func:`route`."""
    pending = set(range(len(calls)))
    actor_id = calls[0].actor_id
    address = _addresses.get(actor_id)
    if address is None:  # ask once for the whole batch (see the note on the fallback below)
        reply = await client.scheduler.raylike_actor_where(actor_id=actor_id)
        if reply.get("dead") is not None:
            for i in range(len(calls)):
                deliver(i, ("err", reply["dead"]))
            return
        address = reply["address"]
    comm = None
    if address is not None:
        try:
            comm = await client.rpc.connect(address, timeout=CONNECT_TIMEOUT)
        except OSError:  # nothing was sent: route them one by one (the registry knows)
            _addresses.pop(actor_id, None)
    if comm is not None:
        calls = [_unless_cancelled(c) for c in calls]
        try:
            await comm.write({"op": "raylike_actor_calls", "calls": to_serialize(dumps(calls)),
                              "reply": True})
            while True:
                message = await comm.read()
                if "i" not in message:
                    if not message.get("done"):  # the handler failed: no resending
                        raise OSError(f"the actor's worker failed: {message.get('text')}")
                    break
                if message["answer"] is not None:
                    pending.discard(message["i"])
                    status, payload = message["answer"]
                    deliver(message["i"], (status, payload))
            _addresses[actor_id] = address
            client.rpc.reuse(address, comm)
        except OSError as exc:  # the worker died with the calls in flight: those with
            # retries left go again below (where the actor restarts), the others fail
            _addresses.pop(actor_id, None)
            comm.abort()
            for i in sorted(pending):
                again = retry_after_worker_death(calls[i])
                if again is None:
                    pending.discard(i)
                    deliver(i, ("err", _died_during(calls[i], exc)))
                else:
                    calls[i] = again
    # The rare fallback (actor moved, worker unreachable) routes the calls one after another:
    # sent all at once, each would hold a pooled connection until its turn, and once the pool
    # is exhausted an early call can wait behind later ones until the queue skips it as a gap.
    for i in sorted(pending):
        deliver(i, await route_from_client(client, calls[i]))


async def route(call: ActorCall, rpc: Any, scheduler: Any, hosts: dict[str, Any],
                here: str | None) -> tuple[str, Any]:
    """Hand ``call`` to its actor's host: one of ``hosts`` (this worker's), else over RPC to
    the worker the registry names (``rpc``: a connection pool; ``scheduler``: its RPC)."""
    for _ in range(200):
        host = hosts.get(call.actor_id)
        if host is not None:
            return await host.calls.submit(call)
        address = _addresses.get(call.actor_id)
        if address is None:
            reply = await scheduler.raylike_actor_where(actor_id=call.actor_id)
            if reply.get("dead") is not None:
                return "err", reply["dead"]
            address = reply["address"]
        if address == here:  # it left this worker a moment ago: ask again
            _addresses.pop(call.actor_id, None)
            await asyncio.sleep(0.01)
            continue
        try:  # Dask retries a refused connection for 30 s: a dead worker must not stall us
            comm = await rpc.connect(address, timeout=CONNECT_TIMEOUT)
        except OSError:  # its worker is gone: the registry will know where it restarts
            _addresses.pop(call.actor_id, None)
            await asyncio.sleep(0.1)
            continue
        try:
            reply = await send_recv(comm, op="raylike_actor_call",
                                    call=to_serialize(dumps(_unless_cancelled(call))))
        except OSError as exc:  # the worker died with the call in flight
            _addresses.pop(call.actor_id, None)
            again = retry_after_worker_death(call)
            if again is None:
                return "err", _died_during(call, exc)
            call = again  # sent again where the actor restarts (the registry knows)
            await asyncio.sleep(0.1)
            continue
        finally:
            rpc.reuse(address, comm)
        if reply["status"] == "moved":
            _addresses.pop(call.actor_id, None)
            await asyncio.sleep(0.01)
            continue
        _addresses[call.actor_id] = address
        return reply["status"], reply["payload"]
    return "err", dumps(RayActorError("The actor could not be found.", actor_id=call.actor_id))


def _cancelled_error(call: ActorCall) -> TaskCancelledError:
    """Ray's error of a cancelled call: it names the call's task id (``ref.task_id()``)."""
    return TaskCancelledError(_ids.task_id(call.key, call.actor_id, ""))


# keys of calls their caller (a driver) cancelled before they could be sent: the actor was
# not placed yet (``_direct.DirectCalls.cancel_unsent``)
cancelled_unsent: set[str] = set()
# keys of the latest calls sent through Dask's RPC (their answers may still be on the way, and
# the address of their actor unknown here until then): a cancel must let their host answer
sent_calls: collections.OrderedDict[str, None] = collections.OrderedDict()
SENT_KEPT = 10_000


def _unless_cancelled(call: ActorCall) -> ActorCall:
    """``call`` as it is sent: marked cancelled if its caller cancelled it meanwhile."""
    sent_calls[call.key] = None
    while len(sent_calls) > SENT_KEPT:
        sent_calls.popitem(last=False)
    if call.key in cancelled_unsent:
        cancelled_unsent.discard(call.key)
        return dataclasses.replace(call, cancelled=True)
    return call


def materialize(status: str, payload: Any) -> Any:
    """A Dask task that turns a direct call's answer into an ordinary object (``_direct``)."""
    value = loads(payload)
    if status == "ok":
        return value
    raise value


def _retried(entry: _Entry, payload: Any) -> bool:
    """Whether the error the call raised is retried (``retry_exceptions``, within its
    ``max_task_retries``); counts the attempt."""
    from raylike._dask.worker.node import _retryable

    call = entry.call
    if not call.retry_exceptions or not (call.max_task_retries < 0
                                         or entry.attempts < call.max_task_retries):
        return False
    try:
        error = loads(payload)
    except Exception:  # cannot tell what it raised: it stands
        return False
    if not isinstance(error, BaseException) or not _retryable(error, call.retry_exceptions):
        return False
    entry.attempts += 1
    return True


def answer_name(key: str) -> str:
    """The Dask ``Variable`` through which a driver hands over the answer of call ``key``."""
    return f"raylike-answer-{key}"


_ANSWER_POLL = 2.0  # seconds between checks that someone still wants the answer


def await_answer(name: str) -> Any:
    """A Dask task standing for a direct call's answer until the driver hands it over
    (``raylike._dask.client.direct``); it holds no thread slot, and stops when its key is
    released."""
    from distributed import Future, Variable, secede
    from distributed.worker import thread_state

    worker, key = get_worker(), thread_state.key
    secede()
    variable = Variable(name)
    while True:
        try:
            answer = variable.get(timeout=_ANSWER_POLL)
            break
        except TimeoutError:
            task = worker.state.tasks.get(key)
            if task is None or task.state not in ("executing", "long-running"):
                return None  # released (its driver left, its refs were dropped)
    variable.delete()
    status, payload = answer.result() if isinstance(answer, Future) else \
        pickle.loads(answer[1])
    return materialize(status, payload)


def _node_of(worker: Any) -> Any:
    from raylike._dask.worker.node import PLUGIN_NAME

    return worker.plugins[PLUGIN_NAME]


def install(worker: Any) -> None:
    """Register the RPC handlers of actor hosts on ``worker`` (once)."""
    if "raylike_actor_call" in worker.handlers:
        return

    async def raylike_actor_call(call: bytes) -> dict[str, Any]:
        actor_call = loads(call)
        host = _node_of(worker).actors.get(actor_call.actor_id)
        if host is None:
            return {"status": "moved"}
        status, payload = await host.calls.submit(actor_call)
        return {"status": status, "payload": to_serialize(payload)}

    async def raylike_actor_calls(comm: Any, calls: bytes) -> dict[str, Any]:
        """Several calls from one driver (``_direct``): each answer is written back on the
        connection as its call ends (``None`` where the actor left), then ``done``."""
        async def one(i: int, actor_call: ActorCall) -> tuple[int, tuple[str, Any] | None]:
            host = _node_of(worker).actors.get(actor_call.actor_id)
            return i, (None if host is None else await host.calls.submit(actor_call))

        for next_answer in asyncio.as_completed([one(i, c) for i, c in enumerate(loads(calls))]):
            i, answer = await next_answer
            await comm.write({"i": i, "answer": None if answer is None else
                              (answer[0], to_serialize(answer[1]))})
        return {"done": True}

    def raylike_actor_kill(actor_id: str, no_restart: bool, dead: bytes | None = None,
                           graceful: bool = False) -> bool:
        host = _node_of(worker).actors.get(actor_id)
        if host is not None:
            host.kill(no_restart, dead, graceful)
        return host is not None

    worker.handlers["raylike_actor_call"] = raylike_actor_call
    worker.handlers["raylike_actor_calls"] = raylike_actor_calls
    worker.handlers["raylike_actor_kill"] = raylike_actor_kill


def take_cancelled(node: Any, key: str) -> bool:
    """Whether ``ray.cancel`` named ``key`` on this worker (``_node.interrupt``); forgets it."""
    if key not in node.cancelled:
        return False
    with node.lock:
        node.cancelled.discard(key)
    return True


async def resolve(node: Any, keys: list[str]) -> list[Any]:
    """The values of the objects ``keys`` (a call's top-level refs)."""
    backend = node._backend
    if backend is None:  # the worker's client is made off the event loop
        backend = await asyncio.get_running_loop().run_in_executor(None, node.backend)
    refs = [backend.ref(k) for k in keys]
    if any(ref._direct is not None and ref._future is None for ref in refs):
        # a direct call's answer not yet a Dask object: promoting it waits, off the loop
        loop = asyncio.get_running_loop()
        futures = await loop.run_in_executor(None, lambda: [backend.future_of(r) for r in refs])
    else:
        futures = [backend.future_of(ref) for ref in refs]
    return list(await backend.client.gather(futures, asynchronous=True))
