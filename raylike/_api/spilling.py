"""Ray's ``object_spilling_config`` (a ``_system_config`` key, JSON): checked at ``init`` as
Ray checks it, before any process starts. Dask spills a node's objects itself
(docs/design/objects.md), so a valid configuration changes nothing else."""
from __future__ import annotations

import json
from typing import Any

# each storage type Ray knows, and the parameters its storage class takes
FILESYSTEM_PARAMS = frozenset({"directory_path", "buffer_size"})
SMART_OPEN_PARAMS = frozenset({"uri", "buffer_size", "override_transport_params"})
TYPES = {"filesystem": FILESYSTEM_PARAMS, "mock_distributed_fs": FILESYSTEM_PARAMS,
         "unstable_fs": FILESYSTEM_PARAMS, "slow_fs": FILESYSTEM_PARAMS,
         "smart_open": SMART_OPEN_PARAMS}


def parse(config: Any) -> dict[str, Any]:
    """The configuration as a dict (Ray passes it as a JSON string)."""
    value = json.loads(config) if isinstance(config, (str, bytes)) else config
    if not isinstance(value, dict):
        raise ValueError(f"object_spilling_config must be a JSON object, got {config!r}")
    return value


def validate(config: Any) -> dict[str, Any]:
    """Raise for an unknown storage type (``ValueError``), or unknown or ill-typed
    parameters (``TypeError``), as creating Ray's storage would; the parsed config."""
    value = parse(config)
    kind = value.get("type")
    if kind not in TYPES:
        raise ValueError(f"Unknown external storage type: {kind}")
    params = value.get("params") or {}
    if not isinstance(params, dict):
        raise TypeError(f"object_spilling_config params must be a dict, got {params!r}")
    unknown = sorted(set(params) - TYPES[kind])
    if unknown:
        raise TypeError(f"object_spilling_config: unexpected parameter(s) {unknown} for "
                        f"storage type {kind!r}")
    if "buffer_size" in params and not isinstance(params["buffer_size"], int):
        raise TypeError("buffer_size must be an integer.")
    return value
