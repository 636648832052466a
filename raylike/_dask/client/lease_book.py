"""What an owner's leases share (``leases``, ``lease_requests``): the tasks on their way to a
lease, the nodes holding leases, and the lease requests, under one lock.

An *owner* is the process whose Dask client submits the tasks: a driver, whose lanes reach the
nodes on its host, or a worker on behalf of its task and actor processes, whose one lane is its
own node's lease desk, reached in process (``raylike._dask.worker.lease_lane``).
"""
from __future__ import annotations

import collections
import concurrent.futures
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from distributed import Client, Future

from raylike._api.objects import ObjectRef
from raylike._api.serialization import dumps_error, loads
from raylike.exceptions import RayActorError, RayTaskError, dependency_failed

MAX_REQUESTS = 4  # lease requests of one shape not granted yet, at most
WAIT_FOR_LEASE = 0.25  # seconds a task waits here for a first lease before Dask's path
MAX_MOVES = 2  # pushes that found no lease left, before a task takes Dask's path
Answer = tuple[str, Any]


@dataclass(eq=False)
class Item:
    """One task on its way to a lease."""

    call: Any
    deps: list[ObjectRef[Any]]
    answer: concurrent.futures.Future[Answer]  # what its ref holds
    shape: str
    resources: dict[str, float]
    placement: dict[str, Any]
    ref: Any  # a weak reference to its ObjectRef
    args: list[tuple[str, Any]] = field(default_factory=list)
    since: float = 0.0
    moves: int = 0  # times a node had no lease left for it when it arrived


@dataclass(eq=False)
class Place:
    """A node (its lane) holding leases of one shape for this owner."""

    lane: Any  # a ``raylike._transport.lane.Lane``, or a worker's ``NodeLane``
    leases: set[str] = field(default_factory=set)
    in_flight: int = 0
    reclaiming: int = 0  # tasks asked back from its queue, not answered yet


@dataclass(eq=False)
class Lease:
    """A lease asked of Dask: ``asked`` until its node grants it, then ``granted``; forgotten
    once its Dask task ends."""

    shape: str
    state: str = "asked"
    future: Future | None = None  # its Dask task (held until it ends)


class LeaseBook:
    """The state an owner's lease requests and task placing share."""

    def __init__(self, client: Client, lanes: Callable[[], list[Any]],
                 lease_placement: dict[str, Any] | None = None) -> None:
        self.client = client
        self._lanes = lanes  # the owner's lanes to nodes that may serve its leases
        self._lease_placement = dict(lease_placement or {})  # Dask keywords of a lease task
        self._lock = threading.Lock()
        self._places: dict[str, list[Place]] = {}
        self._waiting: dict[str, collections.deque[Item]] = {}
        self._requests: dict[str, int] = {}  # lease requests not granted yet, by shape
        self._busy_until: dict[str, float] = {}  # shape -> Dask's path until then
        self._leases: dict[str, Lease] = {}  # lease id -> its request, until its task ends
        self._resources: dict[str, dict[str, float]] = {}  # shape -> its resources
        self._checking: set[str] = set()  # shapes with a wait check to come
        self._closed = False  # shut down: nothing more is sent

    # the placing side (``leases.TaskLeases``) provides these
    def _dispatch(self, item: Item) -> None:
        raise NotImplementedError

    def _fall_back(self, item: Item) -> None:
        raise NotImplementedError

    def _spill(self, shape: str, every: bool = False) -> None:
        raise NotImplementedError


def argument_failed(call: Any, payload: Any) -> bytes:
    """The error of a task that never ran because an argument holds an error (``payload``):
    a task's or an actor's error becomes Ray's "could not be computed" ``RayTaskError``."""
    error = loads(payload)
    if isinstance(error, (RayTaskError, RayActorError)):
        error = dependency_failed(error, call.key.rsplit("-", 1)[0])
        error._task_key = call.key
    return dumps_error(error)


def settle(item: Item, answer: Answer) -> None:
    try:
        item.answer.set_result(answer)
    except concurrent.futures.InvalidStateError:
        pass  # cancelled or answered already
    # done: its arguments go now (callbacks left on a long-lived argument's answer may still
    # name the item)
    item.deps, item.args = [], []
