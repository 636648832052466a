"""``ray.dashboard.k8s_utils``: Ray's dashboard agent's CPU accounting inside a Kubernetes
container (cgroup files). raylike's dashboard is Dask's, which has no such agent: each
function raises, naming itself."""
from typing import Any

from raylike._private._unavailable import unavailable

__all__: list[str] = []

_WHY = "raylike's dashboard is Dask's (no dashboard agent measuring container CPU)"
CPU_USAGE_PATH = "/sys/fs/cgroup/cpuacct/cpuacct.usage"  # Ray's paths, for code that names them
CPU_USAGE_PATH_V2 = "/sys/fs/cgroup/cpu.stat"
PROC_STAT_PATH = "/proc/stat"


def __getattr__(name: str) -> Any:
    if name.startswith("__"):
        raise AttributeError(name)
    return unavailable(f"ray.dashboard.k8s_utils.{name}", _WHY)
