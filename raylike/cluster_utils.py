"""``ray.cluster_utils``: a cluster of several nodes on one machine, for tests.

``Cluster.add_node`` starts a real Dask worker (a raylike node) with the node's resources; the
first call also starts the Dask scheduler (the head). ``connect`` attaches the driver with
``ray.init(address=...)``; ``remove_node`` kills the node's worker, so tasks and actors see a
node failure.

Differences from Ray: a node is one Dask worker process (no raylet, object store, or GCS:
``object_store_memory``, ports and the like are accepted and ignored; ``_system_config``
reaches the node's processes as ``RAY_<name>``, as ``ray.init``'s does, and the head's the
scheduler too: ``lineage_pinning_enabled``, ``enable_object_reconstruction``); the
driver is not attached to a node, so removing the head node is allowed (the Dask
scheduler, Ray's GCS, runs until ``shutdown``). ``AutoscalingCluster`` is not available.
"""
from __future__ import annotations

import atexit
import logging
import os
from typing import Any

from raylike._api import ids as _ids
from raylike._api import resources as _resources
from raylike._api import state as _state
from raylike._dask.cluster import embedded as _cluster
from raylike._dask.cluster import nodes as _cluster_nodes

__all__ = ["AutoscalingCluster", "Cluster", "ClusterNode", "cluster_not_supported"]

logger = logging.getLogger(__name__)

cluster_not_supported = os.name == "nt"

# the keywords of Ray's RayParams that add_node accepts; those not listed in _USED are ignored
_NODE_ARGS = frozenset({
    "redis_address", "gcs_address", "num_cpus", "num_gpus", "resources", "labels", "memory",
    "object_store_memory", "redis_port", "redis_shard_ports", "object_manager_port",
    "node_manager_port", "gcs_server_port", "node_ip_address", "node_name", "min_worker_port",
    "max_worker_port", "worker_port_list", "ray_client_server_port", "redirect_output",
    "log_to_stderr", "external_addresses", "num_redis_shards", "redis_max_clients",
    "redis_username", "redis_password", "plasma_directory", "object_spilling_directory",
    "worker_path", "setup_worker_path", "huge_pages", "include_dashboard", "dashboard_host",
    "dashboard_port", "dashboard_agent_listen_port", "runtime_env_agent_port",
    "plasma_store_socket_name", "raylet_socket_name", "temp_dir", "runtime_env_dir_name",
    "include_log_monitor", "autoscaling_config", "ray_debugger_external", "_system_config",
    "enable_object_reconstruction", "metrics_agent_port", "metrics_export_port",
    "tracing_startup_hook", "no_monitor", "env_vars", "session_name", "webui", "cluster_id",
    "node_id", "resource_isolation_config", "proxy_server_url",
})
_USED = frozenset({"num_cpus", "num_gpus", "resources", "memory", "node_name",
                   "_system_config", "temp_dir", "enable_object_reconstruction"})


