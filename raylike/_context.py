"""Where the calling code runs: ``get_runtime_context()``, ``get_gpu_ids()``.

Inside a task or actor the worker hands the child a ``TaskInfo`` with each call; it is kept in a
context variable so the threads of a threaded actor each see their own call.
"""
from __future__ import annotations

import contextvars
import os
from dataclasses import dataclass, field
from typing import Any

from raylike import _runtime


@dataclass
class TaskInfo:
    """What a running task or actor call knows about itself."""

    task_id: str
    name: str
    job_id: str
    node_id: str
    namespace: str | None = None
    actor_id: str | None = None
    gpu_ids: list[str] = field(default_factory=list)
    resources: dict[str, float] = field(default_factory=dict)
    restarted: bool = False


_current: contextvars.ContextVar[TaskInfo | None] = contextvars.ContextVar(
    "raylike_task", default=None)
_actor_info: TaskInfo | None = None  # set in an actor's process for its lifetime


def current() -> TaskInfo | None:
    """The running task's (or actor's) info, or None in the driver."""
    return _current.get() or _actor_info


def enter(info: TaskInfo) -> contextvars.Token[TaskInfo | None]:
    """Make ``info`` current; set ``CUDA_VISIBLE_DEVICES`` to its GPUs (empty for none, as
    Ray does, so a reused process never shows a GPU that is not the task's)."""
    os.environ["CUDA_VISIBLE_DEVICES"] = ",".join(info.gpu_ids)
    return _current.set(info)


def leave(token: contextvars.Token[TaskInfo | None]) -> None:
    _current.reset(token)


def set_actor(info: TaskInfo | None) -> None:
    """Declare this process an actor's (its info stays current between calls)."""
    global _actor_info
    _actor_info = info
    if info is not None and info.gpu_ids:
        os.environ["CUDA_VISIBLE_DEVICES"] = ",".join(info.gpu_ids)


def get_gpu_ids() -> list[int] | list[str]:
    """The GPU ids assigned to the running task or actor (``[]`` outside one)."""
    info = current()
    if info is None:
        return []
    ids = list(info.gpu_ids)
    return [int(i) for i in ids] if all(i.isdigit() for i in ids) else ids


def current_job_id() -> str:
    """The job id of the calling driver, task or actor."""
    info = current()
    if info is not None:
        return info.job_id
    runtime = _runtime.driver()
    return runtime.job_id if runtime is not None else ""


def current_namespace() -> str | None:
    """The namespace of the calling driver, task or actor."""
    info = current()
    if info is not None:
        return info.namespace
    runtime = _runtime.driver()
    return runtime.namespace if runtime is not None else None


class RuntimeContext:
    """The answer of ``ray.get_runtime_context()``."""

    def get_job_id(self) -> str:
        return current_job_id()

    @property
    def job_id(self) -> str:
        return self.get_job_id()

    def get_task_id(self) -> str | None:
        info = _current.get()
        return info.task_id if info is not None else None

    def get_actor_id(self) -> str | None:
        info = current()
        return info.actor_id if info is not None else None

    def get_actor_name(self) -> str | None:
        info = current()
        return info.name if info is not None and info.actor_id else None

    def get_node_id(self) -> str:
        info = current()
        if info is not None:
            return info.node_id
        from raylike import _state

        nodes = _state.nodes()
        return str(nodes[0]["NodeID"]) if nodes else ""

    def get_worker_id(self) -> str:
        return f"{os.getpid():x}"

    def get_assigned_resources(self) -> dict[str, float]:
        info = current()
        return dict(info.resources) if info is not None else {}

    def get_accelerator_ids(self) -> dict[str, list[str]]:
        info = current()
        return {"GPU": list(info.gpu_ids) if info is not None else []}

    def was_current_actor_reconstructed(self) -> bool:
        info = current()
        return bool(info and info.restarted)

    @property
    def namespace(self) -> str | None:
        return current_namespace()

    def get(self) -> dict[str, Any]:
        return {"job_id": self.get_job_id(), "task_id": self.get_task_id(),
                "actor_id": self.get_actor_id(), "node_id": self.get_node_id(),
                "namespace": self.namespace}


def get_runtime_context() -> RuntimeContext:
    """Information about the running job, task or actor."""
    return RuntimeContext()
