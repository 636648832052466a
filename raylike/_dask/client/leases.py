"""An owner's tasks pushed to leased slots of nodes (the owner's end): a driver's, to the nodes on
its host; a worker's, for its task and actor processes, to its own node.

A task's Dask round trip (driver -> scheduler -> worker -> scheduler -> driver) is what bounds a
driver's task rate. Ray's owners lease a worker from its node once and push many tasks to it;
here the driver asks Dask for a *lease* (``raylike._dask.worker.leases.hold_lease``, a Dask
task with the tasks' resources, so Dask places and accounts it), and once it starts, pushes
its tasks of that shape over its lane to the lease's node, whose leases run them from one
queue. Each task's ref holds its answer, as a direct actor call's does
(``raylike._dask.client.direct``): it becomes a Dask key only if it leaves the driver.

Only a plain task takes this path: one return, default scheduling, CPUs only, an owner with a
lane to a node (a worker's is in process: ``raylike._dask.worker.lease_lane``). A task whose
arguments are refs waits here until they are ready (Ray's owner does the same): a direct answer
travels with the task, a Dask key is read by the node. More leases are asked for
(``lease_requests``) while the tasks pushed outnumber the leases, and a lease ends on its node
after ``IDLE`` seconds without work. A task that waits for a lease longer than
``WAIT_FOR_LEASE`` (Dask has no free slot: it is busy, or no node here fits), and every later
task while that lasts, takes Dask's path, where the scheduler and the state API see it wait.
"""
from __future__ import annotations

import collections
import concurrent.futures
import dataclasses
import functools
import logging
import threading
import time
import weakref
from collections.abc import Callable
from typing import Any

from distributed import Client, Future

from raylike._api.objects import ObjectRef
from raylike._api.ref_counts import ArgsHeld
from raylike._api.serialization import dumps, dumps_error, dumps_frames
from raylike._dask import errors as _errors
from raylike._dask.client.callbacks import when_done
from raylike._dask.client.direct import DirectCalls, DirectResult
from raylike._dask.client.lease_book import (
    MAX_MOVES,
    Answer,
    Item,
    Place,
    argument_failed,
    settle,
)
from raylike._dask.client.lease_requests import LeaseRequests
from raylike.exceptions import NodeDiedError, TaskCancelledError

logger = logging.getLogger("raylike.leases")
LANE_READER = "raylike-lane"  # the name of a lane's reader thread (``Lane``)


