"""Ray's ``ray._private.services``: finding and starting a cluster's processes. raylike's
processes are Dask's (``ray.init`` starts them): address lookup and the liveness check of the
processes ``init`` started are real; starting Ray's own processes (GCS, raylet, monitor,
client server) raises ``NotImplementedError``."""
from __future__ import annotations

import os
import sys
from typing import Any

from raylike._api import runtime as _runtime
from raylike._private import ray_constants
from raylike._private._unavailable import unavailable

__all__ = ["RAY_MEMRAY_PROFILE_COMPONENT_ENV", "RAY_MEMRAY_PROFILE_OPTIONS_ENV",
           "get_node_ip_address", "get_node_to_connect_for_driver",
           "get_ray_address_from_environment", "remaining_processes_alive"]

RAY_MEMRAY_PROFILE_COMPONENT_ENV = "RAY_INTERNAL_MEM_PROFILE_COMPONENTS"
RAY_MEMRAY_PROFILE_OPTIONS_ENV = "RAY_INTERNAL_MEM_PROFILE_OPTIONS"
_NOT_RAY = "raylike's cluster is Dask's scheduler and workers, not Ray's processes"


def get_ray_address_from_environment(addr: str | None, temp_dir: str | None) -> str | None:
    """The address to connect to: ``RAY_ADDRESS`` if set, else ``addr``; None (start a new
    cluster) when neither names one. ``"auto"`` needs ``RAY_ADDRESS`` (raylike records no
    address of a cluster started earlier): ``ConnectionError`` without it."""
    env_addr = os.environ.get(ray_constants.RAY_ADDRESS_ENVIRONMENT_VARIABLE)
    if env_addr:
        addr = env_addr
    if addr is not None and addr != "auto":
        return addr
    if addr is None:
        return None
    raise ConnectionError("Could not find any running Ray instance. Please specify the one to "
                          "connect to by setting `--address` flag or `RAY_ADDRESS` "
                          "environment variable.")


def remaining_processes_alive() -> bool:
    """Whether the scheduler and the worker that ``ray.init`` started are all still running
    (``RuntimeError`` if this process started none)."""
    runtime = _runtime.driver()
    cluster = runtime.cluster if runtime is not None else None
    if cluster is None:
        raise RuntimeError("This process is not in a position to determine whether all "
                           "processes are alive or not.")
    procs: list[Any] = [cluster.scheduler, *cluster.workers[-1:]]
    return all(proc is not None and proc.exitcode is None for proc in procs)


def _no_site() -> int:
    """Whether this interpreter runs without ``site`` (``python -S``); the processes ``init``
    starts inherit it, as Ray's workers do."""
    return int(sys.flags.no_site)


def _no_user_site() -> int:
    """Whether this interpreter skips the user's site-packages (``python -s``); inherited
    like :func:`_no_site`."""
    return int(sys.flags.no_user_site)


def get_node_ip_address(address: str | None = None) -> str:
    """The IP address of this process's node."""
    from raylike.util import get_node_ip_address as node_ip

    return node_ip()


get_node_to_connect_for_driver = unavailable(
    "ray._private.services.get_node_to_connect_for_driver", _NOT_RAY)
_build_python_executable_command_memory_profileable = unavailable(
    "ray._private.services._build_python_executable_command_memory_profileable", _NOT_RAY)
start_ray_process = unavailable("ray._private.services.start_ray_process", _NOT_RAY)
start_gcs_server = unavailable("ray._private.services.start_gcs_server", _NOT_RAY)
start_raylet = unavailable("ray._private.services.start_raylet", _NOT_RAY)
start_monitor = unavailable("ray._private.services.start_monitor", _NOT_RAY)
start_ray_client_server = unavailable("ray._private.services.start_ray_client_server",
                                      "raylike has no Ray Client")
