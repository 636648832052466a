"""Cluster introspection: ``cluster_resources``, ``available_resources``, ``nodes``."""
from __future__ import annotations

import socket
import time
import uuid
from typing import Any

from raylike._api import ids as _ids
from raylike._api import labels as _labels
from raylike._api import resources as _resources
from raylike._api import runtime as _runtime
from raylike._api.actor_spec import NODE_LOST, NODE_STOPPED
from raylike.exceptions import RaySystemError

# names raylike gives the nodes it starts (their Dask workers' names): a node named so reports
# its IP address as its ``NodeName``, as a Ray node started without ``node_name`` does
HEAD_NODE_NAME = "raylike-head"
NODE_NAME_PREFIX = "raylike-node-"


def _workers(backend: Any) -> dict[str, Any]:
    return dict(backend.scheduler_info().get("workers", {}))


def _available_on(dask_worker: Any) -> dict[str, float]:
    available = dict(dask_worker.state.available_resources)
    store = available.get(OBJECT_STORE)
    if store is not None:  # what the node's objects leave of it (Dask's bytes in memory)
        available[OBJECT_STORE] = float(max(0, int(store) - int(dask_worker.state.nbytes or 0)))
    return available


OBJECT_STORE = "object_store_memory"  # a node's store size, when init was given one


def answer(op: str, backend: Any, *args: Any) -> Any:
    if op == "cluster":
        total: dict[str, float] = {}
        for info in _workers(backend).values():
            _resources.add(total, info.get("resources") or {})
        return _resources.clean(total)
    if op == "available":
        total = {}
        for available in backend.run_on_workers(_available_on).values():
            _resources.add(total, available)
        return _resources.clean(total)
    if op == "nodes":
        return [_node_entry(address, info) for address, info in _workers(backend).items()]
    if op == "all_nodes":
        live = [_node_entry(address, info) for address, info in _workers(backend).items()]
        return live + _dead_entries(backend, {entry["NodeID"] for entry in live})
    if op == "total_per_node":
        return {node_id(address): _resources.clean(dict(info.get("resources") or {}))
                for address, info in _workers(backend).items()}
    if op == "available_per_node":
        return {node_id(address): _resources.clean(available)
                for address, available in backend.run_on_workers(_available_on).items()}
    if op == "kv":  # the cluster's key-value store (``experimental.internal_kv``)
        from raylike.experimental import internal_kv

        return backend.run_on_scheduler(internal_kv.apply, *args)
    if op == "locations":  # ``experimental.get_object_locations``
        return _locations(backend, *args)
    if op == "jobs":  # Ray's job table (the scheduler's ``JobRegistry``)
        return backend.scheduler_call("raylike_jobs")
    if op == "next_job_id":  # the table's next number, taken
        return backend.scheduler_call("raylike_job_next")
    if op == "query":  # the state API and the timeline: the scheduler's state plugin
        kind, kwargs = args
        return backend.scheduler_call("raylike_state", kind=kind, **kwargs)
    raise ValueError(f"unknown state request {op!r}")


def _where(keys: list[str], dask_scheduler: Any = None) -> dict[str, Any]:
    """On the scheduler: ``{key: (holders, nbytes)}`` of each key it knows, held or not."""
    found = {}
    for key in keys:
        ts = dask_scheduler.tasks.get(key)
        if ts is not None:
            found[key] = ([ws.address for ws in ts.who_has or ()],
                          ts.nbytes if ts.state == "memory" else None)
    return found


def _stored_sizes(keys: list[str], dask_worker: Any = None) -> dict[str, tuple[int, bool]]:
    """On a worker: ``{key: (bytes, spilled)}`` of each key it holds. The size is that of the
    value serialized (what Ray's object store reports), buffers counted without a copy; a
    spilled value is not read back: its size is Dask's."""
    from raylike._api import serialization as _serialization

    data = dask_worker.data
    fast = getattr(data, "fast", data)
    sizes = {}
    for key in keys:
        if key in fast:
            try:
                payload = _serialization.dumps_frames(fast[key])
            except Exception:  # noqa: BLE001 - Dask's estimate then
                continue
            sizes[key] = (_serialization.payload_size(payload), False)
        elif key in data:
            sizes[key] = (int(dask_worker.state.tasks[key].nbytes or 0)
                          if key in dask_worker.state.tasks else 0, True)
    return sizes


