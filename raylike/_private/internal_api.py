"""Ray's ``ray._private.internal_api``: memory and store diagnostics. ``memory_summary`` is
Ray's report of every process's object references (``raylike._api.memory``); the raylet and
plasma-store reports it is built on in Ray (``node_stats``, ``get_memory_info_reply``) have no
counterpart and raise ``NotImplementedError``; ``get_state_from_address`` gives the connected
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

    if address not in (None, "auto") and \
            _plain(address) != _plain(raylike.get_runtime_context().gcs_address):
        raise NotImplementedError("ray._private.internal_api.get_state_from_address on raylike "
                                  "reads only the cluster this process is connected to")
    return state


def memory_summary(address: str | None = None, group_by: str = "NODE_ADDRESS",
                   sort_by: str = "OBJECT_SIZE", units: str = "B", line_wrap: bool = True,
                   stats_only: bool = False, num_entries: int | None = None) -> str:
    """Ray's memory report (what ``ray memory`` prints): every object reference held by the
    cluster's drivers, task and actor processes, grouped by node address or by call site
    (``group_by="STACK_TRACE"``), then the object store's figures (``stats_only``: those
    only). Call sites are recorded while ``RAY_record_ref_creation_sites=1`` (or the
    ``_system_config`` of that name), else shown as ``disabled``.

    Differences from Ray: sizes are Dask's (the values' sizes in memory, not their serialized
    size); the store's figures are what the Dask workers hold against their memory limits;
    the attempt number is always 1.
    """
    from raylike._api import memory_text as _text
    from raylike._api import state as _state

    get_state_from_address(address)  # the connected cluster only
    report = _state.query("memory", timeout=30.0)
    if stats_only:
        return _text.store_summary(report)
    return _text.summary(report, group_by, sort_by, line_wrap, units, num_entries) + \
        _text.store_summary(report)


def _plain(address: str) -> str:
    """``host:port`` of an address, its scheme left out (``tcp://``: Dask's, not Ray's)."""
    return address.split("://", 1)[-1]


def _refused(name: str, why: str) -> Any:
    return unavailable(f"ray._private.internal_api.{name}", why)


global_gc = _refused("global_gc", "raylike cannot ask every worker process to collect garbage")
get_memory_info_reply = _refused("get_memory_info_reply", _NO_STORE)
node_stats = _refused("node_stats", _NO_STORE)
store_stats_summary = _refused("store_stats_summary", _NO_STORE)
get_local_ongoing_lineage_reconstruction_tasks = _refused(
    "get_local_ongoing_lineage_reconstruction_tasks",
    "Dask recomputes lost results itself and reports no lineage reconstruction tasks")