class ClusterNode:
    """A node of a :class:`Cluster` (Ray's ``ray._private.node.Node``): one Dask worker."""

    def __init__(self, cluster: Cluster, head: bool, process: _cluster_nodes.DaskProcess,
                 dask_address: str, resources: dict[str, float]) -> None:
        self.head = head
        self.process = process
        self.dask_address = dask_address
        self.resources = resources
        self.node_id = _ids.node_id(dask_address)  # the id raylike gives this worker's node
        self.unique_id = self.node_id
        self.node_ip_address = "127.0.0.1"
        self.node_manager_port = int(dask_address.rsplit(":", 1)[1])
        self.gcs_address = cluster.address
        self.address = cluster.address
        self.redis_address = cluster.address
        self.plasma_store_socket_name = dask_address  # unique per node, as Ray's socket names
        self._raylet_socket_name = dask_address
        self.raylet_socket_name = dask_address

    @property
    def address_info(self) -> dict[str, Any]:
        """Ray's ``address_info`` of the node (its socket names: the worker's address, as
        ``ray.nodes()``'s ``ObjectStoreSocketName``)."""
        return {"node_ip_address": self.node_ip_address, "raylet_ip_address":
                self.node_ip_address, "object_store_address": self.dask_address,
                "raylet_socket_name": self.dask_address, "gcs_address": self.gcs_address,
                "address": self.address, "node_id": self.node_id}

    @property
    def all_processes(self) -> dict[str, list[Any]]:
        return {"raylet": [self.process.proc]}

    def any_processes_alive(self) -> bool:
        return self.process.alive()

    def remaining_processes_alive(self) -> bool:
        return self.process.alive()

    def kill_raylet(self, check_alive: bool = True) -> None:
        """Kill the node's worker at once (SIGKILL), as Ray kills the raylet."""
        if check_alive and not self.process.alive():
            raise RuntimeError("Attempting to kill a node process that is already dead.")
        self.process.stop(graceful=False)

    def kill_all_processes(self, check_alive: bool = True, allow_graceful: bool = False,
                           wait: bool = False) -> None:
        if check_alive and not self.process.alive():
            raise RuntimeError("Attempting to kill a node process that is already dead.")
        self.process.stop(graceful=allow_graceful)

    def __repr__(self) -> str:
        return f"ClusterNode(node_id={self.node_id!r}, head={self.head}, {self.dask_address})"


