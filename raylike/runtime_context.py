"""``ray.runtime_context``: ``get_runtime_context()`` and the ``RuntimeContext`` it returns.

The context reads what the calling process knows: in a task or actor its ``TaskInfo``
(``raylike._api.context``), in the driver its runtime (``raylike._api.runtime``). Ids are hex
strings in
Ray's formats (``raylike._api.ids``); the deprecated properties return Ray's id objects and warn.
"""
from __future__ import annotations

import hashlib
import logging
import os
import warnings
from typing import Any

from raylike._api import context as _context
from raylike._api import ids as _ids
from raylike._api import runtime as _runtime
from raylike.runtime_env import RuntimeEnv
from raylike.util.annotations import DEPRECATION_MESSAGE, RayDeprecationWarning

__all__ = ["RuntimeContext", "get_runtime_context"]

logger = logging.getLogger("raylike")

# what Ray's accelerator managers name; only GPU ids are ever assigned here
ACCELERATOR_RESOURCES = ("GPU", "TPU", "neuron_cores", "NPU", "HPU", "RBLN", "FURIOSA",
                         "MBLT", "TTNPU")

_DRIVER_MODE = 0  # Ray's SCRIPT_MODE, named in its messages
_ONLY_WORKER = ("This method is only available when the process is a worker. "
                f"Current mode: {_DRIVER_MODE}")


def _deprecated(instead: str) -> None:
    warnings.warn(f"{DEPRECATION_MESSAGE}\n{instead}", RayDeprecationWarning, stacklevel=3)


def _info() -> _context.TaskInfo | None:
    return _context.current()


def _check_initialized(what: str) -> None:
    if not _runtime.is_initialized():
        raise RuntimeError(f"{what} is not available because Ray has not been initialized.")


