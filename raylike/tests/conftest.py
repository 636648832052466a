"""``ray.tests.conftest``: the helpers Ray's test files import from Ray's conftest by
module path (``call_ray_start_context``, and ``call_ray_start``, a fixture there: a test file
that imports it still gets the fixture of the conftest pytest runs, this function is no
fixture). It starts a cluster with Ray's ``ray start`` command line, which raylike does not
have (its command is ``raylike start``, on Dask's processes): using it raises. This module
defines no fixtures; it also holds Ray's object-spilling configuration dicts.
"""
from __future__ import annotations

from typing import Any

__all__ = ["buffer_object_spilling_config", "call_ray_start", "call_ray_start_context",
           "file_system_object_spilling_config", "mock_distributed_fs_object_spilling_config",
           "spill_local_path"]

# Ray's object-spilling configurations its tests start clusters with (``_system_config``'s
# ``object_spilling_config``, as JSON); the fixtures of the conftest pytest runs copy them.
spill_local_path = "/tmp/spill"
file_system_object_spilling_config = {"type": "filesystem",
                                      "params": {"directory_path": spill_local_path}}
buffer_object_spilling_config = {
    "type": "filesystem", "params": {"directory_path": spill_local_path,
                                     "buffer_size": 1_000_000}}
mock_distributed_fs_object_spilling_config = {"type": "mock_distributed_fs",
                                              "params": {"directory_path": spill_local_path}}


def call_ray_start_context(request: Any) -> Any:
    """Ray's context manager that runs ``ray start`` and yields the cluster's address."""
    raise NotImplementedError("ray.tests.conftest.call_ray_start_context is not available on "
                              "raylike: it runs Ray's `ray start` command; start a raylike "
                              "cluster with `raylike start` or cluster_utils.Cluster")


def call_ray_start(request: Any = None) -> Any:
    """Ray's fixture that runs ``ray start``; called directly, it raises."""
    raise NotImplementedError("ray.tests.conftest.call_ray_start is not available on raylike "
                              "as a function: it is a fixture of Ray's conftest, which runs "
                              "`ray start`; start a raylike cluster with `raylike start` or "
                              "cluster_utils.Cluster")
