"""Ray's ``ray._private.state``: the global state accessors of Ray's GCS, answered from
raylike's own sources (the scheduler's view of nodes and resources, the state API's rows).

What only Ray's GCS holds (the job table, the autoscaler's cluster config, draining nodes,
debugger ports, object transfer events) raises ``NotImplementedError`` naming the accessor.
"""
from __future__ import annotations

from typing import Any

from raylike._api import state as _state

__all__ = ["GlobalState", "actors", "available_resources", "available_resources_per_node",
           "cluster_resources", "current_node_id", "jobs", "next_job_id", "node_ids",
           "nodes", "object_transfer_timeline", "state", "timeline",
           "total_resources_per_node", "workers"]

NODE_ID_PREFIX = "node:"
_MAX_ROWS = 10_000  # the state API's largest limit


def _unsupported(name: str, why: str) -> NotImplementedError:
    return NotImplementedError(f"ray._private.state.{name} is not available on raylike: {why}")


def _actor_info(row: Any) -> dict[str, Any]:
    """One actor in the shape of Ray's actor table; what raylike does not record (start and
    end times, owner address) is 0 or empty, as in an unset Ray record."""
    address = {"IPAddress": "", "Port": 0, "NodeID": row.node_id or ""}
    return {
        "ActorID": row.actor_id, "ActorClassName": row.class_name,
        "IsDetached": bool(row.is_detached), "Name": row.name or "", "JobID": row.job_id,
        "Address": address, "OwnerAddress": {"IPAddress": "", "Port": 0, "NodeID": ""},
        "State": row.state, "NumRestarts": row.num_restarts or 0, "Timestamp": 0,
        "StartTime": 0, "EndTime": 0, "DeathCause": row.death_cause, "Pid": row.pid or 0,
    }


class GlobalState:
    """Ray's accessor of the GCS tables, over raylike's cluster."""

    def cluster_resources(self) -> dict[str, float]:
        return _state.cluster_resources()

    def available_resources(self) -> dict[str, float]:
        return _state.available_resources()

    def available_resources_per_node(self) -> dict[str, dict[str, float]]:
        return _state.available_resources_per_node()

    def total_resources_per_node(self) -> dict[str, dict[str, float]]:
        return _state.total_resources_per_node()

    def node_table(self) -> list[dict[str, Any]]:
        return _state.nodes()

    def actor_table(self, actor_id: str | None = None, job_id: Any = None,
                    actor_state_name: str | None = None) -> dict[str, Any]:
        from raylike.util.state import list_actors

        filters: list[tuple[str, str, Any]] = []
        if actor_id is not None:
            filters.append(("actor_id", "=", actor_id))
        if job_id is not None:
            filters.append(("job_id", "=", job_id.hex() if hasattr(job_id, "hex") else job_id))
        if actor_state_name is not None:
            filters.append(("state", "=", actor_state_name))
        rows = list_actors(filters=filters or None, detail=True, limit=_MAX_ROWS)
        table = {row.actor_id: _actor_info(row) for row in rows}
        return table.get(actor_id, {}) if actor_id is not None else table

    def workers(self) -> dict[str, dict[str, Any]]:
        from raylike.util.state import list_workers

        rows = list_workers(filters=[("is_alive", "=", True), ("worker_type", "=", "WORKER")],
                            limit=_MAX_ROWS)
        return {row.worker_id: {"node_ip_address": row.ip, "plasma_store_socket": ""}
                for row in rows}

    def job_table(self) -> list[dict[str, Any]]:
        """One row per driver that connected (``JobID``, ``DriverIPAddress``, ``DriverPid``,
        ``StartTime``, ``EndTime``, ``Timestamp``, ``IsDead``, ``Entrypoint``), oldest first."""
        return _state.jobs()

    def next_job_id(self) -> Any:
        """Take the cluster's next job id (as Ray's GCS does: the next driver gets the one
        after it)."""
        from raylike._api.ids import JobID

        return JobID.from_hex(_state.next_job_id())

    def get_cluster_config(self) -> Any:
        raise _unsupported("state.get_cluster_config", "raylike has no autoscaler")

    def get_max_resources_from_cluster_config(self) -> Any:
        raise _unsupported("state.get_max_resources_from_cluster_config",
                           "raylike has no autoscaler")

    def get_draining_nodes(self) -> dict[str, int]:
        raise _unsupported("state.get_draining_nodes", "raylike does not drain nodes")


state = GlobalState()


def jobs() -> list[dict[str, Any]]:
    """Ray's job table: one row per driver that connected to the cluster."""
    return state.job_table()


def next_job_id() -> Any:
    """Take the cluster's next job id (Ray's ``JobID``)."""
    return state.next_job_id()


def nodes() -> list[dict[str, Any]]:
    """One entry per node, as ``ray.nodes()``."""
    return state.node_table()


def workers() -> dict[str, dict[str, Any]]:
    """The live worker processes (not drivers), by worker id."""
    return state.workers()


def current_node_id() -> str:
    """``"node:<ip>"`` of this process's node."""
    from raylike.util import get_node_ip_address

    return NODE_ID_PREFIX + get_node_ip_address()


def node_ids() -> list[str]:
    """The ``"node:<ip>"`` resource of every live node, one entry per node as in Ray (nodes
    on one host repeat it)."""
    return [name for entry in nodes() if entry["Alive"] for name in entry.get("Resources", {})
            if name.startswith(NODE_ID_PREFIX)
            and name != NODE_ID_PREFIX + "__internal_head__"]


def actors(actor_id: str | None = None, job_id: Any = None,
           actor_state_name: str | None = None) -> dict[str, Any]:
    """Ray's actor table: by actor id (or the one actor asked for), with Ray's keys."""
    return state.actor_table(actor_id, job_id, actor_state_name)


def timeline(filename: str | None = None) -> Any:
    """``ray.timeline``."""
    return _state.timeline(filename)


def object_transfer_timeline(filename: str | None = None) -> Any:
    raise _unsupported("object_transfer_timeline",
                       "Dask moves objects between workers without recording transfers")


def cluster_resources() -> dict[str, float]:
    return state.cluster_resources()


def available_resources() -> dict[str, float]:
    return state.available_resources()


def available_resources_per_node() -> dict[str, dict[str, float]]:
    """The resources not in use on each live node, by node id."""
    return state.available_resources_per_node()


def total_resources_per_node() -> dict[str, dict[str, float]]:
    """The total resources of each live node, by node id."""
    return state.total_resources_per_node()
