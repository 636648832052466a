"""raylike: Ray's core API on Dask.

``import raylike as ray`` and a Ray program runs on a Dask cluster: an embedded local one by
default, or any existing one by address (``ray.init("tcp://host:8786")``).

Architecture (see docs/design.md): ``_runtime`` owns the process's state and the Dask client;
``_backend`` is the only module that talks to Dask's client API; a Ray node is one Dask worker,
extended by the ``_node`` plugin, which runs user code in child processes (``_pool``,
``_child``); ``_tasks``, ``_objects`` and ``_actors`` implement the Ray concepts on top;
``exceptions`` holds every error a user can see, and ``_errors`` translates Dask's.
"""
from raylike import actor, exceptions, util
from raylike._actors import get_actor, kill
from raylike._context import get_gpu_ids, get_runtime_context
from raylike._objects import ObjectRef, cancel, get, put, wait
from raylike._remote import method, remote
from raylike._runtime import init, is_initialized, shutdown
from raylike._state import available_resources, cluster_resources, nodes

__version__ = "0.1.0"

__all__ = [
    "ObjectRef",
    "actor",
    "available_resources",
    "cancel",
    "cluster_resources",
    "exceptions",
    "get",
    "get_actor",
    "get_gpu_ids",
    "get_runtime_context",
    "init",
    "is_initialized",
    "kill",
    "method",
    "nodes",
    "put",
    "remote",
    "shutdown",
    "util",
    "wait",
]