def _locations(backend: Any, keys: list[str]) -> dict[str, dict[str, Any]]:
    """``{key: {"node_ids", "object_size", "did_spill"}}``: the nodes holding each object (none
    and no size while it is being made) and its serialized size, asked of one holder."""
    where = backend.run_on_scheduler(_where, list(keys))
    unheard = [k for k in keys if not where.get(k, ([], None))[0]]
    deadline = time.monotonic() + 2.0
    while unheard and (unheard := sorted(backend.finished_here(unheard))) and \
            time.monotonic() < deadline:  # stored here one way: its announcement is coming
        time.sleep(0.01)
        where.update(backend.run_on_scheduler(_where, unheard))
        unheard = [k for k in unheard if not where.get(k, ([], None))[0]]
    by_holder: dict[str, list[str]] = {}
    for key, (holders, _) in where.items():
        if holders:
            by_holder.setdefault(holders[0], []).append(key)
    sizes: dict[str, tuple[int, bool]] = {}
    for address, held in by_holder.items():
        try:
            sizes.update(backend.run_on_workers(_stored_sizes, held,
                                                workers=[address]).get(address, {}))
        except Exception:  # noqa: BLE001 - the holder just left: the scheduler's figures
            pass
    found = {}
    for key in keys:
        holders, nbytes = where.get(key, ([], None))
        size, spilled = sizes.get(key, (nbytes, False))
        found[key] = {"node_ids": [node_id(a) for a in holders],
                      "object_size": None if size is None or not holders else int(size),
                      "did_spill": spilled}
    return found


def object_locations(keys: list[str]) -> dict[str, dict[str, Any]]:
    """Where the objects of ``keys`` are, from a driver or a task (see :func:`_locations`)."""
    return dict(_query("locations", list(keys))) if keys else {}


def serve_request(backend: Any, op: str, *args: Any) -> Any:
    """Answer a state request from a task's child process."""
    if op == "metrics":  # a batch of its metrics: this worker's own batch takes it on
        from raylike._api import metrics as _metrics

        _metrics.absorb(*args)
        return None
    return answer(op, backend, *args)


def _query(op: str, *args: Any) -> Any:
    if not _runtime.is_initialized():  # Ray's state API starts no cluster
        raise RaySystemError("Ray has not been started yet. Trying to use state API before "
                             "ray.init() has been called.")
    backend = _runtime.backend()
    return backend.state_request(op, *args)  # inside a task: its worker answers


def jobs() -> list[dict[str, Any]]:
    """Ray's job table: one row per driver that connected to the cluster."""
    return list(_query("jobs"))


def next_job_id() -> str:
    """Take the cluster's next job number (hex of Ray's 4-byte job id)."""
    return str(_query("next_job_id"))


def query(kind: str, **kwargs: Any) -> dict[str, Any]:
    """Ask the scheduler's state plugin (``_state_plugin``) for the rows of ``kind``."""
    return dict(_query("query", kind, kwargs))


def _node_entry(address: str, info: dict[str, Any], alive: bool = True) -> dict[str, Any]:
    host = address.split("://", 1)[-1].rsplit(":", 1)
    resources = _resources.clean(info.get("resources") or {})
    return {
        "NodeID": node_id(address),
        "Alive": alive,
        "alive": alive,
        "NodeManagerAddress": host[0],
        "NodeManagerHostname": host[0],
        "NodeManagerPort": int(host[1]) if len(host) > 1 and host[1].isdigit() else 0,
        "ObjectManagerPort": int(host[1]) if len(host) > 1 and host[1].isdigit() else 0,
        "NodeName": _node_name(str(info.get("name") or ""), host[0]),
        "Resources": resources,
        "Labels": _labels.node_labels(address, info),
        "DaskWorkerAddress": address,
        # Ray's socket paths, unique per node: a raylike node's is its Dask worker's address
        "ObjectStoreSocketName": address,
        "RayletSocketName": address,
        "DeathReason": 0,  # Ray's ``NodeDeathInfo.Reason``: UNSPECIFIED while alive
        "DeathReasonMessage": "",
    }