class Cluster:
    """A local multi-node cluster for tests.

    Args:
        initialize_head: start the head node at once (``head_node_args`` are its
            ``add_node`` keywords).
        connect: with ``initialize_head``, also ``ray.init(address=cluster.address)``.
        shutdown_at_exit: stop the cluster's processes when this process exits (they stop
            anyway when it dies: each watches its stdin).
    """

    def __init__(self, initialize_head: bool = False, connect: bool = False,
                 head_node_args: dict[str, Any] | None = None,
                 shutdown_at_exit: bool = True) -> None:
        self.head_node: ClusterNode | None = None
        self.worker_nodes: set[ClusterNode] = set()
        self.redis_address: str | None = None
        self.redis_username = ""
        self.redis_password = ""
        self.webui_url: str | None = None
        self.connected = False
        self._scheduler: _cluster_nodes.DaskProcess | None = None
        self._address: str | None = None
        self._view: _cluster_nodes.SchedulerView | None = None
        self._removed: set[str] = set()
        self._logs = _cluster_nodes.log_dir()
        if shutdown_at_exit:
            atexit.register(self.shutdown)
        if not initialize_head and connect:
            raise RuntimeError("Cannot connect to uninitialized cluster.")
        if initialize_head:
            self.add_node(**(head_node_args or {}))
            if connect:
                self.connect()

    @property
    def address(self) -> str | None:
        """The head's address (``host:port`` of the Dask scheduler), for ``ray.init``."""
        return self._address.split("://", 1)[1] if self._address else None

    @property
    def gcs_address(self) -> str | None:
        return self.address

    def connect(self, namespace: str | None = None) -> None:
        """Attach this process's driver to the cluster."""
        import raylike

        assert self.address is not None, "the cluster has no head node"
        assert not self.connected, "already connected"
        info = raylike.init(address=self.address, namespace=namespace,
                            ignore_reinit_error=True)
        logger.info(info)
        self.connected = True

    def add_node(self, wait: bool = True, **node_args: Any) -> ClusterNode:
        """Start a node: a Dask worker with ``num_cpus`` (default 1), ``num_gpus`` (default 0),
        ``resources``, ``memory`` and ``labels``; the first node is the head and starts the
        scheduler. Other keywords of Ray's node parameters are accepted and ignored."""
        resources = self._node_resources(node_args, head=self.head_node is None)
        labels = node_args.get("labels")
        if labels is not None:
            from raylike._api import labels as _labels

            labels = _labels.check_node_labels(labels, syntax=False)
        if self._address is None:
            config = dict(node_args.get("_system_config") or {})
            if node_args.get("enable_object_reconstruction"):  # Ray's RayParams does the same
                config["lineage_pinning_enabled"] = True
            self._scheduler, self._address = _cluster_nodes.start_scheduler(self._logs, config)
            self.redis_address = self.address
            _cluster.record_current(self._address)  # init() with no address joins it (Ray)
        name = str(node_args.get("node_name") or _state.new_node_name())
        proc, dask_address = _cluster_nodes.start_worker(self._address, name, resources,
                                                         self._logs,
                                                         node_args.get("_system_config"),
                                                         labels)
        node = ClusterNode(self, self.head_node is None, proc, dask_address, resources)
        if node.head:
            self.head_node = node
        else:
            self.worker_nodes.add(node)
        if wait:
            self._scheduler_view().wait_for({dask_address}, set(), 60.0, [proc])
        if node.head and node_args.get("temp_dir"):  # drivers that join use the head's
            from raylike._api import session as _session

            _session.record_temp_dir(self._scheduler_view().client, node_args["temp_dir"],
                                     overwrite=True)
        return node

    @staticmethod
    def _node_resources(node_args: dict[str, Any], head: bool) -> dict[str, float]:
        unknown = sorted(set(node_args) - _NODE_ARGS)
        if unknown:
            raise TypeError(f"add_node() got unexpected keyword argument(s): {unknown}")
        ignored = sorted(set(node_args) - _USED)
        if ignored:
            logger.debug("add_node: %s have no meaning for a Dask worker; ignored", ignored)
        num_cpus = node_args.get("num_cpus")
        num_gpus = node_args.get("num_gpus")
        extra = dict(node_args.get("resources") or {})
        _resources.check_init_resources(num_cpus, num_gpus, extra)
        node = _resources.embedded_node_resources(1 if num_cpus is None else num_cpus,
                                                  0 if num_gpus is None else num_gpus, extra,
                                                  head=head)
        if node_args.get("memory") is not None:
            node["memory"] = float(node_args["memory"])
        return node

    def remove_node(self, node: ClusterNode, allow_graceful: bool = True) -> None:
        """Stop the node's worker (SIGTERM when ``allow_graceful``, else SIGKILL). The
        scheduler runs on until :meth:`shutdown`, even when the head node is removed."""
        node.process.stop(graceful=allow_graceful)
        self._removed.add(node.dask_address)
        if node is self.head_node:
            self.head_node = None
        else:
            self.worker_nodes.discard(node)

    def wait_for_nodes(self, timeout: float = 30) -> None:
        """Wait until the scheduler lists exactly the nodes added and not removed."""
        if self._address is None:
            return
        want = {node.dask_address for node in self.list_all_nodes()}
        self._scheduler_view().wait_for(want, set(self._removed), timeout)

    def list_all_nodes(self) -> list[ClusterNode]:
        """The head node (if any) first, then the other nodes."""
        nodes = list(self.worker_nodes)
        return ([self.head_node] if self.head_node else []) + nodes

    def remaining_processes_alive(self) -> bool:
        return all(node.remaining_processes_alive() for node in self.list_all_nodes())

    def shutdown(self) -> None:
        """Stop every node and the scheduler."""
        if self._view is not None:
            self._view.close()
            self._view = None
        for node in list(self.worker_nodes):
            self.remove_node(node, allow_graceful=False)
        if self.head_node is not None:
            self.remove_node(self.head_node, allow_graceful=False)
        if self._scheduler is not None:
            self._scheduler.stop(graceful=False)
            self._scheduler = None
        if self._address is not None:
            _cluster.forget_current(self._address)
        self._address = None
        self.redis_address = None
        self.connected = False

    def _scheduler_view(self) -> _cluster_nodes.SchedulerView:
        if self._view is None:
            assert self._address is not None
            self._view = _cluster_nodes.SchedulerView(self._address)
        return self._view


class AutoscalingCluster:
    """Ray's fake autoscaling cluster; raylike has no autoscaler."""

    def __init__(self, *_: Any, **__: Any) -> None:
        raise NotImplementedError("ray.cluster_utils.AutoscalingCluster is not available on "
                                  "raylike: it has no autoscaler (use Cluster.add_node)")
