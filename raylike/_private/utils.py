"""The parts of Ray's ``ray._private.utils`` that Ray's test files use."""
from __future__ import annotations

import contextlib
import importlib
import logging
import os
import re
import signal
import sys
import threading
from types import FrameType, TracebackType
from typing import Any

from raylike._api import host_limits as _host_limits
from raylike._api.system_memory import get_used_memory
from raylike._private import ray_constants
from raylike._process.env_setup import update_envs

__all__ = ["DeferSigint", "compute_driver_id_from_job", "compute_job_id_from_driver",
           "get_directory_size_bytes",
           "detect_fate_sharing_support", "get_current_node_cpu_model_name",
           "get_num_cpus",
           "get_ray_doc_version", "get_shared_memory_bytes", "get_system_memory",
           "get_used_memory",
           "parse_pg_formatted_resources_to_original", "publish_error_to_driver",
           "resolve_object_store_memory", "try_import_each_module", "update_envs"]

logger = logging.getLogger(__name__)

ENV_DISABLE_DOCKER_CPU_WARNING = "RAY_DISABLE_DOCKER_CPU_WARNING" in os.environ
get_system_memory = _host_limits.system_memory  # Ray's: a container's lower limit
_get_docker_cpus = _host_limits.docker_cpus  # a container's CPU limit (None: none)


def compute_job_id_from_driver(driver_id: Any) -> Any:
    """The job of a driver: the first bytes of the driver's worker id, as Ray forms them."""
    from raylike._api import ids as _ids

    if not isinstance(driver_id, _ids.WorkerID):
        raise TypeError(f"expected a WorkerID, got {type(driver_id).__name__}")
    return _ids.JobID(driver_id.binary()[:_ids.JobID.size()])


def compute_driver_id_from_job(job_id: Any) -> Any:
    """The worker id of a job's driver (the job's bytes, then ``ff`` bytes)."""
    from raylike._api import ids as _ids

    if not isinstance(job_id, _ids.JobID):
        raise TypeError(f"expected a JobID, got {type(job_id).__name__}")
    return _ids.WorkerID.from_hex(_ids.driver_worker_id(job_id.hex()))


def get_directory_size_bytes(path: str | os.PathLike[str] = ".") -> int:
    """The bytes of the files under ``path`` (links not followed)."""
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            file = os.path.join(root, name)
            if not os.path.islink(file):
                total += os.path.getsize(file)
    return total


def get_num_cpus(override_docker_cpu_warning: bool = False, truncate: bool = True) -> float:
    """The CPUs of this host as a node counts them (``raylike._api.host_limits.num_cpus``),
    with this module's ``_get_docker_cpus``, warning switch and logger, as Ray's."""
    return _host_limits.num_cpus(override_docker_cpu_warning, truncate,
                                 docker=lambda: _get_docker_cpus(),
                                 warning_disabled=ENV_DISABLE_DOCKER_CPU_WARNING, log=logger)

# a placement group's per-bundle and group-wide resource names: "<name>_group_<i>_<pg id>",
# "<name>_group_<pg id>"; "bundle" is the marker resource every bundle holds
_PG_INDEXED_RESOURCE = re.compile(r"(.+)_group_(\d+)_([0-9a-zA-Z]+)")
_PG_WILDCARD_RESOURCE = re.compile(r"(.+)_group_([0-9a-zA-Z]+)")
_PG_BUNDLE_MARKER = "bundle"


class DeferSigint:
    """Hold back SIGINT (Ctrl-C) while the block runs: signals that arrive are noted, and a
    SIGINT handler set inside the block (``signal.signal``) takes effect only at its end. On
    exit the last handler set (else the one before the block) is installed and, if a SIGINT
    arrived, runs once. Only in the main thread, which alone receives signals (elsewhere a
    no-op)."""

    def __init__(self) -> None:
        self._received = False
        self._previous: Any = None
        self._set_inside: Any = None
        self._real_signal: Any = None

    @classmethod
    def create_if_main_thread(cls) -> contextlib.AbstractContextManager[Any]:
        """A ``DeferSigint`` in the main thread; elsewhere a context manager that does
        nothing (only the main thread receives signals)."""
        if threading.current_thread() is threading.main_thread():
            return cls()
        return contextlib.nullcontext()

    def _defer(self, signum: int, frame: FrameType | None) -> None:
        self._received = True

    def _signal(self, signum: int, handler: Any) -> Any:
        if signum != signal.SIGINT:
            return self._real_signal(signum, handler)
        before = self._set_inside if self._set_inside is not None else self._previous
        self._set_inside = handler
        return before

    def __enter__(self) -> DeferSigint:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._defer)
            self._real_signal = signal.signal
            signal.signal = self._signal  # type: ignore[assignment]
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._real_signal is None:
            return
        signal.signal = self._real_signal
        handler = self._set_inside if self._set_inside is not None else self._previous
        signal.signal(signal.SIGINT, handler)
        self._real_signal = self._previous = self._set_inside = None
        if self._received:
            signal.raise_signal(signal.SIGINT)


