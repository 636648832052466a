"""Ray's id types (``ray.JobID``, ``ray.TaskID``, ...) and the ids raylike gives its jobs,
actors, tasks, nodes and worker processes, in Ray's formats.

Ray's ids are fixed-length byte strings shown as hex: a job id has 4 bytes, an actor id 16 (12
unique, then its job's 4), a task id 24 (8 unique, then its actor's id, or for a task outside
an actor 12 bytes of ``ff`` and its job's 4), node and worker ids 28. raylike keeps the same
lengths and layout, so code that checks ``len()`` or slices an id sees what Ray gives it.
"""
from __future__ import annotations

import builtins
import functools
import hashlib
import os
import threading
from typing import Any, TypeVar

__all__ = ["ActorClassID", "ActorID", "BaseID", "ClusterID", "FunctionID", "JobID", "NodeID",
           "PlacementGroupID", "TaskID", "UniqueID", "WorkerID"]

_ID = TypeVar("_ID", bound="BaseID")


class BaseID:
    """A fixed-length binary id (Ray's ``BaseID``); subclasses fix the length."""

    SIZE = 28

    __slots__ = ("_bytes",)

    def __init__(self, id: bytes) -> None:  # noqa: A002 - Ray's parameter name
        if not isinstance(id, bytes):
            raise TypeError(f"{type(self).__name__} takes bytes, got {type(id).__name__}.")
        if len(id) != self.SIZE:
            raise ValueError(f"ID string needs to have length {self.SIZE}, got {len(id)}.")
        self._bytes = id

    @classmethod
    def size(cls) -> int:
        return cls.SIZE

    @classmethod
    def nil(cls: type[_ID]) -> _ID:
        """The id of nothing: every byte ``ff``."""
        return cls(b"\xff" * cls.SIZE)

    @classmethod
    def from_binary(cls: type[_ID], id_bytes: bytes) -> _ID:
        return cls(id_bytes)

    @classmethod
    def from_hex(cls: type[_ID], hex_id: str | bytes) -> _ID:
        text = hex_id.decode() if isinstance(hex_id, bytes) else hex_id
        return cls(bytes.fromhex(text))

    @classmethod
    def from_random(cls: type[_ID]) -> _ID:
        return cls(os.urandom(cls.SIZE))

    def binary(self) -> bytes:
        return self._bytes

    def hex(self) -> str:
        return self._bytes.hex()

    def is_nil(self) -> bool:
        return self._bytes == b"\xff" * self.SIZE

    def __hash__(self) -> int:
        return hash((type(self).__name__, self._bytes))

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other._bytes == self._bytes

    def __ne__(self, other: object) -> bool:
        return not self == other

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.hex()})"

    def __str__(self) -> str:
        return repr(self)

    def __reduce__(self) -> Any:
        return (type(self), (self._bytes,))


class UniqueID(BaseID):
    """A generic 28-byte id."""


class NodeID(BaseID):
    """A node's id (28 bytes)."""


class WorkerID(BaseID):
    """A worker process's (or driver's) id (28 bytes)."""


class FunctionID(BaseID):
    """A remote function's id (28 bytes)."""


class ActorClassID(BaseID):
    """An actor class's id (28 bytes)."""


class ClusterID(BaseID):
    """A cluster's id (28 bytes)."""


class JobID(BaseID):
    """A job's (driver's) id: 4 bytes."""

    SIZE = 4

    @classmethod
    def from_int(cls, value: builtins.int) -> JobID:
        return cls(value.to_bytes(cls.SIZE, "little"))

    def int(self) -> builtins.int:
        return int.from_bytes(self._bytes, "little")


class ActorID(BaseID):
    """An actor's id: 12 unique bytes, then its job's id."""

    SIZE = 16

    @property
    def job_id(self) -> JobID:
        """The id of the job that made the actor (a property, as in Ray)."""
        return JobID(self._bytes[-JobID.SIZE:])


class TaskID(BaseID):
    """A task's id: 8 unique bytes, then the id of its actor (a nil one from its job for a
    task outside an actor)."""

    SIZE = 24

    def actor_id(self) -> ActorID:
        return ActorID(self._bytes[-ActorID.SIZE:])

    def job_id(self) -> JobID:
        return JobID(self._bytes[-JobID.SIZE:])


class PlacementGroupID(BaseID):
    """A placement group's id: 14 unique bytes, then its job's id."""

    SIZE = 18


# -- the ids raylike hands out, as hex strings ------------------------------------------------
def new_job_id() -> str:
    """A fresh job id (8 hex digits)."""
    return os.urandom(JobID.SIZE).hex()


def _job_part(job_id: str) -> str:
    return job_id if len(job_id) == 2 * JobID.SIZE else hashlib.sha1(
        job_id.encode()).hexdigest()[:2 * JobID.SIZE]


def new_actor_id(job_id: str) -> str:
    """A fresh actor id of job ``job_id`` (32 hex digits, ending with the job's)."""
    return os.urandom(ActorID.SIZE - JobID.SIZE).hex() + _job_part(job_id)


OBJECT_ID_SIZE = 28  # bytes of Ray's ``ObjectID``
_UNIQUE_DIGITS = 32  # hex digits of the unique part of a Dask key (``_tasks.new_key``)


@functools.lru_cache(maxsize=1024)
def _name_digits(name: str) -> str:
    return hashlib.sha1(name.encode()).hexdigest()[:2 * OBJECT_ID_SIZE - _UNIQUE_DIGITS]


def object_hex(key: str) -> str:
    """The Ray object id (56 hex digits) of the object with Dask key ``key``: the key's unique
    digits, then digits drawn from its name; a key that is such an id already is itself."""
    name, _, unique = key.rpartition("-")
    if name and len(unique) == _UNIQUE_DIGITS:
        return unique + _name_digits(name)
    if len(key) == 2 * OBJECT_ID_SIZE and all(c in "0123456789abcdef" for c in key):
        return key
    return hashlib.sha224(key.encode()).hexdigest()


def task_id(key: str, actor_id: str | None, job_id: str) -> str:
    """The Ray task id (48 hex digits) of the task or actor call with Dask key ``key``."""
    unique = hashlib.sha1(key.encode()).hexdigest()[:2 * (TaskID.SIZE - ActorID.SIZE)]
    if actor_id:
        return unique + actor_id
    return unique + "ff" * (ActorID.SIZE - JobID.SIZE) + _job_part(job_id)


def node_id(address: str) -> str:
    """The stable node id (56 hex digits) of the Dask worker at ``address``."""
    return hashlib.sha224(address.encode()).hexdigest()


def driver_worker_id(job_id: str) -> str:
    """A driver's worker id, as Ray forms it: its job id, then ``ff`` bytes."""
    return _job_part(job_id) + "ff" * (WorkerID.SIZE - JobID.SIZE)


def task_process_worker_id(node_id: str, pid: int) -> str:
    """The worker id (56 hex digits) of the task or actor process ``pid`` of node ``node_id``:
    the process (its runtime context) and the state API (which knows the pid) agree on it."""
    return hashlib.sha224(f"{node_id}/{pid}".encode()).hexdigest()


_worker = {"pid": -1, "id": ""}
_worker_lock = threading.Lock()


def process_worker_id() -> str:
    """This process's worker id (56 hex digits), drawn once per process (again after a fork)."""
    with _worker_lock:
        if _worker["pid"] != os.getpid():
            _worker["pid"], _worker["id"] = os.getpid(), os.urandom(WorkerID.SIZE).hex()
        return str(_worker["id"])
