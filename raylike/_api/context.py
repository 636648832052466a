"""Where the calling code runs: the running task's or actor's ``TaskInfo``, ``get_gpu_ids()``.

Inside a task or actor the worker hands the child a ``TaskInfo`` with each call; it is kept in a
context variable so the threads of a threaded actor each see their own call. The public view of
it is ``ray.get_runtime_context()`` (``raylike.runtime_context``).
"""
from __future__ import annotations

import contextvars
import os
import sys
from dataclasses import dataclass, field
from typing import Any

from raylike._api import runtime as _runtime
from raylike._process import worker_env as _worker_env


@dataclass
class TaskInfo:
    """What a running task or actor call knows about itself."""

    key: str  # the Dask key of the task (for an actor: of its current call)
    name: str  # Ray's task name: the function's (or ``.options(name=)``), "Class.method"
    job_id: str
    node_id: str
    namespace: str | None = None
    actor_id: str | None = None
    gpu_ids: list[str] = field(default_factory=list)
    accelerator_ids: dict[str, list[str]] = field(default_factory=dict)  # GPU's too
    resources: dict[str, float] = field(default_factory=dict)
    restarted: bool = False
    function_name: str = ""  # "module.function", "module.Class.method"
    actor_name: str = ""  # the actor's name ("" when it has none)
    gcs_address: str = ""  # the Dask scheduler's address
    is_async: bool = False  # an async actor
    actor_meta: Any = None  # the actor's ``ActorMeta`` (to build a handle to itself)
    reservation: str = ""  # the Dask key of the actor's reservation task
    placement: Any = None  # its placement group bundle (``_pg_options.Placement``), if any
    canceled: bool = False  # ``ray.cancel`` reached this actor call (``is_canceled()``)
    children: list[str] | None = None  # keys of what this actor call submitted (a cancel's
    # ``recursive``); None where nobody asks (tasks: their worker keeps that list)
    detached_default: bool = False  # its job's ``JobConfig(default_actor_lifetime="detached")``
    depth: int = 0  # Ray's task depth (an actor's: that of its creation task)


def function_name(obj: Any, qualified: bool = False) -> str:
    """``module.name`` of a function or class, as Ray 2.60 names it: its ``__name__``, so a
    function defined inside another is not ``outer.<locals>.inner`` (a script's ``__main__``
    is named after the script's file). ``qualified``: its ``__qualname__`` instead (Ray 2.60
    names an async actor's methods that way)."""
    module = getattr(obj, "__module__", None) or "__main__"
    if module == "__main__":
        main_file = getattr(sys.modules.get("__main__"), "__file__", None)
        if main_file:
            module = os.path.splitext(os.path.basename(main_file))[0]
    name = getattr(obj, "__qualname__" if qualified else "__name__", None)
    return f"{module}.{name or getattr(obj, '__name__', '?')}"


_current: contextvars.ContextVar[TaskInfo | None] = contextvars.ContextVar(
    "raylike_task", default=None)
_actor_info: TaskInfo | None = None  # set in an actor's process for its lifetime
_canceled = False  # ``ray.cancel`` reached the running task (``is_canceled()``)
_task_env: dict[str, str | None] = {}  # what the running task's variables replaced
_running: TaskInfo | None = None  # the task this task process runs (its threads see it too)


def current() -> TaskInfo | None:
    """The running task's (or actor's) info, or None in the driver."""
    return _current.get() or _actor_info or _running


def enter(info: TaskInfo) -> contextvars.Token[TaskInfo | None]:
    """Make ``info`` current; in a task process, set Ray's variables for it
    (``raylike._process.worker_env``: an actor's were set once, by :func:`set_actor`)."""
    global _canceled, _task_env, _running
    if _actor_info is None:
        _worker_env.restore(_task_env)
        _task_env = _worker_env.apply(info.resources, info.gpu_ids, info.accelerator_ids)
        _running = info
    _canceled = False
    return _current.set(info)


def leave(token: contextvars.Token[TaskInfo | None]) -> None:
    """End what :func:`enter` began (a task's variables are undone: its process is reused)."""
    global _task_env, _running
    _current.reset(token)
    if _actor_info is None:
        _worker_env.restore(_task_env)
        _task_env, _running = {}, None


def set_actor(info: TaskInfo | None) -> None:
    """Declare this process an actor's (its info and variables stay for its lifetime)."""
    global _actor_info
    _actor_info = info
    if info is not None:
        _worker_env.apply(info.resources, info.gpu_ids, info.accelerator_ids)


def get_gpu_ids() -> list[int] | list[str]:
    """The GPU ids assigned to the running task or actor (``[]`` outside one)."""
    info = current()
    if info is None:
        _runtime.backend(auto_init=True)  # as Ray: a driver's call starts a cluster
        return []
    ids = list(info.gpu_ids)
    return [int(i) for i in ids] if all(i.isdigit() for i in ids) else ids


def task_id_hex(info: TaskInfo) -> str:
    """The Ray task id (hex) of the task or actor call ``info`` describes, as its caller's
    ``ref.task_id()`` gives it."""
    from raylike._api import ids as _ids

    return _ids.task_id(info.key, info.actor_id or None, info.job_id)


def current_job_id() -> str:
    """The job id of the calling driver, task or actor."""
    info = current()
    if info is not None:
        return info.job_id
    runtime = _runtime.driver()
    return runtime.job_id if runtime is not None else ""


def current_owner() -> str:
    """Who submits a call made here, as Ray's parent task: the running task or actor call
    (by its key), or the driver (by its job)."""
    info = current()
    return info.key if info is not None else f"driver:{current_job_id()}"


def task_depth() -> int:
    """Ray's task depth of the calling code: 0 in a driver, 1 in a task the driver submitted,
    one more for each level of nesting (an actor's calls: its creation task's)."""
    info = current()
    return info.depth if info is not None else 0


def default_detached() -> bool:
    """Whether actors created here are detached unless told otherwise (the job's
    ``JobConfig.default_actor_lifetime``)."""
    info = current()
    if info is not None:
        return info.detached_default
    runtime = _runtime.driver()
    return runtime.detached_default if runtime is not None else False


def current_namespace() -> str | None:
    """The namespace of the calling driver, task or actor."""
    info = current()
    if info is not None:
        return info.namespace
    runtime = _runtime.driver()
    return runtime.namespace if runtime is not None else None


def mark_canceled() -> None:
    """``ray.cancel`` interrupted the running task (a task process's SIGINT handler)."""
    global _canceled
    _canceled = True


def canceled() -> bool:
    """Whether ``ray.cancel`` reached the running task (or this thread's actor call)."""
    info = _current.get()
    return _canceled or (info is not None and info.canceled)


def note_submitted(key: str) -> None:
    """The running actor call submitted task or call ``key`` (a recursive cancel's child)."""
    info = _current.get()
    if info is not None and info.children is not None:
        info.children.append(key)