class RuntimeContext:
    """What the calling driver, task or actor knows about itself (``get_runtime_context()``).

    Differences from Ray: the session name is derived from the cluster's address; only GPU
    ids are assigned among the accelerators.
    """

    # -- the job -------------------------------------------------------------------------------
    def get_job_id(self) -> str:
        """The job's id (8 hex digits): the driver's, or the job a task or actor belongs to."""
        _check_initialized("Job ID")
        return _context.current_job_id()

    @property
    def job_id(self) -> _ids.JobID:
        """Deprecated: ``get_job_id()`` as a ``JobID``."""
        _deprecated("Use get_job_id() instead")
        return _ids.JobID.from_hex(_context.current_job_id())

    @property
    def namespace(self) -> str | None:
        """The namespace named actors are looked up in."""
        return _context.current_namespace()

    # -- the node and process ------------------------------------------------------------------
    def get_node_id(self) -> str:
        """The id (56 hex digits) of the node the caller runs on (the driver: its cluster's
        first node)."""
        _check_initialized("Node ID")
        info = _info()
        if info is not None:
            return info.node_id
        runtime = _runtime.driver()
        node = runtime.context.address_info.get("node_id") if runtime is not None else None
        if node:
            return str(node)
        from raylike._api import state as _state

        nodes = _state.live_nodes()
        return str(nodes[0]["NodeID"]) if nodes else ""

    @property
    def node_id(self) -> _ids.NodeID:
        """Deprecated: ``get_node_id()`` as a ``NodeID``."""
        _deprecated("Use get_node_id() instead")
        return _ids.NodeID.from_hex(self.get_node_id())

    def get_node_labels(self) -> dict[str, str]:
        """The labels of the caller's node (``ray.nodes()``'s ``Labels``)."""
        from raylike._api import state as _state

        node_id = self.get_node_id()
        found = next((n for n in _state.live_nodes() if n["NodeID"] == node_id), None)
        return dict(found["Labels"]) if found is not None else {"ray.io/node-id": node_id}

    def get_worker_id(self) -> str:
        """The id (56 hex digits) of the calling process; a driver's begins with its job id."""
        _check_initialized("Worker ID")
        info = _info()
        if info is None:
            return _ids.driver_worker_id(_context.current_job_id())
        if info.node_id:  # a task's or actor's process: as the state API names it
            return _ids.task_process_worker_id(info.node_id, os.getpid())
        return _ids.process_worker_id()

    @property
    def gcs_address(self) -> str:
        """The address of the cluster's head: its Dask scheduler."""
        info = _info()
        if info is not None and info.gcs_address:
            return info.gcs_address
        runtime = _runtime.driver()
        if runtime is None:
            raise _not_connected()
        return str(runtime.context.address_info["gcs_address"])

    def get_session_name(self) -> str:
        """A name for this cluster's session, the same in every process of the cluster."""
        _check_initialized("Session name")
        digest = hashlib.sha1(self.gcs_address.encode()).hexdigest()[:16]
        return f"session_{digest}"

    def get_temp_dir(self) -> str:
        """The node's temporary directory (Ray's: ``init(_temp_dir=...)``, else ``ray`` under
        ``RAY_TMPDIR`` or the system's)."""
        assert _runtime.is_initialized(), \
            "Temp directory is not available because Ray has not been initialized."
        return _runtime.temp_dir()

    # -- the task ------------------------------------------------------------------------------
    def get_task_id(self) -> str | None:
        """The running task's id (48 hex digits); ``None`` in the driver."""
        info = _info()
        if info is None:
            logger.warning(_ONLY_WORKER)
            return None
        return _ids.task_id(info.key, info.actor_id, info.job_id)

    @property
    def task_id(self) -> _ids.TaskID | None:
        """Deprecated: ``get_task_id()`` as a ``TaskID``; only in a task or actor."""
        _deprecated("Use get_task_id() instead")
        info = _info()
        assert info is not None, _ONLY_WORKER
        return _ids.TaskID.from_hex(_ids.task_id(info.key, info.actor_id, info.job_id))

    def get_task_name(self) -> str | None:
        """The running task's name: the function's (or ``.options(name=)``), or
        ``"Class.method"`` for an actor call; ``None`` in the driver."""
        info = _info()
        if info is None:
            logger.warning(_ONLY_WORKER)
            return None
        return info.name

    def get_task_function_name(self) -> str | None:
        """``"module.function"`` (``"module.Class.method"`` in an actor); ``None`` in the
        driver."""
        info = _info()
        if info is None:
            logger.warning(_ONLY_WORKER)
            return None
        return info.function_name

    def get_assigned_resources(self) -> dict[str, float]:
        """The resources the running task or actor holds (``{"CPU": 1.0}`` for a default
        task, ``{}`` for a default actor); only in a task or actor."""
        info = _info()
        assert info is not None, _ONLY_WORKER
        return {name: float(amount) for name, amount in info.resources.items() if amount > 0}

    def get_accelerator_ids(self) -> dict[str, list[str]]:
        """The accelerator ids assigned to the caller, by resource name (``{"GPU": ["0"],
        "TPU": [], ...}``)."""
        info = _info()
        ids = {name: [] for name in ACCELERATOR_RESOURCES}  # type: dict[str, list[str]]
        if info is not None:
            ids.update({name: [str(i) for i in found]
                        for name, found in info.accelerator_ids.items()})
            ids["GPU"] = [str(gpu) for gpu in info.gpu_ids]
        return ids

    def get_resource_ids(self) -> dict[str, list[str]]:
        """Deprecated: ``get_accelerator_ids()``."""
        _deprecated("Use get_accelerator_ids() instead")
        return self.get_accelerator_ids()

    def is_canceled(self) -> bool:
        """Whether ``ray.cancel`` has reached the running task.

        Raises:
            RuntimeError: in the driver, or in an async actor.
        """
        info = _info()
        if info is None:
            raise RuntimeError(_ONLY_WORKER)
        if info.is_async:
            raise RuntimeError("This method is not supported in an async actor.")
        return _context.canceled()

    # -- the actor -----------------------------------------------------------------------------
    def get_actor_id(self) -> str | None:
        """The actor's id (32 hex digits); ``None`` outside an actor."""
        info = _info()
        return info.actor_id if info is not None and info.actor_id else None

    @property
    def actor_id(self) -> _ids.ActorID | None:
        """Deprecated: ``get_actor_id()`` as an ``ActorID``; only in a task or actor."""
        _deprecated("Use get_actor_id() instead")
        info = _info()
        assert info is not None, _ONLY_WORKER
        return _ids.ActorID.from_hex(info.actor_id) if info.actor_id else None

    def get_actor_name(self) -> str | None:
        """The actor's name (``""`` for an unnamed actor); ``None`` outside an actor."""
        info = _info()
        if info is None:
            logger.warning(_ONLY_WORKER)
            return None
        return info.actor_name if info.actor_id else None

    @property
    def current_actor(self) -> Any:
        """A handle to the calling actor itself (it may call its own methods through it).

        Raises:
            RuntimeError: outside an actor.
        """
        info = _info()
        if info is None or not info.actor_id or info.actor_meta is None:
            raise RuntimeError("This method is only available in an actor.")
        from raylike._api.actors import ActorHandle

        return ActorHandle(info.actor_meta, None)  # weak, as Ray's: it keeps nothing alive

    @property
    def was_current_actor_reconstructed(self) -> bool:
        """Whether the calling actor has been restarted after a failure (property, as Ray)."""
        info = _info()
        assert info is not None, _ONLY_WORKER
        if not info.actor_id:
            raise AttributeError("was_current_actor_reconstructed is only available in an "
                                 "actor, not in a task.")
        return bool(info.restarted)

    # -- placement groups and runtime environments ---------------------------------------------
    def get_placement_group_id(self) -> str | None:
        """The id (hex) of the placement group the caller runs in, or ``None``."""
        placement = getattr(_info(), "placement", None)
        return None if placement is None else placement.pg_id

    @property
    def current_placement_group_id(self) -> _ids.PlacementGroupID:
        """Deprecated: the ``PlacementGroupID`` of the caller's group (nil outside one)."""
        _deprecated("Use get_placement_group_id() instead")
        pg_id = self.get_placement_group_id()
        return _ids.PlacementGroupID.nil() if pg_id is None else \
            _ids.PlacementGroupID.from_hex(pg_id)

    @property
    def should_capture_child_tasks_in_placement_group(self) -> bool:
        """Whether tasks the caller submits go to its placement group by default."""
        placement = getattr(_info(), "placement", None)
        return bool(placement is not None and placement.capture)

    def get_runtime_env_string(self) -> str:
        """The caller's runtime environment as JSON: the job's in the driver, the effective
        one (the task's or actor's merged over its parent's) in a task or actor; local paths
        of the job's ``working_dir``/``py_modules`` are the URIs of their packages."""
        from raylike._api import runtime_env as _runtime_env

        return _runtime_env.serialize(_runtime_env.current())

    @property
    def runtime_env(self) -> RuntimeEnv:
        """The caller's runtime environment (see ``get_runtime_env_string``)."""
        return RuntimeEnv.deserialize(self.get_runtime_env_string())

    # -- all at once ---------------------------------------------------------------------------
    def get(self) -> dict[str, Any]:
        """Deprecated: a dict of ``job_id``, ``node_id``, ``namespace`` and, in a task or
        actor, ``task_id`` and ``actor_id`` where they exist (Ray's id objects)."""
        _deprecated("Use get_xxx_id() methods to get relevant ids instead")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RayDeprecationWarning)
            context: dict[str, Any] = {"job_id": self.job_id, "node_id": self.node_id,
                                       "namespace": self.namespace}
            if _info() is not None:
                if self.task_id is not None:
                    context["task_id"] = self.task_id
                if self.actor_id is not None:
                    context["actor_id"] = self.actor_id
        return context


def _not_connected() -> Exception:
    from raylike.exceptions import RaySystemError

    return RaySystemError("Ray has not been started yet. You can start Ray with 'ray.init()'.")


def get_runtime_context() -> RuntimeContext:
    """The runtime context of the calling driver, task or actor (starts Ray first if it has not
    been started, as Ray does)."""
    _runtime.backend(auto_init=True)
    return RuntimeContext()
