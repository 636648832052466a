"""Ray's ``ray._private.worker``: the process's ``global_worker`` and the API functions.

``global_worker`` answers what raylike knows about the calling process (its mode, job,
worker and node ids, namespace, the node's session paths); ``global_worker.node`` (also
``_global_node``) stands for Ray's node object. What belongs to Ray's core worker, raylet or
GCS clients (``plasma_store_socket_name``, ...) raises ``NotImplementedError`` naming the
attribute. ``gcs_client`` is the cluster's key-value store (``ray._raylet.GcsClient``);
``core_worker`` answers the reference table and object-existence queries only."""
from __future__ import annotations

import logging
import os
from typing import Any

import raylike
from raylike import cloudpickle as pickle
from raylike._api import context as _context
from raylike._api import ids as _ids
from raylike._api import objects as _objects
from raylike._api import runtime as _runtime
from raylike._api import state as _state
from raylike._api.raylet import GcsClient
from raylike._api.runtime import RayContext
from raylike.exceptions import RaySystemError

__all__ = ["LOCAL_MODE", "SCRIPT_MODE", "WORKER_MODE", "RayContext", "Worker", "cancel", "get",
           "get_actor",
           "global_worker", "init", "is_initialized", "kill", "pickle", "put", "remote",
           "shutdown", "wait"]

SCRIPT_MODE, WORKER_MODE, LOCAL_MODE = raylike.SCRIPT_MODE, raylike.WORKER_MODE, 2
init, shutdown, is_initialized = raylike.init, raylike.shutdown, raylike.is_initialized
get, put, wait, remote = raylike.get, raylike.put, raylike.wait, raylike.remote
cancel, kill, get_actor = raylike.cancel, raylike.kill, raylike.get_actor


def _unsupported(what: str, why: str) -> NotImplementedError:
    return NotImplementedError(f"ray._private.worker.{what} is not available on raylike: {why}")


class _Node:
    """What raylike can say of Ray's ``Node`` object for the calling process's node."""

    @property
    def unique_id(self) -> str:
        """The node's id (hex), as ``get_runtime_context().get_node_id()``."""
        return raylike.get_runtime_context().get_node_id()

    @property
    def node_ip_address(self) -> str:
        return _state.node_ip_address()

    @property
    def session_name(self) -> str:
        return raylike.get_runtime_context().get_session_name()

    @property
    def address_info(self) -> dict[str, Any]:
        runtime = _runtime.driver()
        if runtime is None:
            raise _unsupported("global_worker.node.address_info", "only a driver has one")
        return dict(runtime.context.address_info)

    @property
    def webui_url(self) -> str | None:
        runtime = _runtime.driver()
        return runtime.context.dashboard_url if runtime is not None else None

    def get_temp_dir_path(self) -> str:
        return _runtime.temp_dir()

    def get_session_dir_path(self) -> str:
        return os.path.join(self.get_temp_dir_path(), self.session_name)

    @property
    def _session_dir(self) -> str:
        """Ray's attribute for :meth:`get_session_dir_path`."""
        return self.get_session_dir_path()

    def get_logs_dir_path(self) -> str:
        return os.path.join(self.get_session_dir_path(), "logs")

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        raise _unsupported(f"global_worker.node.{name}", "a raylike node is a Dask worker, "
                           "without Ray's raylet, object store sockets or processes")


class Worker:
    """Ray's per-process worker state, read from raylike's runtime and task context."""

    node = _Node()

    @property
    def connected(self) -> bool:
        return _runtime.is_initialized() or _context.current() is not None

    @property
    def mode(self) -> int | None:
        if _context.current() is not None:
            return WORKER_MODE
        return SCRIPT_MODE if _runtime.is_initialized() else None

    @property
    def current_job_id(self) -> _ids.JobID:
        """This process's job id; nil before ``init``, as in Ray."""
        if not self.connected:
            return _ids.JobID.nil()
        return _ids.JobID.from_hex(_context.current_job_id())

    @property
    def worker_id(self) -> bytes:
        return bytes.fromhex(raylike.get_runtime_context().get_worker_id())

    @property
    def current_node_id(self) -> _ids.NodeID:
        return _ids.NodeID.from_hex(self.node.unique_id)

    @property
    def node_ip_address(self) -> str:
        return self.node.node_ip_address

    @property
    def namespace(self) -> str | None:
        return raylike.get_runtime_context().namespace

    @property
    def task_depth(self) -> int:
        """0 in a driver, one more for each level of tasks (``raylike._api.context.task_depth``)."""
        return _context.task_depth()

    @property
    def gcs_client(self) -> GcsClient:
        return GcsClient(address=raylike.get_runtime_context().gcs_address)

    @property
    def core_worker(self) -> CoreWorker:
        if not self.connected:
            raise RaySystemError("Ray has not been started yet. You can start Ray with "
                                 "'ray.init()'.")
        return CoreWorker()

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        raise _unsupported(f"global_worker.{name}", "it belongs to Ray's core worker, which "
                           "raylike replaces with Dask")


class CoreWorker:
    """What raylike can answer of Ray's core worker: the calling process's reference table
    and whether an object exists. Anything else raises ``NotImplementedError``."""

    def get_all_reference_counts(self) -> dict[bytes, dict[str, int]]:
        """``{hex id (bytes): {"local": n, "submitted": m}}`` for each object this process
        refers to (see ``raylike._api.objects.reference_counts``)."""
        return _objects.reference_counts()

    def object_exists(self, object_ref: Any, memory_store_only: bool = False) -> bool:
        """Whether ``object_ref``'s object is held now. Differences from Ray: held on any
        node (Ray looks at the caller's node only)."""
        if not isinstance(object_ref, raylike.ObjectRef):
            raise TypeError(f"object_exists takes an ObjectRef, got {type(object_ref)}")
        return _objects.exists(object_ref)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        raise _unsupported(f"global_worker.core_worker.{name}", "it belongs to Ray's core "
                           "worker, which raylike replaces with Dask")


global_worker = Worker()


def _unhandled_error_handler(error: BaseException) -> None:
    """Called with the error of a failed task or actor call whose refs the driver dropped
    without ``get`` raising it (``raylike._api.unhandled``); replace it to handle such errors."""
    logging.getLogger("raylike").error(
        "Unhandled error (suppress with 'RAY_IGNORE_UNHANDLED_ERRORS=1'): %s", error)


def __getattr__(name: str) -> Any:
    if name == "_global_node":  # Ray's node of this process, None before init
        return global_worker.node if global_worker.connected else None
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
