"""A node's memory as Ray's memory monitor reads it (Linux): ``/proc/meminfo``'s
``MemTotal - MemAvailable`` of ``MemTotal``, unless a cgroup (v2, else v1) limits the process
to less than the machine: then the cgroup's limit, and its usage less its file cache (which
the kernel can reclaim). One read of a few small files; no third-party package. (Ray's
``get_system_memory`` is ``host_limits.system_memory``.)"""
from __future__ import annotations

import os

PROC_MEMINFO = "/proc/meminfo"
CGROUP_ROOT = "/sys/fs/cgroup"
# (limit file, usage file, stat file, inactive file key, active file key) of each version
_CGROUPS = (("memory.max", "memory.current", "memory.stat", "inactive_file", "active_file"),
            ("memory/memory.limit_in_bytes", "memory/memory.usage_in_bytes",
             "memory/memory.stat", "total_inactive_file", "total_active_file"))


def _meminfo(path: str = PROC_MEMINFO) -> tuple[int | None, int | None]:
    """(used, total) bytes of the machine; ``None`` where unknown."""
    fields: dict[str, int] = {}
    try:
        with open(path, "rb") as f:
            for line in f:
                name, _, rest = line.partition(b":")
                if name in (b"MemTotal", b"MemAvailable", b"MemFree", b"Buffers", b"Cached"):
                    fields[name.decode()] = int(rest.split()[0]) * 1024
    except (OSError, ValueError, IndexError):
        return None, None
    total = fields.get("MemTotal")
    if total is None:
        return None, None
    available = fields.get("MemAvailable")
    if available is None:  # an old kernel: free, buffers and page cache are available
        available = sum(fields.get(k, 0) for k in ("MemFree", "Buffers", "Cached"))
    return total - available, total


def _read_int(path: str) -> int | None:
    try:
        with open(path, "rb") as f:
            text = f.read().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None  # cgroup v2 writes "max" for no limit


def _cgroup(root: str = CGROUP_ROOT) -> tuple[int | None, int | None]:
    """(used, limit) bytes of this process's memory cgroup; ``None`` where unknown."""
    for limit_file, usage_file, stat_file, inactive_key, active_key in _CGROUPS:
        limit_path = os.path.join(root, limit_file)
        if not os.path.exists(limit_path):
            continue
        limit = _read_int(limit_path)
        usage = _read_int(os.path.join(root, usage_file))
        cache: dict[str, int] = {}
        try:
            with open(os.path.join(root, stat_file)) as f:
                for line in f:
                    key, _, value = line.partition(" ")
                    if key in (inactive_key, active_key):
                        cache[key] = int(value)
        except (OSError, ValueError):
            pass
        used = None
        if usage is not None and len(cache) == 2:
            used = usage - cache[inactive_key] - cache[active_key]
        return used, limit
    return None, None


def snapshot(root: str = CGROUP_ROOT, meminfo: str = PROC_MEMINFO) -> tuple[int, int]:
    """(used, total) bytes of the node as Ray's monitor sees them: the cgroup's when its
    limit is below the machine's memory, else the machine's. (0, 0) if nothing is readable."""
    used, total = _meminfo(meminfo)
    cg_used, cg_limit = _cgroup(root)
    if cg_limit is not None and (total is None or cg_limit <= total):
        total = cg_limit
        if cg_used is not None:
            used = cg_used
    return used or 0, total or 0


def get_used_memory() -> int:
    """Ray's ``get_used_memory``: the used memory in bytes of this process's memory cgroup,
    less its file cache, wherever the cgroup's files are (as Ray's, even with no limit);
    else the machine's."""
    used = _cgroup()[0]
    return used if used is not None else snapshot()[0]
