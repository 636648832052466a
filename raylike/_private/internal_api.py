"""Ray's ``ray._private.internal_api``: memory and store diagnostics of Ray's raylets. raylike's
objects live in Dask workers' memory, which Ray's reports (``ray memory``) do not describe: those
functions raise ``NotImplementedError``; ``get_state_from_address`` gives the connected
cluster's global state."""
from __future__ import annotations

from typing import Any

from raylike._private._unavailable import unavailable
from raylike._private.state import GlobalState, state

__all__ = ["get_local_ongoing_lineage_reconstruction_tasks", "get_memory_info_reply",
           "get_state_from_address", "global_gc", "memory_summary", "node_stats",
           "store_stats_summary"]

_NO_STORE = "raylike's objects are held by Dask workers, without Ray's object store reports"


def get_state_from_address(address: str | None = None) -> GlobalState:
    """The global state of the cluster this process is connected to (``address`` must be
    its address or None)."""
    import raylike

    if address not in (None, "auto") and address != raylike.get_runtime_context().gcs_address:
        raise NotImplementedError("ray._private.internal_api.get_state_from_address on raylike "
                                  "reads only the cluster this process is connected to")
    return state


def _refused(name: str, why: str) -> Any:
    return unavailable(f"ray._private.internal_api.{name}", why)


global_gc = _refused("global_gc", "raylike cannot ask every worker process to collect garbage")
memory_summary = _refused("memory_summary", _NO_STORE)
get_memory_info_reply = _refused("get_memory_info_reply", _NO_STORE)
node_stats = _refused("node_stats", _NO_STORE)
store_stats_summary = _refused("store_stats_summary", _NO_STORE)
get_local_ongoing_lineage_reconstruction_tasks = _refused(
    "get_local_ongoing_lineage_reconstruction_tasks",
    "Dask recomputes lost results itself and reports no lineage reconstruction tasks")