def _dead_entries(backend: Any, live: set[str]) -> list[dict[str, Any]]:
    """The entries of the nodes that left the cluster (the state plugin's record, the last
    1,000), as Ray lists dead nodes: ``Alive`` false, with why they died."""
    left = backend.scheduler_call("raylike_state", kind="left").get("result", [])
    found = {}
    for info in left:
        entry = _node_entry(info["address"], info)
        if entry["NodeID"] in live:
            continue
        expected = bool(info.get("expected"))
        entry.update(Alive=False, alive=False, DeathReason=1 if expected else 2,
                     DeathReasonMessage=NODE_STOPPED if expected else NODE_LOST)
        found[entry["NodeID"]] = entry  # the latest record of a node
    return list(found.values())


def new_node_name() -> str:
    """A name for a node started without ``node_name`` (its Dask worker's name)."""
    return f"{NODE_NAME_PREFIX}{uuid.uuid4().hex[:8]}"


def _node_name(name: str, ip: str) -> str:
    """The name a node was given (``node_name``), else its IP address, as in Ray."""
    return ip if not name or name.startswith((HEAD_NODE_NAME, NODE_NAME_PREFIX)) else name


def node_id(address: str) -> str:
    """A stable id for the worker at ``address``: 56 hex digits, as Ray's NodeID."""
    return _ids.node_id(address)


def cluster_resources() -> dict[str, float]:
    """The total resources of every node, summed."""
    return dict(_query("cluster"))


def available_resources() -> dict[str, float]:
    """The resources not in use right now, summed over nodes (CPUs of tasks blocked in
    ``get`` count as available, as in Ray)."""
    return dict(_query("available"))


def available_resources_per_node() -> dict[str, dict[str, float]]:
    """The resources not in use right now on each live node, by node id."""
    return dict(_query("available_per_node"))


def total_resources_per_node() -> dict[str, dict[str, float]]:
    """The total resources of each live node, by node id."""
    return dict(_query("total_per_node"))


def nodes() -> list[dict[str, Any]]:
    """One entry per node (Dask worker), with Ray's keys; as in Ray, the nodes that left are
    listed too, ``Alive`` false (``DeathReason`` 1: it was stopped, 2: it was lost)."""
    return list(_query("all_nodes"))


def live_nodes() -> list[dict[str, Any]]:
    """The entries of :func:`nodes` of the live nodes only (no scheduler round trip)."""
    return list(_query("nodes"))


def node_ip_address() -> str:
    """The IP address of the node the caller runs on (a driver: the first node's)."""
    from raylike._api import context as _context

    info = _context.current()
    found = live_nodes()
    if info is not None:
        for node in found:
            if node["NodeID"] == info.node_id:
                return str(node["NodeManagerAddress"])
    return str(found[0]["NodeManagerAddress"]) if found else "127.0.0.1"


def host_ip_address() -> str:
    """This machine's address towards the outside (Ray's answer before ``init``): the local
    end of a UDP socket aimed at a public address (nothing is sent); 127.0.0.1 offline."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect(("8.8.8.8", 80))
            return str(probe.getsockname()[0])
    except OSError:
        return "127.0.0.1"


def address_of_node(node_id: str) -> str | None:
    """The Dask address of the worker with Ray node id ``node_id``."""
    for entry in live_nodes():
        if entry["NodeID"] == node_id:
            return str(entry["DaskWorkerAddress"])
    return None


def timeline(filename: str | None = None) -> list[dict[str, Any]] | None:
    """A Chrome trace (``chrome://tracing``, Perfetto) of the tasks and actor calls that ran:
    one ``"ph": "X"`` event per run (``ts``/``dur`` in microseconds, ``pid`` the node's
    address, ``tid`` its worker), named as Ray names them (``cat`` ``task::<name>``).
    Written to ``filename`` as JSON if given, else returned.

    Differences from Ray: one span per task (the worker's own start and stop of the run;
    for actor calls, from the call reaching the actor's process to its answer), without
    Ray's sub-spans (argument fetching, storing outputs) or the driver's submit events; the
    last 10,000 tasks of the cluster and 10,000 calls per node are kept.
    """
    if not _runtime.is_initialized():
        raise RuntimeError("Ray has not been started yet. Timeline requires Ray to be "
                           "initialized first.")
    events: list[dict[str, Any]] = list(query("timeline", timeout=30.0)["result"])
    if filename is None:
        return events
    import json

    with open(filename, "w") as out:
        json.dump(events, out)
    return None
