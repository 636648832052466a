"""The Dask boundary: everything raylike asks of a ``distributed.Client`` goes through here.

No Dask future or exception leaves this module: refs carry their futures privately, and errors
pass through ``raylike._dask.errors``.
"""
from __future__ import annotations

import collections
import concurrent.futures
import functools
import logging
import threading
import time
import weakref
from typing import Any, TypeVar

from distributed import Client, Future

from raylike._api import config as _config
from raylike._api import scheduling as _scheduling
from raylike._api.objects import ObjectRef
from raylike._api.ref_counts import ArgsHeld, hold_until_done
from raylike._api.serialization import Whole, as_read, unpicklable_part
from raylike._dask import errors as _errors
from raylike._dask import internals
from raylike._dask.client import interop as _interop
from raylike._dask.client import local_objects as _objects_lane
from raylike._dask.client import submissions as _submissions
from raylike._dask.client.callbacks import when_done
from raylike._dask.client.direct import DirectCalls
from raylike._dask.client.leases import TaskLeases
from raylike._dask.client.puts import PutsInFlight
from raylike._dask.client.waiting import (
    DONE,
    NEVER,
    StreamReady,
    blamed,
    fresh,
    passed_on,
    wait_done,
    worker_values,
)
from raylike.exceptions import (
    RayError,
    RayTaskError,
    TaskUnschedulableError,
)

logger = logging.getLogger("raylike")
_E = TypeVar("_E", bound=BaseException)
SCATTER_ATTEMPTS = 5  # a put that meets a dead worker tries again (0.2 s, 0.4 s, ... apart)
STREAM_SLICE = 5.0  # seconds one ask for a generator's next item waits on the scheduler
STREAM_GONE_LIMIT = 30.0  # seconds a generator's task may stay unknown to the scheduler
LANES_LOOK_INTERVAL = 5.0  # seconds between two looks for workers a driver has no lane to
CANCELLED_KEPT = 10_000  # keys this client cancelled that it remembers (``_future``)


