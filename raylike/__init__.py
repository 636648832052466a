"""raylike: Ray's core API on Dask.

``import raylike as ray`` and a Ray program runs on a Dask cluster: an embedded local one by
default, or any existing one by address (``ray.init("tcp://host:8786")``).

Architecture (see docs/design.md): ``_runtime`` owns the process's state and the Dask client;
``_backend`` is the only module that talks to Dask's client API; a Ray node is one Dask worker,
extended by the ``_node`` plugin, which runs user code in child processes (``_pool``,
``_child``); ``_tasks``, ``_objects`` and ``_actors`` implement the Ray concepts on top;
``exceptions`` holds every error a user can see, and ``_errors`` translates Dask's.
"""
import logging as _logging
import sys as _sys
from types import ModuleType as _ModuleType

from raylike import (
                  _raylet,  # noqa: F401 (Ray's module of its ref, generator and id classes)
                  actor,
                  client_builder,
                  cloudpickle,
                  core,
                  cross_language,
                  exceptions,
                  experimental,
                  internal,
                  job_config,
                  remote_function,
                  runtime_context,
                  runtime_env,
                  util,
                  widgets,
)
from raylike._api import logging_config as log
from raylike._api import runtime as _runtime
from raylike._api.actors import get_actor, kill
from raylike._api.aliases import DeprecatedModule as _DeprecatedModule
from raylike._api.context import get_gpu_ids
from raylike._api.generators import DynamicObjectRefGenerator, ObjectRefGenerator
from raylike._api.ids import (
                  ActorClassID,
                  ActorID,
                  ClusterID,
                  FunctionID,
                  JobID,
                  NodeID,
                  PlacementGroupID,
                  TaskID,
                  UniqueID,
                  WorkerID,
)
from raylike._api.logging_config import LoggingConfig
from raylike._api.objects import ObjectRef, cancel, get, put, wait
from raylike._api.remote import method, remote
from raylike._api.runtime import init, is_initialized, shutdown
from raylike._api.state import available_resources, cluster_resources, nodes, timeline
from raylike.client_builder import ClientBuilder, client
from raylike.cross_language import Language, java_actor_class, java_function
from raylike.runtime_context import get_runtime_context

__version__ = _runtime.RAY_VERSION  # the Ray release whose API this is, as Ray programs check
__commit__ = "raylike"
__raylike_version__ = "0.1.0"

ObjectID = ObjectRef  # Ray's old name of ObjectRef

# Ray's process modes (``ray.SCRIPT_MODE`` is a driver, ``ray.WORKER_MODE`` a worker)
SCRIPT_MODE = 0
WORKER_MODE = 1
SPILL_WORKER_MODE = 2
RESTORE_WORKER_MODE = 3

AUTO_INIT_APIS = {"cancel", "get", "get_actor", "get_gpu_ids", "get_runtime_context",
                  "kill", "put", "wait"}
NON_AUTO_INIT_APIS = {
    "ClientBuilder", "Language", "LoggingConfig", "SCRIPT_MODE", "WORKER_MODE", "__version__",
    "_config", "autoscaler", "available_resources", "client", "cluster_resources",
    "cpp_function", "init", "is_initialized", "java_actor_class", "java_function", "method",
    "nodes", "remote", "shutdown", "timeline"}

logger = _logging.getLogger("raylike")
ray = _sys.modules[__name__]  # Ray's package has itself as ``ray.ray``

# Ray's deprecated aliases of its private modules
worker = _DeprecatedModule("worker", _runtime)
state = _DeprecatedModule("state", _sys.modules["raylike._api.state"])
serialization = _DeprecatedModule("serialization", _sys.modules["raylike._api.serialization"])
ray_constants = _DeprecatedModule("ray_constants", _sys.modules["raylike._api.ids"])

__all__ = [
    "AUTO_INIT_APIS",
    "ActorClassID",
    "ActorID",
    "ClientBuilder",
    "ClusterID",
    "DynamicObjectRefGenerator",
    "FunctionID",
    "JobID",
    "Language",
    "LoggingConfig",
    "NON_AUTO_INIT_APIS",
    "NodeID",
    "ObjectID",
    "ObjectRef",
    "ObjectRefGenerator",
    "PlacementGroupID",
    "RESTORE_WORKER_MODE",
    "SCRIPT_MODE",
    "SPILL_WORKER_MODE",
    "TaskID",
    "UniqueID",
    "WORKER_MODE",
    "WorkerID",
    "actor",
    "available_resources",
    "cancel",
    "client",
    "client_builder",
    "cloudpickle",
    "cluster_resources",
    "core",
    "cross_language",
    "exceptions",
    "experimental",
    "get",
    "get_actor",
    "get_gpu_ids",
    "get_runtime_context",
    "init",
    "internal",
    "is_initialized",
    "java_actor_class",
    "java_function",
    "job_config",
    "kill",
    "log",
    "logger",
    "method",
    "nodes",
    "put",
    "ray",
    "ray_constants",
    "remote",
    "remote_function",
    "runtime_context",
    "runtime_env",
    "serialization",
    "shutdown",
    "state",
    "timeline",
    "util",
    "wait",
    "widgets",
    "worker",
]


def __getattr__(name: str) -> _ModuleType:
    """Ray's subpackages that ``import ray`` leaves unimported until first used (as Ray:
    ``ray.autoscaler``; ``ray.data`` and ``ray.workflow`` are not part of raylike)."""
    if name in ("data", "workflow", "autoscaler"):
        import importlib

        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


del _logging, _sys  # as Ray's package, which keeps no standard modules among its names
