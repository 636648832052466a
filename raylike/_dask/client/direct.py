"""Actor calls from the driver, sent straight to the actor's worker.

An actor call made as a Dask task costs a full scheduler round trip (≈7 ms here). From the
driver, raylike instead sends the call over RPC to the worker that hosts the actor (the same
``raylike_actor_call`` handler that workers use to forward calls) and keeps the answer in the
returned ``ObjectRef`` (``ref._direct``): ``get``/``wait`` in the driver read it there.

Such a ref has no Dask key yet. The first time it leaves the driver's hands (pickled into a
task's arguments, a ``put``, another call) or becomes a task's dependency, it is *promoted*: a
tiny Dask task with the ref's key turns the answer into an ordinary object (or error), so every
other process sees a plain ref. Consumers that asked for the key before it existed wait for it
(``RefsPlugin`` keeps their interest). A promoted key is also held here for a grace period, so
the driver dropping its ref right after pickling it cannot free it before a consumer has asked.
"""
from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import functools
import logging
import pickle
import threading
import time
import weakref
from typing import Any

from raylike._api import error_pubsub as _error_pubsub
from raylike._api.objects import ObjectRef
from raylike._api.ref_counts import ArgsHeld
from raylike._api.serialization import dumps, dumps_error, loads, payload_size
from raylike._dask.client import local_objects as _local_objects
from raylike._dask.client.callbacks import when_done
from raylike._transport import lane as _lane
from raylike._transport.lane import Lane
from raylike.exceptions import RaySystemError, TaskCancelledError

logger = logging.getLogger("raylike.direct")
# seconds a promoted key stays held by its promoter after promotion (then only its refs, the
# tasks and calls given it, and the objects that captured it hold it, as for any other key)
GRACE = 5.0
_LARGE = 1 << 20  # answers bigger than this are scattered, not put in the Dask graph
EXCESS_QUEUEING_START = 5000  # Ray's actor_excess_queueing_warn_threshold


class DirectResult:
    """The answer of one direct call (``status, payload``), and how to promote its ref."""

    __slots__ = ("future", "owner", "stage")

    def __init__(self, future: concurrent.futures.Future[Any], owner: DirectCalls) -> None:
        self.future = future
        self.owner = owner
        # where the call or task is until answered, in Ray's words (the memory report):
        # a leased task may wait here for its arguments or for a lease
        self.stage = "SUBMITTED_TO_WORKER"

    def value(self, timeout: float | None = None) -> Any:
        status, payload = self.answer(timeout)
        value = loads(payload)
        if status == "ok":
            return value
        raise value

    def answer(self, timeout: float | None = None) -> tuple[str, Any]:
        try:
            result: tuple[str, Any] = self.future.result(timeout)
        except concurrent.futures.TimeoutError:
            raise
        except Exception as exc:  # the driver's connection went away mid-call
            raise RaySystemError(f"The actor call could not be completed: {exc}") from exc
        return result

    def usable(self, ref: ObjectRef[Any]) -> bool:
        """Whether a ``get`` of ``ref`` may read this answer (see ``small_puts.KeptCopy``)."""
        return True

    def promote(self, ref: ObjectRef[Any], block: bool) -> Any:
        """Give ``ref`` a Dask key: now (``block``: waits for the answer) or once answered."""
        if block:
            return self.owner.materialize(ref)
        with self.owner._lock:  # until it has a key, this process finds the ref by its key
            self.owner._by_key.setdefault(ref._key, ref)  # (and holds it until then)
        # weakly: a done future keeps its callbacks, and ref -> this -> future -> callback
        # -> ref would be a cycle holding the object until the next full garbage collection
        self.future.add_done_callback(functools.partial(_promote_later, weakref.ref(ref)))
        return None


def _promote_later(ref: weakref.ref[ObjectRef[Any]], _answer: Any) -> None:
    live = ref()
    if live is not None and live._direct is not None:
        live._direct.owner.promote_later(live)


