"""How many CPUs and how much memory this host gives a node, as Ray sizes its default node:
a container's cgroup limits where there are any (a CPU quota, a cpuset, a memory limit),
else the machine's. ``ray._private.utils.get_num_cpus``/``_get_docker_cpus`` and
``ray._common.utils.get_system_memory`` are these functions under Ray's names."""
from __future__ import annotations

import logging
import multiprocessing
import os
from collections.abc import Callable

logger = logging.getLogger(__name__)

# cgroup v1 and v2 files (Ray's defaults)
CPU_QUOTA_FILE = "/sys/fs/cgroup/cpu/cpu.cfs_quota_us"
CPU_PERIOD_FILE = "/sys/fs/cgroup/cpu/cpu.cfs_period_us"
CPUSET_FILE = "/sys/fs/cgroup/cpuset/cpuset.cpus"
CPU_MAX_FILE = "/sys/fs/cgroup/cpu.max"
MEMORY_LIMIT_FILE = "/sys/fs/cgroup/memory/memory.limit_in_bytes"
MEMORY_MAX_FILE = "/sys/fs/cgroup/memory.max"

DOCKER_CPU_WARNING = (
    "Detecting docker specified CPUs. In previous versions of Ray, CPU detection in containers "
    "was incorrect. Please ensure that Ray has enough CPUs allocated. As a temporary "
    "workaround to revert to the prior behavior, set `RAY_USE_MULTIPROCESSING_CPU_COUNT=1` "
    "as an env var before starting Ray. Set the env var: `RAY_DISABLE_DOCKER_CPU_WARNING=1` "
    "to mute this warning.")


def _read(path: str) -> str | None:
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return None


def _quota(quota_file: str, period_file: str, max_file: str) -> float | None:
    """The CPU quota in CPUs (v1's quota/period, else v2's ``cpu.max``); ``None`` if none."""
    quota: float | None = None
    quota_text, period_text = _read(quota_file), _read(period_file)
    if quota_text is not None and period_text is not None:
        try:
            quota = float(quota_text) / float(period_text)
        except (ValueError, ZeroDivisionError):
            logger.exception("Unexpected error calculating docker cpu quota.")
    elif (max_text := _read(max_file)) is not None:
        parts = max_text.split()
        if len(parts) == 2 and parts[0].isnumeric() and parts[1].isnumeric():
            quota = float(parts[0]) / float(parts[1])  # "max <period>": no quota
    if quota is not None and quota < 0:  # v1's -1: no quota
        return None
    return 1.0 if quota == 0 else quota


def _cpuset_size(cpuset_file: str) -> int | None:
    """How many CPUs a cpuset list (``0-3,8,10-11``) names; ``None`` without one."""
    text = _read(cpuset_file)
    if not text:
        return None
    try:
        count = 0
        for part in text.split(","):
            low, _, high = part.partition("-")
            count += int(high) - int(low) + 1 if high else 1
        return count
    except ValueError:
        logger.exception("Unexpected error calculating docker cpuset ids.")
        return None


def docker_cpus(cpu_quota_file_name: str = CPU_QUOTA_FILE,
                cpu_period_file_name: str = CPU_PERIOD_FILE,
                cpuset_file_name: str = CPUSET_FILE,
                cpu_max_file_name: str = CPU_MAX_FILE) -> float | None:
    """The CPUs a container's cgroups allow (the smaller of its quota and its cpuset);
    ``None`` where they set no limit."""
    found = [n for n in (_quota(cpu_quota_file_name, cpu_period_file_name, cpu_max_file_name),
                         _cpuset_size(cpuset_file_name)) if n is not None]
    return min(found) if found else None


def num_cpus(override_docker_cpu_warning: bool = False, truncate: bool = True, *,
             docker: Callable[[], float | None] = docker_cpus,
             warning_disabled: bool | None = None,
             log: logging.Logger | None = None) -> float:
    """The CPUs of this host: the container's limit where it differs from the machine's
    count (with Ray's warning, unless on Kubernetes or muted), else the machine's;
    ``RAY_USE_MULTIPROCESSING_CPU_COUNT`` forces the machine's count."""
    log = log or logger
    count: float = multiprocessing.cpu_count()
    if os.environ.get("RAY_USE_MULTIPROCESSING_CPU_COUNT"):
        return count
    if warning_disabled is None:
        warning_disabled = "RAY_DISABLE_DOCKER_CPU_WARNING" in os.environ
    try:
        limit = docker()
    except Exception:  # cgroups are Linux-only; elsewhere the machine's count holds
        return count
    if limit is None or limit == count:
        return count
    if not ("KUBERNETES_SERVICE_HOST" in os.environ or warning_disabled
            or override_docker_cpu_warning):
        log.warning(DOCKER_CPU_WARNING)
    if int(limit) != float(limit):
        log.warning("Ray currently does not support initializing Ray with fractional cpus. "
                    f"Your num_cpus will be truncated from {limit} to {int(limit)}.")
    return int(limit) if truncate else limit


def system_memory(memory_limit_filename: str = MEMORY_LIMIT_FILE,
                  memory_limit_filename_v2: str = MEMORY_MAX_FILE) -> int:
    """This host's memory in bytes: a container's cgroup limit where it is below the
    machine's memory, else the machine's."""
    try:
        import psutil

        total = int(psutil.virtual_memory().total)
    except Exception:
        total = int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    for path in (memory_limit_filename, memory_limit_filename_v2):
        text = _read(path)
        if text is not None and text.isnumeric():  # v2's "max": no limit
            return min(int(text), total)
    return total