class DaskBackend:
    """Tasks and objects through one Dask client (the driver's, or a worker's)."""

    def __init__(self, client: Client, job_id: str = "", direct: bool = False,
                 in_worker: Any = None) -> None:
        """``direct``: actor calls skip Dask's task path (``_direct``); a driver's objects
        also take the lanes to workers on its host. ``in_worker``: the backend of a worker,
        calling on behalf of its task processes (the Dask worker)."""
        self.client = client
        self.job_id = job_id
        self.worker = in_worker
        self._lock = threading.Lock()
        self._kept: dict[str, list[ObjectRef[Any]]] = {}  # ``submit_raw``'s, by task key
        self.direct: DirectCalls | None = (
            DirectCalls(client, eager=in_worker is not None, worker=in_worker) if direct
            else None)
        # plain tasks go to leased slots (``leases``): a driver's to the nodes on its host, a
        # worker's (those its task and actor processes submit) to its own node
        self.leases: TaskLeases | None = None
        if self.direct is not None and _config.flag("direct_tasks"):
            self.leases = TaskLeases(client, self.direct, self._submit_dask, self._dep_future,
                                     self._future, **_lease_options(in_worker))
        self._lanes_looked = -LANES_LOOK_INTERVAL  # when the workers were last looked at
        self.puts = PutsInFlight(client)  # a driver's puts not yet answered by their worker
        self._local_lanes()  # opened in the background: ready by the first put, usually
        self.address = str(client.scheduler.address)
        self._batch = _submissions.Batch(client, self._fire_and_forget_keys)
        # keys this client cancelled: Dask forgets them, so a ref made of one later (a task's
        # process reading a ref it was given) is a cancelled future, not one waiting for ever
        self._cancelled: collections.OrderedDict[str, None] = collections.OrderedDict()

    def flush(self) -> None:
        """Send the tasks waiting in the batch (``_submissions``): everything this backend
        sends or asks of the scheduler goes after the tasks submitted before it."""
        self._batch.flush()

    def _dask_errors(self, what: str = "") -> Any:
        """Dask's exceptions in the block as raylike's; none of it runs when the connection
        to the scheduler is lost (Dask would wait for it, or fail obscurely)."""
        self.check_connected()
        self.flush()
        return _errors.dask_errors(what, self.address)

    def check_connected(self) -> None:
        """Raise ``RaySystemError`` naming the scheduler if this client lost it."""
        status = self.client.status
        if status in ("connecting", "closing", "closed"):
            raise _errors.connection_lost(self.address, f"the Dask client is {status}")

    def _fire_and_forget(self, fut: Future) -> None:
        """Run ``fut``'s task to its end even if no ref to it is left (``RefsPlugin``)."""
        self._fire_and_forget_keys([str(fut.key)])

    def _fire_and_forget_keys(self, keys: list[str]) -> None:
        internals.send_to_scheduler(self.client, {"op": "raylike-fire-and-forget", "keys": keys})

    # -- refs ---------------------------------------------------------------------------------
    def ref(self, key: str) -> ObjectRef[Any]:
        """A ref that keeps ``key``'s object alive while it exists in this process."""
        if self.direct is not None:
            ref = self.direct.find(key)  # a direct call's ref, not a Dask key yet
            if ref is not None:
                return ref
        return ObjectRef(key, self._future(key))

    def _future(self, key: str) -> Future:
        with self._lock:
            known = internals.holds_key(self.client, key)
            fut: Future = Future(key, self.client)
            cancelled = not known and key in self._cancelled
        loop = self.client.loop
        if cancelled and loop is not None:
            loop.add_callback(internals.cancel_future, self.client, key)
            return fut
        if not known:
            self.flush()
            internals.send_to_scheduler(self.client, {"op": "raylike-desire", "keys": [key]})
        return fut

    def _twin(self, ref: ObjectRef[Any]) -> None:
        """A ref made again from a direct one's id (``ray.ObjectRef(ref.binary())``) shares
        its answer."""
        if ref._future is None and ref._direct is None and self.direct is not None:
            twin = self.direct.twin(ref._key)
            if twin is not None:
                ref._direct = twin._direct

    def future_of(self, ref: ObjectRef[Any]) -> Future:
        self._check_session(ref)
        self._twin(ref)
        fut = ref._future
        if fut is None and ref._direct is not None:
            return ref._direct.promote(ref, block=True)
        self.puts.settle(ref._key)  # a put in flight: the scheduler hears of it first
        if fut is None or fut.client is not self.client:
            fut = self._future(ref._key)
        return fut

    def _dep_future(self, ref: ObjectRef[Any]) -> Future:
        """``future_of`` for a task's argument: a direct call's ref need not be answered yet
        (``DirectCalls.placeholder``)."""
        direct, calls = ref._direct, self.direct
        if ref._future is None and direct is not None and calls is not None \
                and direct.owner is calls:
            return calls.placeholder(ref)
        return self.future_of(ref)

    def _stale(self, ref: ObjectRef[Any]) -> bool:
        """Whether ``ref`` was made before ``shutdown`` (its client is closed): no cluster of
        this session ever hears of its key, so waiting for it would never end."""
        direct, fut = ref._direct, ref._future
        return (direct is not None and direct.owner is not self.direct) or (
            fut is not None and fut.client is not self.client
            and fut.client.status in ("closing", "closed"))

    def _check_session(self, ref: ObjectRef[Any]) -> None:
        """Raise as Ray for a ref of an earlier session (see :meth:`_stale`)."""
        if self._stale(ref):
            raise ValueError(
                f"You are trying to access Ray object whose owner is unknown({ref!r}). Please "
                "make sure that all Ray objects you are trying to access are part of the "
                "current Ray session: this one was made before ray.shutdown().")

    def _waitable(self, ref: ObjectRef[Any]) -> Any:
        """What to wait on for ``ref``: a direct call's answer, or its Dask future."""
        self._check_session(ref)
        self._twin(ref)
        direct = ref._direct
        if direct is not None and (ref._future is None or direct.future.done()) \
                and direct.usable(ref):
            return direct.future  # the answer is here: no need to wait for its Dask key
        return self.future_of(ref)

    # -- objects ------------------------------------------------------------------------------
    def _local_lanes(self) -> list[Any]:
        """The driver's lanes to workers on its host (``raylike._transport.lane``). Workers that
        joined
        since the last look (a replaced worker, say) get one too, looked for every few
        seconds at most."""
        if self.direct is None or self.direct.eager:
            return []
        now = time.monotonic()
        if now >= self._lanes_looked + LANES_LOOK_INTERVAL:
            self._lanes_looked = now
            self.direct.open_lanes(list(self.client.scheduler_info().get("workers", {})))
        return self.direct.local_lanes()

    def argument_ref(self, value: Any) -> ObjectRef[Any] | None:
        return _interop.as_argument_ref(value)

    def put(self, value: Any) -> ObjectRef[Any]:
        lanes = self._local_lanes()
        if lanes:  # a worker on this host: through shared memory (``raylike._transport.lane``)
            self.check_connected()
            ref = _objects_lane.put(self.puts, lanes[0], value, self.direct)
            if ref is not None:
                return ref
        with self._dask_errors("put"):
            [fut] = self._scatter(value)
        return ObjectRef(str(fut.key), fut)

    def _scatter(self, value: Any) -> list[Future]:
        """Dask's ``scatter``, tried again while the scheduler still lists a worker that just
        died (its connection breaks; the scheduler drops it within a second)."""
        from raylike._api.tasks import new_key

        key = new_key(type(value).__name__)
        whole = Whole(value, "put value")  # one pickle: objects met twice in it stay one
        for attempt in range(SCATTER_ATTEMPTS):
            try:
                return list(self.client.scatter({key: whole}, hash=False).values())
            except TypeError as exc:  # Dask's message names the type, not the value
                raise unpicklable_part([("put value", value)], exc) from exc
            except OSError:  # CommClosedError is one
                if attempt + 1 == SCATTER_ATTEMPTS or self.client.status != "running":
                    raise
                time.sleep(0.2 * (attempt + 1))
        raise AssertionError("unreachable")

    def get(self, refs: list[ObjectRef[Any]], timeout: float | None) -> list[Any]:
        self.flush()
        waitables = [self._waitable(r) for r in refs]
        deadline = None if timeout is None else time.monotonic() + timeout
        here = self._held_now(waitables) if timeout is not None else {}
        if timeout is not None:
            self._wait_all([f for i, f in enumerate(waitables) if i not in here], timeout)
        dask = [(i, f) for i, f in enumerate(waitables) if isinstance(f, Future) and i not in here]
        values: list[Any] = [None] * len(refs)
        for i, value in here.items():
            values[i] = value
        lanes = self._local_lanes() if dask else []
        if lanes and timeout is None:  # results of tasks running on this host, when made
            early = _objects_lane.watch(lanes, [(f, refs[i]._watchable) for i, f in dask])
            for (i, _), value in zip(dask, early):
                values[i] = value
                refs[i]._delivered = value is not _objects_lane.ABSENT
            dask = [(i, f) for (i, f), value in zip(dask, early) if value is _objects_lane.ABSENT]
        if lanes and dask:  # objects held on this host come through shared memory
            wait_done([f for _, f in dask], len(dask), None)
            got = _objects_lane.get(lanes, [f for _, f in dask])
            for (i, _), value in zip(dask, got):
                values[i] = value
            dask = [(i, f) for (i, f), value in zip(dask, got) if value is _objects_lane.ABSENT]
        if dask and self.worker is not None:  # objects this worker holds: no comm at all
            dask = self._read_held(dask, values)
        if dask:
            try:
                with self._dask_errors():  # (a lost object is made again meanwhile)
                    gathered = internals.gather_within(
                        self.client, [f for _, f in dask],
                        None if deadline is None else deadline - time.monotonic())
            except RayTaskError as err:
                # the Dask frames it carries (the gather, the worker's) are no use to the user
                err.__traceback__ = None
                raise fresh(blamed(err, [(refs[i], f) for i, f in dask])) from None
            except RayError as err:  # a worker's own error (runtime_env setup, a crash, ...)
                err.__traceback__ = None
                passed = passed_on(err, [(refs[i], f) for i, f in dask])
                if passed is not err:
                    raise fresh(passed) from None
                raise fresh(err)  # noqa: B904 - its cause stays as it was
            for (i, _), value in zip(dask, gathered):
                values[i] = as_read(value)  # numpy arrays read-only, as from Ray's store
        answers = [w for w in waitables if not isinstance(w, Future) and not w.done()]
        if len(answers) > 1:  # one wake-up for the last answer, not one per answer
            concurrent.futures.wait(answers)
        for i, ref in enumerate(refs):
            if not isinstance(waitables[i], Future):
                values[i] = ref._direct.value()
        return values

    def _held_now(self, waitables: list[Any]) -> dict[int, Any]:
        """The objects among ``waitables`` this worker holds already, by position: a ``get``
        with a timeout returns them even while their futures, just made, wait for the
        scheduler's word (a task's ``get(ref, timeout=0.001)`` of a local object timed out)."""
        if self.worker is None:
            return {}
        found = [(i, str(f.key)) for i, f in enumerate(waitables) if isinstance(f, Future)]
        if not found:
            return {}
        held = worker_values(self.worker, [key for _, key in found])
        return {i: value for (i, _), (ok, value) in zip(found, held) if ok}

    def _read_held(self, dask: list[tuple[int, Future]], values: list[Any]
                   ) -> list[tuple[int, Future]]:
        """Fill ``values`` with the objects among ``dask`` that this worker holds, read from
        its memory; the rest, to gather. Gathering them would send each through a connection
        from the worker to itself, and Dask serializes a list or dict sent that way element by
        element (minutes for a list of millions of numbers, where pickling it whole takes
        a fraction of a second)."""
        wait_done([f for _, f in dask], len(dask), None)
        held = worker_values(self.worker, [str(f.key) if f.status == "finished" else None
                                           for _, f in dask])
        rest = []
        for (i, fut), (found, value) in zip(dask, held):
            if found:
                values[i] = value
            else:
                rest.append((i, fut))
        return rest

    def _wait_all(self, futures: list[Future], timeout: float) -> None:
        if not wait_done(futures, len(futures), timeout):
            from raylike.exceptions import GetTimeoutError

            raise GetTimeoutError(f"Get timed out: some object(s) not ready after {timeout} s.")

    def wait(self, refs: list[Any], num_returns: int, timeout: float | None) -> list[Any]:
        """The ``refs`` (and generators' ``StreamPosition``s) done once ``num_returns`` of
        them are, or ``timeout`` passed."""
        from raylike._api.generators import StreamPosition

        # as Ray: refs of an earlier session never become ready, and waiting on those alone
        # is an error; so is a wait that only they could complete (it would never end)
        stale = {i for i, r in enumerate(refs) if isinstance(r, ObjectRef) and self._stale(r)}
        if stale and (len(stale) == len(refs)
                      or timeout is None and num_returns > len(refs) - len(stale)):
            self._check_session(refs[min(stale)])
        self.flush()
        futures = [NEVER if i in stale else StreamReady(self, r)
                   if isinstance(r, StreamPosition) else
                   DONE if r._delivered else self._waitable(r) for i, r in enumerate(refs)]
        try:
            wait_done(futures, num_returns, timeout)
        finally:
            for fut in futures:
                if isinstance(fut, StreamReady):
                    fut.close()
        self.check_connected()  # futures Dask cancelled on losing the scheduler are "done"
        return [r for r, f in zip(refs, futures) if f.done()]

    # -- streaming generators (``raylike._api.generators``, ``raylike._dask.scheduler.stream_registr
    def stream_next(self, gen_ref: ObjectRef[Any], index: int,
                    timeout: float | None) -> tuple[str, Any]:
        """Wait at most ``timeout`` for item ``index`` of generator task ``gen_ref``; takes
        nothing (:meth:`stream_take` does): ``("item", keys)`` (its key and those of the items
        after it made so far), ``("error", pickled error)``, ``("end", None)`` (no more
        items), ``("failed", None)`` (the task failed: its own ref raises why) or
        ``("timeout", None)``."""
        key = gen_ref._key
        fut = self.future_of(gen_ref)
        deadline = None if timeout is None else time.monotonic() + timeout
        pause, gone = 0.005, 0.0
        while True:
            left = STREAM_SLICE if deadline is None else deadline - time.monotonic()
            # Looked at before asking: the ask (an RPC) can overtake the task's submission
            # (batched), so "gone" may mean "not there yet" even if the task has run and
            # ended by the time the answer comes; only a task that had ended before the ask
            # was sent is really gone.
            ended = fut.done()
            answer = self.scheduler_call("raylike_stream_next", key=key, index=index,
                                         timeout=max(0.0, min(left, STREAM_SLICE)))
            status = answer["status"]
            if status == "gone":  # not known to the scheduler: not yet there, or cancelled
                if ended or gone > STREAM_GONE_LIMIT:
                    return ("end" if fut.status == "finished" else "failed"), None
                time.sleep(min(pause, max(0.0, left)))
                gone, pause = gone + pause, min(pause * 2, 0.1)
            elif status == "end":
                return ("failed" if answer["failed"] else "end"), None
            elif status != "timeout":
                return status, answer["keys"] if status == "item" else answer["error"]
            if deadline is not None and time.monotonic() >= deadline:
                return "timeout", None

    def stream_take(self, key: str, index: int, item: str | bytes) -> ObjectRef[Any]:
        """A ref to item ``index`` of generator task ``key``: ``item`` is its Dask key, or
        the generator's pickled error (the ref is then a tiny task that raises it)."""
        from raylike._dask.worker import streams as _streams

        self.flush()
        if isinstance(item, str):
            ref = self.ref(item)  # our wish for the key goes first on the stream...
        else:
            ref = self.submit_raw(_streams.raise_error, item,
                                  key=_streams.item_key(key, index), resources=None)
        # ... so the scheduler stops holding the item only once we hold it
        internals.send_to_scheduler(self.client, {"op": "raylike-stream-taken", "key": key,
                                                  "index": index})
        return ref

    def stream_drop(self, key: str) -> None:
        """The generator of task ``key`` was dropped: what it did not hand out is freed."""
        self.flush()
        loop = self.client.loop
        if self.client.status == "running" and loop is not None:
            loop.add_callback(internals.send_to_scheduler, self.client,
                              {"op": "raylike-stream-drop", "key": key})

    def cancel(self, ref: ObjectRef[Any], force: bool, recursive: bool) -> None:
        from raylike._dask.worker import node as _node

        task_key = _node.task_key_of(ref._key)
        if ref._delivered or self._waitable(ref).done():
            # Ray: cancelling a finished task does nothing, but it is not run again to
            # rebuild its lost result (``lineage``)
            if ref._future is not None and not ref._actor_call:
                internals.send_to_scheduler(self.client, {"op": "raylike-lineage-cancelled",
                                                          "key": task_key})
            return
        with self._dask_errors("cancel"):
            interrupted = self.client.run(_node.interrupt, task_key, force, recursive)
            # a leased task that took Dask's path after all: cancelled there
            fell_back = self.leases is not None and self.leases.on_dask_path(ref)
            if ref._direct is not None and not fell_back:  # a direct call or leased task: its
                # node stops it if it has not started; its key, once answered, holds that answer
                if ref._future is None and self.leases is not None and \
                        self.leases.cancel_queued(ref):
                    return  # a task not pushed to a lease yet: cancelled here
                if ref._future is None and self.direct is not None:
                    self.direct.cancel_unsent(ref)  # not sent yet: it is cancelled here
                return
            if not force and any(interrupted.values()):
                return  # running: the KeyboardInterrupt ends it (one that catches it may
                # still return its value, as in Ray); cancelling its Dask key would lose that
            futures = [self.future_of(ref)]
            if task_key != ref._key:
                futures.append(self._future(task_key))
            self.client.cancel(futures, force=True)
            with self._lock:
                self._cancelled.update(dict.fromkeys(str(f.key) for f in futures))
                while len(self._cancelled) > CANCELLED_KEPT:
                    self._cancelled.popitem(last=False)

    # -- tasks --------------------------------------------------------------------------------
    def submit(self, call: Any, deps: list[ObjectRef[Any]],
               nested: list[ObjectRef[Any]]) -> list[ObjectRef[Any]]:
        from raylike._dask.worker import node as _node

        self.check_connected()
        for inner in (*deps, *nested):  # a ref of an earlier session in the arguments
            self._check_session(inner)
        if getattr(call, "actor_id", None):
            return self._submit_actor_call(call, [*deps, *nested])
        try:
            placement = _scheduling.placement(call.strategy, call.dask_resources,
                                              in_group=call.placement is not None,
                                              selector=call.label_selector,
                                              fallback=call.fallback_strategy)
        except _scheduling.Unschedulable as exc:  # Ray fails the task, not the submission
            return self._refused(call, TaskUnschedulableError(str(exc)))
        placement = self._pin(placement, call.key)
        if self.leases is not None:
            leased = self.leases.submit(call, deps, nested, placement)
            if leased is not None:
                return [leased]
        dep_futures = [self._dep_future(d) for d in deps]
        if call.num_returns == 1:  # one graph for a burst of tasks (``_submissions``)
            batched = self._batch.submit(_node.execute_task, (call, *dep_futures), call.key,
                                         dep_futures, call.dask_resources, **placement)
            if batched is not None:  # fire-and-forget: wished for when the batch is sent
                if deps or nested:  # hold refs nested in the arguments until the task is done
                    when_done(batched, ArgsHeld(nested, [r._key for r in (*deps, *nested)]))
                ref: ObjectRef[Any] = ObjectRef(call.key, batched)
                ref._watchable = True
                return [ref]
        with self._dask_errors():
            fut = self._dask_task(call, dep_futures, placement)
            if deps or nested:  # hold refs nested in the arguments until the task is done
                when_done(fut, ArgsHeld(nested, [r._key for r in (*deps, *nested)]))
            refs = self._returns(call, fut)
            if call.num_returns == 1:
                refs[0]._watchable = True
            return refs

    def _submit_dask(self, call: Any, deps: list[ObjectRef[Any]],
                     placement: dict[str, Any]) -> Future:
        """A one-return task as a Dask task of its own (a leased task that found no lease)."""
        dep_futures = [self._dep_future(d) for d in deps]
        with self._dask_errors():
            return self._dask_task(call, dep_futures, placement)

    def _dask_task(self, call: Any, dep_futures: list[Future],
                   placement: dict[str, Any]) -> Future:
        """``call`` as a Dask task of its own, run even if its refs are dropped at once."""
        from raylike._dask.worker import node as _node

        fut = self.client.submit(_node.execute_task, call, *dep_futures, key=call.key,
                                 resources=call.dask_resources or None, pure=False,
                                 retries=0, **placement)
        self._fire_and_forget(fut)  # Ray runs a task even if its refs are dropped at once
        return fut

    def _refused(self, call: Any, error: BaseException) -> list[ObjectRef[Any]]:
        """The refs of a task Ray refuses to schedule: getting them raises ``error``."""
        with self._dask_errors():
            fut = self.client.submit(_scheduling.refuse, call, error, key=call.key, pure=False,
                                     retries=0)
            self._fire_and_forget(fut)
            return self._returns(call, fut)

    def _submit_actor_call(self, call: Any, keep: list[ObjectRef[Any]]) -> list[ObjectRef[Any]]:
        """An actor method call: an async Dask task with no dependencies and no resources;
        its top-level refs are resolved by the actor's host (see
        ``raylike._dask.worker.actor_calls``)."""
        from raylike._dask.worker import actor_calls as _actor_calls

        self.flush()  # the call's arguments may be refs of tasks still in the batch
        for ref in keep:  # a driver's direct-call answer given to an actor: it needs a key
            if ref._direct is not None and ref._future is None:
                ref._direct.promote(ref, block=False)
        if self.direct is not None and call.num_returns == 1:
            return [self.direct.call(call, keep)]
        with self._dask_errors():
            fut = self.client.submit(_actor_calls.call_actor, call, key=call.key, pure=False,
                                     retries=0)
            self._fire_and_forget(fut)  # a dropped ref must not leave a gap in the call order
            if keep:  # the arguments' refs (and the actor) live until the call is done
                when_done(fut, ArgsHeld(keep, [*call.dep_keys, *call.nested_keys]))
            return self._returns(call, fut)

    def _returns(self, call: Any, fut: Future) -> list[ObjectRef[Any]]:
        from raylike._dask.worker import node as _node

        if call.num_returns == 1 or call.num_returns < 0:  # one value, or a generator's task
            return [ObjectRef(call.key, fut)]
        return [ObjectRef(k, self.client.submit(_node.pick, fut, i, key=k, pure=False))
                for i, k in enumerate(call.return_keys)]

    def _pin(self, placement: dict[str, Any], key: str) -> dict[str, Any]:
        """Dask's keywords of ``placement``. A hard node affinity (``"hard"``) is told to the
        scheduler first (on the stream the task's graph follows): a task or actor restricted
        to nodes that all left runs elsewhere (a SPREAD choice, a soft affinity), except
        such a one (``_state_plugin.StatePlugin``)."""
        if placement.pop("hard", False):
            internals.send_to_scheduler(self.client, {"op": "raylike_hard_pin", "key": key})
        return placement

    def submit_raw(self, func: Any, *args: Any, key: str, resources: dict[str, float] | None,
                   keep: list[ObjectRef[Any]] | None = None, detach: bool = False,
                   **placement: Any) -> ObjectRef[Any]:
        """A plain Dask task (an actor's reservation task). ``keep``: refs held until it ends
        (``detach``) or until the returned ref is dropped; ``detach``: it runs to its end even
        when no ref to it is left."""
        placement = self._pin(placement, key)
        with self._dask_errors():
            fut = self.client.submit(func, *args, key=key, resources=resources or None,
                                     pure=False, retries=0, **placement)
            if detach:
                self._fire_and_forget(fut)
                if keep:
                    when_done(fut, functools.partial(hold_until_done, list(keep)))
        ref: ObjectRef[Any] = ObjectRef(key, fut)
        if keep and not detach:  # a done callback would hold the future, so the task (an
            # actor whose handles are all gone) would never go out of scope
            self._kept[key] = list(keep)
            weakref.finalize(ref, self._kept.pop, key, None)
        return ref

    def drop_kept(self, key: str) -> None:
        """Stop holding the refs ``submit_raw`` keeps for task ``key`` (its actor is dead)."""
        self._kept.pop(key, None)

    # -- Dask interop (``raylike._dask.client.interop``) -------------------------------------------
    def adopt(self, future: Future) -> ObjectRef[Any]:
        """A ref to a Dask future's key (a future of any client of this cluster)."""
        if future.client.scheduler.address != self.client.scheduler.address:
            raise ValueError("from_dask(): the future belongs to another Dask cluster "
                             f"({future.client.scheduler.address})")
        if isinstance(future.key, str):
            return self.ref(future.key)
        # a key that is not a string (a collection's chunk): the ref names a copy-free alias
        from raylike._api.tasks import new_key

        key = new_key("from_dask")
        with self._dask_errors():
            alias = self.client.submit(_alias, future, key=key, pure=False)
        return ObjectRef(key, alias)

    def compute(self, collection: Any, resources: dict[str, float]) -> ObjectRef[Any]:
        """Submit a Dask collection's graph; a ref to its result."""
        with self._dask_errors():
            fut = self.client.compute(collection, resources=resources or None)
        if isinstance(fut.key, str):
            return ObjectRef(fut.key, fut)
        return self.adopt(fut)

    def run_graph(self, graph: Any, keys: Any, resources: dict[str, float]) -> Any:
        """Run a Dask graph (a dask scheduler's ``get``) and return the values of ``keys``."""
        with self._dask_errors():
            return self.client.get(graph, keys, resources=resources or None, sync=True)

    # -- actors, placement groups, state: served here (a task process asks its worker, whose
    # ``TaskScope`` calls these same functions with the worker's backend) --------------------
    def create_actor(self, spec: Any, nested: list[ObjectRef[Any]], get_if_exists: bool) -> Any:
        from raylike._dask.client import actors as _actors

        return _actors.create_with(self, spec, nested, get_if_exists)

    def lookup_actor(self, name: str, namespace: str | None) -> bytes | None:
        from raylike._dask.client import actors as _actors

        return _actors.lookup(self, name, namespace)

    def kill_actor(self, actor_id: str, no_restart: bool) -> None:
        from raylike._dask.client import actors as _actors

        _actors.kill_with(self, actor_id, no_restart)

    def list_named_actors(self, namespace: str | None, all_namespaces: bool) -> list[Any]:
        return list(self.scheduler_call("raylike_actor_list_named", namespace=namespace,
                                        all_namespaces=all_namespaces))

    def placement_group_request(self, op: str, *args: Any) -> Any:
        from raylike._dask.client import placement_groups as _placement_groups

        return _placement_groups.serve(self, op, *args)

    def placement_group_ready(self, group: Any) -> ObjectRef[Any]:
        from raylike._dask.client import placement_groups as _placement_groups

        return _placement_groups.ready_ref(self, group)

    def error_object(self, payload: bytes) -> None:
        """Only a task's or actor's process keeps a generator's error as an object."""
        return None

    def state_request(self, op: str, *args: Any) -> Any:
        from raylike._api import state as _state

        if op == "locations":  # a put in flight exists once its worker has it
            for key in args[0]:
                self.puts.settle(key)
        return _state.answer(op, self, *args)

    def finished_here(self, keys: list[str]) -> set[str]:
        """The keys this process's client already knows finished (a put it stored one way,
        whose announcement to the scheduler may still be on its way)."""
        done = set()
        for key in keys:
            state = internals.future_state(self.client, key)
            if state is not None and state.status == "finished":
                done.add(key)
        return done

    def send_metrics(self, batch: Any) -> None:
        from raylike._dask.scheduler import metrics_store as _metrics_store

        self.run_on_scheduler(_metrics_store.merge, batch)

    def scheduler_call(self, op: str, **kwargs: Any) -> Any:
        """Call the scheduler handler ``op`` (one a raylike scheduler plugin registered)."""
        with self._dask_errors():
            return self.client.sync(getattr(self.client.scheduler, op), **kwargs)

    def run_on_scheduler(self, func: Any, *args: Any, **kwargs: Any) -> Any:
        """``func(dask_scheduler, *args, **kwargs)`` on the scheduler's event loop (so it is
        atomic with respect to every other request the scheduler serves)."""
        with self._dask_errors():
            return self.client.run_on_scheduler(func, *args, **kwargs)

    def run_on_workers(self, func: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
        with self._dask_errors():
            return dict(self.client.run(func, *args, **kwargs))

    def subscribe(self, topic: str, handler: Any) -> None:
        """Call ``handler((time, message))`` on the client's event loop for each event of
        ``topic`` (Dask's event system)."""
        self.client.subscribe_topic(topic, handler)

    def unsubscribe(self, topic: str) -> None:
        self.client.unsubscribe_topic(topic)

    def local_host(self) -> str:
        """This process's address on its connection to the scheduler (``""`` if unknown)."""
        comm = getattr(self.client.scheduler_comm, "comm", None)
        address = str(getattr(comm, "local_address", "") or "")
        return address.split("://", 1)[-1].rpartition(":")[0].strip("[]")

    def scheduler_info(self) -> dict[str, Any]:
        with self._dask_errors():
            return dict(self.client.scheduler_info(n_workers=-1))


def _alias(value: Any) -> Any:
    """A Dask task whose result is its argument (same worker: no copy)."""
    return value


def _lease_options(worker: Any) -> dict[str, Any]:
    """How a worker's backend leases (``TaskLeases``' keywords): from its own node, in
    process (``raylike._dask.worker.lease_lane``), with lease tasks pinned to itself, for
    tasks whose resources this node has at all; a driver's (``worker`` None): the defaults."""
    if worker is None:
        return {}
    from raylike._dask.worker import lease_lane as _lease_lane

    def fits(resources: dict[str, float]) -> bool:
        total = worker.state.total_resources
        return all(total.get(name, 0.0) >= amount for name, amount in resources.items())
    return {"lanes": _lease_lane.lanes_of(worker), "fits": fits,
            "lease_placement": {"workers": [worker.address], "allow_other_workers": False}}