class DirectCalls:
    """Direct actor calls through one Dask client: a driver's, or a worker's on behalf of its
    task processes (``eager``: the worker finds each answer by key, :meth:`find`, while the
    process holds its ref, and promotes it when the process lets the ref out,
    :meth:`promote_keys`)."""

    def __init__(self, client: Any, eager: bool = False, worker: Any = None) -> None:
        self.client = client
        self.eager = eager
        self.worker = worker  # eager: the worker whose client this is (answers are kept there)
        # refs being promoted, by key (those whose key left the process): a key unpickled
        # here must give that ref, not a Dask future made before the key is submitted (Dask's
        # submit then finds the key known, and skips it)
        self._by_key: dict[str, ObjectRef[Any]] = {}
        # every direct ref not dropped, by key: ``ray.ObjectRef(ref.binary())`` names one
        # again; a worker's (eager) also finds there the refs its task processes hold (their
        # scopes hold them) when a process asks for one (``find``)
        self._live: weakref.WeakValueDictionary[str, ObjectRef[Any]] = \
            weakref.WeakValueDictionary()
        self._promote_lock = threading.Lock()
        self.promoter = concurrent.futures.ThreadPoolExecutor(1, "raylike-promote")
        self._lock = threading.Lock()
        self._grace: collections.deque[tuple[float, Any]] = collections.deque()
        self._grace_lock = threading.Lock()  # only around the deque: never held while waiting
        self._outbox: dict[str, list[tuple[Any, concurrent.futures.Future[Any]]]] = {}
        self._lanes: dict[str, Lane | None] = {}  # worker address -> lane (None: none yet)
        self._unanswered: dict[str, int] = {}  # actor id -> its calls sent and not answered
        self._warn_at = EXCESS_QUEUEING_START  # Ray's warning of many queued calls (doubles)
        self._here: Any = None  # a worker's: calls to the actors it hosts skip the lane
        if worker is not None:
            from raylike._dask.worker.calls_here import CallsHere

            self._here = CallsHere(worker)

    @property
    def here(self) -> Any:
        """A worker's ``CallsHere`` (its processes' calls to the actors it hosts), else None."""
        return self._here

    def call(self, call: Any, keep: list[Any]) -> ObjectRef[Any]:
        """Send ``call``; its ref holds the answer. ``keep`` lives until the call ends.

        Calls to one actor made while the previous message to it is being prepared travel
        together in one message (one RPC for a burst of pipelined calls)."""
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        here = self._here
        if here is not None and here.hosts(call.actor_id):  # this worker's own actor
            here.send(call, future)
        elif (lane := self._lane(call.actor_id)) is None or not lane.send([(call, future)]):
            with self._lock:
                box = self._outbox.setdefault(call.actor_id, [])
                box.append((call, future))
                first = len(box) == 1
            if first:
                self._on_loop(self._flush(call.actor_id))
        if keep:  # the arguments' refs and the actor's reservation live until the answer
            future.add_done_callback(ArgsHeld(keep, [*call.dep_keys, *call.nested_keys]))
        self._count(call.actor_id, future)
        ref: ObjectRef[Any] = ObjectRef(call.key)
        ref._direct = DirectResult(future, self)
        self._live[call.key] = ref  # eager: promoted only when its key leaves the task
        # process that made the call (``promote_keys``)
        return ref

    def _count(self, actor_id: str, future: concurrent.futures.Future[Any]) -> None:
        """Count a call until it is answered; publish Ray's warning when one actor has 5,000
        unanswered calls from this process (then 10,000, 20,000, ...)."""
        with self._lock:
            pending = self._unanswered[actor_id] = self._unanswered.get(actor_id, 0) + 1
            threshold = self._warn_at if pending >= self._warn_at else 0
            if threshold:
                self._warn_at *= 2
        future.add_done_callback(functools.partial(self._answered, actor_id))
        if threshold:
            threading.Thread(target=self._warn_queueing, args=(actor_id, threshold),
                             daemon=True, name="raylike-warn").start()

    def _answered(self, actor_id: str, _: Any) -> None:
        with self._lock:
            left = self._unanswered.get(actor_id, 0) - 1
            if left > 0:
                self._unanswered[actor_id] = left
            else:
                self._unanswered.pop(actor_id, None)

    def _warn_queueing(self, actor_id: str, threshold: int) -> None:
        from raylike._api import runtime as _runtime

        runtime = _runtime.driver()
        _error_pubsub.publish(
            self.client, "excess_queueing_warning",
            f"Warning: More than {threshold} tasks are pending submission to actor "
            f"{actor_id}. To reduce memory usage, wait for these tasks to finish before "
            "sending more.", runtime.job_id if runtime is not None else "")

    def cancel_unsent(self, ref: ObjectRef[Any]) -> bool:
        """``ray.cancel`` of a call of this driver that cannot have reached its actor: the
        actor was never located from here (not placed yet, say), so no host holds the call
        to cancel it. Its ref raises ``TaskCancelledError`` now; when the call is sent later
        it is marked cancelled and only keeps its turn. False if it may have been sent."""
        from raylike._dask.worker import actor_calls as _actor_calls

        direct = ref._direct
        actor_id = ref._actor_call
        if direct is None or not isinstance(actor_id, str) or \
                _actor_calls._addresses.get(actor_id) is not None or \
                ref._key in _actor_calls.sent_calls:  # sent: its host answers the cancel
            return False
        _actor_calls.cancelled_unsent.add(ref._key)
        try:
            direct.future.set_result(("err", dumps(TaskCancelledError(ref.task_id().hex()))))
        except concurrent.futures.InvalidStateError:
            pass  # answered meanwhile
        return True

    def remember(self, ref: ObjectRef[Any]) -> None:
        """Note a direct ref (see :meth:`twin`)."""
        self._live[ref._key] = ref

    def twin(self, key: str) -> ObjectRef[Any] | None:
        """The live direct ref of ``key`` made here, if any."""
        return self._live.get(key)

    def find(self, key: str) -> ObjectRef[Any] | None:
        """The ref of a direct call made here whose key Dask does not know yet."""
        ref = self._by_key.get(key)
        if ref is None and self.eager:
            ref = self._live.get(key)
        return ref

    def promote_keys(self, keys: list[str]) -> None:
        """A worker's: these refs leave the task process that made the calls (pickled), so
        each becomes an ordinary Dask object once answered. Until then its answer stays here,
        with no scheduler message per call (Ray's owner keeps small answers too)."""
        for key in keys:
            ref = self._live.get(key)
            if ref is not None and ref._direct is not None and ref._future is None:
                ref._direct.promote(ref, block=False)

    def _on_loop(self, coro: Any) -> None:
        asyncio.run_coroutine_threadsafe(coro, self.client.loop.asyncio_loop)

    def _lane(self, actor_id: str) -> Lane | None:
        """The open lane to the worker hosting ``actor_id`` (one is opened the first time that
        worker is seen); ``None`` while there is none: the call goes through Dask."""
        from raylike._dask.worker.actor_calls import _addresses

        address = _addresses.get(actor_id)
        if address is None:
            return None
        lane = self._lanes.get(address)
        if address not in self._lanes or (lane is not None and lane.closed):
            self.open_lanes([address])  # a worker seen for the first time, or a lane that broke
            return None
        return lane

    def open_lanes(self, addresses: list[str]) -> None:
        """Open lanes to these workers now (those on another host will have none); forget
        the lanes of workers that went away."""
        for address, lane in list(self._lanes.items()):
            if lane is not None and lane.closed:
                self._lanes.pop(address, None)
        for address in addresses:
            if address not in self._lanes and _lane.enabled():
                self._lanes[address] = None
                self._on_loop(self._open_lane(address))

    def local_lanes(self) -> list[Lane]:
        """The open lanes: to the workers on this host."""
        return [lane for lane in list(self._lanes.values())
                if lane is not None and not lane.closed]

    async def _open_lane(self, address: str) -> None:
        try:
            info = await self.client.rpc(address).raylike_lane()
            if info:
                self._lanes[address] = await asyncio.get_running_loop().run_in_executor(
                    None, Lane, info["path"], info["token"], address, self._moved)
        except Exception:  # another host, or an older worker: Dask's RPC it is
            logger.debug("no lane to %s", address, exc_info=True)

    def _moved(self, call: Any, future: concurrent.futures.Future[Any]) -> None:
        """A call the lane's worker no longer hosts the actor of: route it through Dask."""
        from raylike._dask.worker import actor_calls as _actor_calls

        async def reroute() -> None:
            try:
                future.set_result(await _actor_calls.route_from_client(self.client, call))
            except Exception as exc:
                future.set_result(("err", dumps_error(RaySystemError(
                    f"The actor call could not be sent: {exc}"))))
        self._on_loop(reroute())

    async def _flush(self, actor_id: str) -> None:
        from raylike._dask.worker import actor_calls as _actor_calls

        with self._lock:
            batch = self._outbox.pop(actor_id, [])
        if not batch:
            return
        calls = [call for call, _ in batch]

        def deliver(i: int, answer: tuple[str, Any]) -> None:
            if not batch[i][1].done():
                batch[i][1].set_result(answer)

        try:
            if len(calls) == 1:
                deliver(0, await _actor_calls.route_from_client(self.client, calls[0]))
            else:
                await _actor_calls.route_batch_from_client(self.client, calls, deliver)
        except Exception as exc:  # the connection to the cluster failed
            error = dumps_error(RaySystemError(f"The actor call could not be sent: {exc}"))
            for i in range(len(batch)):
                deliver(i, ("err", error))
        self._lane(actor_id)  # the actor's worker is known now: open a lane to it

    def promote_later(self, ref: ObjectRef[Any]) -> None:
        """Materialize ``ref`` on the promoter thread (nothing once this process shuts down:
        no one is left to read it)."""
        try:
            self.promoter.submit(self.materialize, ref)
        except RuntimeError:  # "cannot schedule new futures after shutdown"
            logger.debug("not promoting %s: shutting down", ref._key)

    def materialize(self, ref: ObjectRef[Any]) -> Any:
        """The Dask future of ``ref``'s key, made from the call's answer (waits for it)."""
        from raylike._dask.worker import actor_calls as _actor_calls

        direct = ref._direct
        assert direct is not None
        try:
            status, payload = direct.answer()
        except Exception as exc:  # the error becomes the object's
            status, payload = "err", dumps_error(exc)
        # not self._lock: the event loop takes that one (``_flush``), and keeping the answer
        # here needs the loop (``keep_here``); the loop never promotes (``_actor_calls.resolve``)
        with self._promote_lock:
            # a key already (a leased task that took Dask's path meanwhile): only forget it
            # below, or ``_by_key`` would hold the ref, and so its object, for ever
            fut = ref._future
            if fut is None:
                if status == "ok" and self.worker is not None:  # kept here: no Dask task
                    fut = _local_objects.keep_here(self.worker, self.client, ref._key,
                                                   loads(payload))
                else:
                    if payload_size(payload) > _LARGE:
                        [payload] = self.client.scatter([payload], hash=False)
                    fut = self.client.submit(_actor_calls.materialize, status, payload,
                                             key=ref._key, pure=False, retries=0)
                ref._future = fut
                self._hold(fut)
        if self.eager:
            when_done(fut, lambda _f: self._by_key.pop(ref._key, None))
        else:  # a driver's ref whose key left the process: Dask has the key now
            with self._lock:
                self._by_key.pop(ref._key, None)
        return fut

    def placeholder(self, ref: ObjectRef[Any]) -> Any:
        """The Dask future of ``ref``'s key at once, answered or not: a task may depend on a
        call that has not ended (Ray queues it until then; waiting here, before it is even
        submitted, deadlocks a driver that ends that call later). Until the answer is in, a
        Dask task with the key waits for it
        (:func:`raylike._dask.worker.actor_calls.await_answer`)."""
        from raylike._dask.worker import actor_calls as _actor_calls

        direct = ref._direct
        assert direct is not None
        with self._promote_lock:  # a key already: only forgotten below (see ``materialize``)
            if ref._future is None and not direct.future.done():
                name = _actor_calls.answer_name(ref._key)
                fut = self.client.submit(_actor_calls.await_answer, name, key=ref._key,
                                         pure=False, retries=0)
                ref._future = fut
                self._hold(fut)
                direct.future.add_done_callback(
                    lambda _f: self.promoter.submit(self._deliver, name, direct))
        if ref._future is None:  # answered meanwhile: the usual promotion
            return self.materialize(ref)
        if self.eager:
            when_done(ref._future, lambda _f: self._by_key.pop(ref._key, None))
        else:
            with self._lock:
                self._by_key.pop(ref._key, None)
        return ref._future

    def _deliver(self, name: str, direct: DirectResult) -> None:
        """Hand a call's answer to the task of :meth:`placeholder` waiting for it."""
        from distributed import Variable

        try:
            status, payload = direct.answer()
        except Exception as exc:  # the error becomes the object's
            status, payload = "err", dumps_error(exc)
        try:
            variable = Variable(name, client=self.client)
            if payload_size(payload) > _LARGE:  # a Variable holds a future only at its top
                [answer] = self.client.scatter([(status, payload)], hash=False)
                variable.set(answer)
            else:  # a Frames travels pickled: Dask's messages carry bytes
                variable.set(("pickled", pickle.dumps((status, payload), protocol=5)))
        except Exception:  # the client closed: nobody is left to read the object
            logger.debug("could not deliver the answer %s", name, exc_info=True)

    def _hold(self, fut: Any) -> None:
        """Hold ``fut`` for :data:`GRACE` seconds: a consumer of the pickled ref asks for its
        key in that time. Held futures are let go on the client's event loop once expired,
        whether or not anything is promoted later."""
        with self._grace_lock:
            first = not self._grace
            self._grace.append((time.monotonic() + GRACE, fut))
        if first:
            self._on_loop_later(GRACE)

    def _on_loop_later(self, delay: float) -> None:
        try:
            self.client.loop.asyncio_loop.call_soon_threadsafe(
                lambda: asyncio.get_running_loop().call_later(delay, self._let_go))
        except RuntimeError:  # the loop is closed: the client and its futures are going
            pass

    def _let_go(self) -> None:
        """On the event loop: drop the expired holds; come back for the next one."""
        now = time.monotonic()
        with self._grace_lock:
            while self._grace and self._grace[0][0] <= now:
                self._grace.popleft()
            left = self._grace[0][0] - now if self._grace else None
        if left is not None:
            asyncio.get_running_loop().call_later(max(left, 0.01), self._let_go)

    def close(self) -> None:
        self.promoter.shutdown(wait=False, cancel_futures=True)
        for lane in list(self._lanes.values()):
            if lane is not None:
                lane.close()
        self._lanes.clear()
        with self._grace_lock:
            self._grace.clear()