class TaskLeases(LeaseRequests):
    """An owner's leases and the tasks it pushes to them."""

    def __init__(self, client: Client, direct: DirectCalls,
                 to_dask: Callable[[Any, list[ObjectRef[Any]], dict[str, Any]], Future],
                 dep_future: Callable[[ObjectRef[Any]], Future],
                 key_future: Callable[[str], Future],
                 lanes: Callable[[], list[Any]] | None = None,
                 lease_placement: dict[str, Any] | None = None,
                 fits: Callable[[dict[str, float]], bool] | None = None) -> None:
        """``lanes``: the owner's lanes (the driver's to the nodes on its host by default);
        ``lease_placement``: Dask's keywords for a lease task (a worker pins its leases to
        itself); ``fits``: whether a task's resources may ever fit a lease (else Dask's
        path)."""
        super().__init__(client, lanes or direct.local_lanes, lease_placement)
        self._key_future = key_future  # this client's future of a Dask key
        self.direct = direct
        self._to_dask = to_dask  # submits a task on Dask's path (its future)
        self._dep_future = dep_future
        self._fits = fits
        self._queued: dict[str, Item] = {}  # not pushed yet, by task key (``cancel``)
        self._fallen: set[str] = set()  # keys of tasks on Dask's path, until they end
        self._pusher = concurrent.futures.ThreadPoolExecutor(1, "raylike-lease-push")

    @staticmethod
    def eligible(call: Any, placement: dict[str, Any]) -> bool:
        """Whether ``call`` may take a lease: see the module's docstring."""
        resources = call.resources
        return (call.num_returns == 1 and call.placement is None and not placement
                and not call.label_selector and call.strategy in (None, "DEFAULT")
                and len(resources) == 1 and resources.get("CPU", 0) > 0)

    def submit(self, call: Any, deps: list[ObjectRef[Any]], nested: list[ObjectRef[Any]],
               placement: dict[str, Any]) -> ObjectRef[Any] | None:
        """The ref of ``call``, on its way to a lease; ``None``: it takes Dask's path."""
        if not self.eligible(call, placement) or not self._lanes() or (
                self._fits is not None and not self._fits(call.resources)):
            return None
        shape = repr(sorted(call.resources.items()))
        if self._busy_until.get(shape, 0.0) > time.monotonic():
            return None
        answer: concurrent.futures.Future[Answer] = concurrent.futures.Future()
        ref: ObjectRef[Any] = ObjectRef(call.key)
        ref._direct = DirectResult(answer, self.direct)
        self.direct.remember(ref)
        held = [*deps, *nested]
        if held:  # the arguments live until the task is done
            answer.add_done_callback(ArgsHeld(held, [r._key for r in held]))
        item = Item(call, list(deps), answer, shape, dict(call.resources), placement,
                    weakref.ref(ref), since=time.monotonic())
        with self._lock:
            self._queued[call.key] = item
        self._when_ready(item)
        return ref

    def cancel_queued(self, ref: ObjectRef[Any]) -> bool:
        """``ray.cancel`` of a task not pushed yet: it fails with ``TaskCancelledError``."""
        with self._lock:
            item = self._queued.pop(ref._key, None)
            if item is not None:
                waiting = self._waiting.get(item.shape)
                if waiting is not None and item in waiting:
                    waiting.remove(item)
        if item is None:
            return False
        settle(item, ("err", dumps(TaskCancelledError(ref.task_id().hex()))))
        return True

    def on_dask_path(self, ref: ObjectRef[Any]) -> bool:
        """Whether ``ref``'s task went down Dask's path after all, and has not ended."""
        return ref._key in self._fallen

    # -- arguments ----------------------------------------------------------------------------
    def _when_ready(self, item: Item) -> None:
        """Push ``item`` once its top-level refs are ready."""
        waits = [self._waitable(d) for d in item.deps]
        pending = [w for w in waits if not w.done()]
        if not pending:
            self._ready(item)
            return
        self._stage(item, "PENDING_ARGS_AVAIL")
        left = [len(pending)]
        lock = threading.Lock()

        def one_done(_: Any) -> None:
            with lock:
                left[0] -= 1
                last = left[0] == 0
            if last:
                self._ready(item)
        for wait in pending:
            when_done(wait, one_done)

    def _waitable(self, dep: ObjectRef[Any]) -> Any:
        direct = dep._direct
        if direct is not None:
            return direct.future
        return self._dep_future(dep)

    def _ready(self, item: Item) -> None:
        if item.answer.done():  # cancelled meanwhile
            return
        args: list[tuple[str, Any]] = []
        for dep in item.deps:
            if dep._direct is not None:
                status, payload = dep._direct.answer()
                if status != "ok":  # Ray: the task fails with its argument's error
                    self._dequeue(item)
                    settle(item, ("err", argument_failed(item.call, payload)))
                    return
                args.append(("value", payload))
                continue
            fut = self._dep_future(dep)
            if fut.status != "finished":  # failed, lost or cancelled: Dask's path says how
                self._fall_back(item)
                return
            args.append(("key", str(fut.key)))
        item.args = args
        self._dispatch(item)

    # -- placing ------------------------------------------------------------------------------
    def _dispatch(self, item: Item) -> None:
        """Push ``item`` to the least loaded node holding leases of its shape, or wait for a
        lease (asking for one)."""
        with self._lock:
            places = [p for p in self._places.get(item.shape, ())
                      if p.leases and not p.lane.closed]
            place = min(places, key=lambda p: p.in_flight / len(p.leases)) if places else None
            if place is not None:
                place.in_flight += 1
                self._queued.pop(item.call.key, None)
                self._stage(item, "SUBMITTED_TO_WORKER")
            else:
                self._stage(item, "PENDING_NODE_ASSIGNMENT")
                item.since = time.monotonic()
                self._waiting.setdefault(item.shape, collections.deque()).append(item)
            self._resources[item.shape] = item.resources
        self._more(item.shape)
        if place is None:
            self._check_later(item.shape)
            return
        if threading.current_thread().name == LANE_READER:
            # called back by a lane's reader (a grant, an answer): it must go on reading,
            # or a large task sent from here and a large answer coming the other way would
            # wait for each other for ever
            try:
                self._pusher.submit(self._push, item, place)
            except RuntimeError:  # shut down: nobody is left to read its answer
                pass
        else:
            self._push(item, place)

    def _push(self, item: Item, place: Place) -> None:
        try:
            sent = place.lane.push([(item.shape, item.call, item.args)])
        except BaseException as exc:  # cannot be sent (a pickling error): the task's error
            logger.debug("could not push %s", item.call.key, exc_info=True)
            with self._lock:
                place.in_flight -= 1
            settle(item, ("err", dumps_error(exc)))
            return
        if sent is None:  # the lane closed
            self._unplace(item.shape, place)
            self._dispatch(item)
            return
        sent[0].add_done_callback(functools.partial(self._answered, item, place))

    def _answered(self, item: Item, place: Place, fut: concurrent.futures.Future[Answer]
                  ) -> None:
        status, payload = fut.result()
        with self._lock:
            place.in_flight -= 1
        if status == "back":  # taken back from a busy node: to a free lease elsewhere, or
            with self._lock:  # (none: the lease asked for started where this owner has no
                free = self._free_place(item.shape) is not None  # lane) Dask's path
            if free:
                self._dispatch(item)
            else:
                self._fall_back(item)
            return
        self._spill(item.shape)
        if status == "kept":  # its result holds refs: the node keeps it as Dask data
            ref = item.ref()
            if ref is not None and ref._future is None:
                ref._future = self._key_future(item.call.key)  # those refs live as it does
                # once Dask reports it here, the scheduler counts this driver's interest
                when_done(ref._future, lambda _f: place.lane.held([item.call.key]))
            else:
                place.lane.held([item.call.key])  # nobody here wants it
            settle(item, ("ok", payload))
        elif status in ("ok", "err"):
            settle(item, (status, payload))
        elif status == "moved":  # its node has no lease of this shape left
            with self._lock:
                place.leases.clear()
            item.moves += 1
            if item.moves > MAX_MOVES:  # its leases end before it arrives (a large argument
                self._fall_back(item)  # takes longer than IDLE to travel): Dask's path
            else:
                self._dispatch(item)
        else:  # the lane closed: its node died, as far as this task knows
            self._unplace(item.shape, place)
            retries = item.call.max_retries
            if retries == 0:
                settle(item, ("err", dumps_error(NodeDiedError(
                    f"Task {item.call.name} failed because the node it was running on died "
                    "and it had no retries left (max_retries)."))))
                return
            item.call = dataclasses.replace(item.call, max_retries=max(retries - 1, -1)
                                            if retries > 0 else retries)
            self._dispatch(item)

    def _free_place(self, shape: str) -> Place | None:
        """A node with a lease of ``shape`` not running a task of this owner (under the
        lock)."""
        return next((p for p in self._places.get(shape, ())
                     if p.in_flight < len(p.leases) and not p.lane.closed), None)

    def _spill(self, shape: str, every: bool = False) -> None:
        """Where leases of ``shape`` are free on some node while tasks wait behind busy
        leases on another, take those tasks back (``Lane.reclaim``, answered ``back``) and
        push them to the free ones: Ray's raylet spills queued work back to a node with the
        resources free. Only as many as there are free leases, so nothing moves back and
        forth. ``every``: all the tasks waiting behind busy leases (a lease asked for
        started on a node without this owner's lane: they take Dask's path, which spills
        them back). A worker's own lane (one node) has nothing to spill to."""
        asks = []
        with self._lock:
            if self._closed or self._waiting.get(shape):
                return
            places = [p for p in self._places.get(shape, ())
                      if not p.lane.closed and hasattr(p.lane, "reclaim")]
            free = sum(max(0, len(p.leases) - p.in_flight) for p in places)
            if every:
                free = sum(p.in_flight for p in places)
            for place in places:
                surplus = place.in_flight - len(place.leases) - place.reclaiming
                if free <= 0:
                    break
                if surplus > 0:
                    count = min(surplus, free)
                    free -= count
                    place.reclaiming += count
                    asks.append((place, count))
        for place, count in asks:
            fut = place.lane.reclaim(shape, count)
            if fut is None:
                self._reclaimed(place, count, None)
            else:
                fut.add_done_callback(functools.partial(self._reclaimed, place, count))

    def _reclaimed(self, place: Place, count: int, _fut: Any) -> None:
        with self._lock:
            place.reclaiming -= count

    @staticmethod
    def _stage(item: Item, stage: str) -> None:
        ref = item.ref()
        if ref is not None and ref._direct is not None:
            ref._direct.stage = stage

    def _unplace(self, shape: str, place: Place) -> None:
        with self._lock:
            places = self._places.get(shape, [])
            if place in places:
                places.remove(place)

    # -- Dask's path ----------------------------------------------------------------------------
    def _dequeue(self, item: Item) -> None:
        with self._lock:
            self._queued.pop(item.call.key, None)

    def _fall_back(self, item: Item) -> None:
        """Run ``item`` as a Dask task under its own key; its ref reads the result there."""
        self._dequeue(item)
        if item.answer.done() or self._closed:
            return
        try:
            fut = self._to_dask(item.call, item.deps, item.placement)
        except Exception as exc:  # the client closed
            settle(item, ("err", dumps_error(exc)))
            return
        ref = item.ref()
        if ref is not None:
            ref._future = fut
        self._fallen.add(item.call.key)
        key = item.call.key  # not the item: a done future keeps its callbacks
        item.answer.add_done_callback(lambda _f: self._fallen.discard(key))
        when_done(fut, functools.partial(self._filled, item))

    def _filled(self, item: Item, fut: Future) -> None:
        """Hand a Dask result to the ref's answer too, for a ``get`` already waiting on that
        (on the client's event loop: nothing blocks)."""
        async def fill() -> None:
            try:
                with _errors.dask_errors("", str(self.client.scheduler.address)):
                    value = await self.client.gather(fut, asynchronous=True)
                answer: Answer = "ok", dumps_frames(value)
            except BaseException as exc:  # the task's error is the answer
                answer = "err", dumps_error(exc)
            settle(item, answer)
        if self.client.loop is not None:
            self.client.loop.add_callback(fill)

    def close(self) -> None:
        self._pusher.shutdown(wait=False, cancel_futures=True)
        with self._lock:
            self._closed = True
            self._waiting.clear()
            self._queued.clear()
            self._places.clear()