def publish_error_to_driver(error_type: str, message: str, gcs_client: Any = None,
                            job_id: Any = None, num_retries: Any = None) -> None:
    """Push an error message to drivers (those of ``job_id``, or all when None), as Ray's
    components do; from a driver only (``gcs_client``: unused, the driver's connection
    publishes)."""
    from raylike._api import runtime as _runtime
    from raylike._api.error_pubsub import publish

    runtime = _runtime.driver()
    if runtime is None:
        raise NotImplementedError("ray._private.utils.publish_error_to_driver works on "
                                  "raylike only in a driver connected by ray.init()")
    job = job_id.hex() if hasattr(job_id, "hex") and not isinstance(job_id, str) else job_id
    publish(runtime.client, error_type, message, job or "")


def get_ray_doc_version() -> str:
    """The docs.ray.io version of this API: ``releases-<version>`` for a release, ``master``
    otherwise."""
    import raylike

    if re.fullmatch(r"\d+\.\d+\.\d+", raylike.__version__) is None:
        return "master"
    return f"releases-{raylike.__version__}"


def parse_pg_formatted_resources_to_original(
        pg_formatted_resources: dict[str, float]) -> dict[str, float]:
    """Resource amounts named as a placement group names them, back under their own names
    (the bundle marker resource dropped)."""
    original: dict[str, float] = {}
    for key, value in pg_formatted_resources.items():
        match = _PG_INDEXED_RESOURCE.fullmatch(key) or _PG_WILDCARD_RESOURCE.fullmatch(key)
        if match is None:
            original[key] = value
        elif match.group(1) != _PG_BUNDLE_MARKER:
            original[match.group(1)] = value
    return original


def try_import_each_module(module_names_to_import: list[str]) -> None:
    """Import each named module; one that fails is logged (``logger.exception``) and
    skipped."""
    for name in module_names_to_import:
        try:
            importlib.import_module(name)
        except ImportError:
            logger.exception(f'Failed to preload the module "{name}"')


def get_current_node_cpu_model_name() -> str | None:
    """The CPU's model name from ``/proc/cpuinfo`` (Linux only; None elsewhere or if
    unreadable)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        logger.debug("Failed to read the CPU model name", exc_info=True)
    return None


def get_shared_memory_bytes() -> int:
    """Bytes available in ``/dev/shm`` (Linux)."""
    assert sys.platform.startswith("linux"), "/dev/shm exists on Linux only"
    stats = os.statvfs("/dev/shm")
    return stats.f_bsize * stats.f_bavail


def resolve_object_store_memory(available_memory_bytes: int,
                                object_store_memory: int | None = None) -> int:
    """The object store size Ray would give a node: ``object_store_memory`` if given, else
    30% of ``available_memory_bytes``, capped at 200 GB and (on Linux) at 95% of
    ``/dev/shm`` (but not below 10 GB), and at 2 GiB on macOS."""
    if object_store_memory is not None:
        return object_store_memory
    cap = ray_constants.DEFAULT_OBJECT_STORE_MAX_MEMORY_BYTES
    if sys.platform.startswith("linux"):
        shm_cap = max(ray_constants.REQUIRE_SHM_SIZE_THRESHOLD,
                      int(get_shared_memory_bytes() * 0.95))
        cap = min(cap, shm_cap)
    size = int(available_memory_bytes * ray_constants.DEFAULT_OBJECT_STORE_MEMORY_PROPORTION)
    if sys.platform == "darwin":
        size = min(size, ray_constants.MAC_DEGRADED_PERF_MMAP_SIZE_LIMIT)
    return min(size, cap)


def detect_fate_sharing_support() -> bool:
    """Whether child processes can be made to die with their parent (Linux ``prctl``)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        return bool(ctypes.CDLL(None).prctl)
    except (AttributeError, OSError):
        return False


def write_ray_address(ray_address: str, temp_dir: str | None = None) -> None:
    """Record ``ray_address`` as the cluster started last on this machine (what ``init()``
    with no address joins while it accepts connections), as Ray's address file does."""
    from raylike._dask.cluster.embedded import record_current

    record_current(ray_address if "://" in ray_address else f"tcp://{ray_address}")
