"""The runtime: ``init`` / ``shutdown`` and the only module-level state of a process.

A process plays one of three roles:

* the **driver** (the user's program): ``init`` connects a Dask client, to an embedded cluster it
  starts or to an existing one; its backend talks to Dask through that client;
* a **Dask worker** running raylike's node plugin: its backend uses the worker's client;
* a **task process** (a child of a worker that runs user code): its backend forwards every call
  to the worker over a pipe.
"""
from __future__ import annotations

import atexit
import contextlib
import functools
import ipaddress
import logging
import os
import signal
import socket
import sys
import threading
import urllib.request
import uuid
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from raylike._api import config as _config
from raylike._api import driver_logging as _driver_logging
from raylike._api import error_pubsub as _error_pubsub
from raylike._api import ids as _ids
from raylike._api import logs as _logs
from raylike._api import memory as _memory
from raylike._api import options as _options
from raylike._api import resources as _resources
from raylike._api import runtime_env as _runtime_env
from raylike._dask import errors as _errors
from raylike._dask.cluster import embedded as _cluster
from raylike.exceptions import RaySystemError, UnknownInitArgument

logger = logging.getLogger("raylike")

if TYPE_CHECKING:
    from raylike._dask.client.backend import DaskBackend

RAY_VERSION = "2.60.0"  # the Ray release whose API raylike gives (``ray.__version__``)


class Backend(Protocol):
    """What the public API needs from the process it runs in: one method per operation.

    Implemented by ``_backend.DaskBackend`` (the driver's, through its Dask client, and a Dask
    worker's, through the worker's client) and by ``_child.ChildBackend`` (a task's or actor's
    process: each operation is a request to its worker, which serves it with its own
    ``DaskBackend``, see ``raylike._dask.worker.scope.TaskScope``). mypy checks both against
    this contract."""

    @property
    def client(self) -> Any:
        """The process's Dask client; ``None`` in a task's or actor's process."""

    # objects and tasks
    def ref(self, key: str) -> Any: ...
    def put(self, value: Any) -> Any: ...
    def argument_ref(self, value: Any) -> Any:
        """The ref a top-level task argument other than an ``ObjectRef`` stands for (a Dask
        future, where a client can adopt it), else ``None``."""
    def get(self, refs: list[Any], timeout: float | None) -> list[Any]: ...
    def wait(self, refs: list[Any], num_returns: int, timeout: float | None) -> list[Any]: ...
    def cancel(self, ref: Any, force: bool, recursive: bool) -> None: ...
    def submit(self, call: Any, deps: list[Any], nested: list[Any]) -> list[Any]: ...

    # actors (``_actors``)
    def create_actor(self, spec: Any, nested: list[Any], get_if_exists: bool) -> Any: ...
    def lookup_actor(self, name: str, namespace: str | None) -> bytes | None: ...
    def kill_actor(self, actor_id: str, no_restart: bool) -> None: ...
    def list_named_actors(self, namespace: str | None, all_namespaces: bool) -> list[Any]: ...

    # placement groups (``_placement_groups``): ``op`` is create, wait, remove, table, lookup
    def placement_group_request(self, op: str, *args: Any) -> Any: ...
    def placement_group_ready(self, group: Any) -> Any: ...

    # generators (``_generators``, ``_streams``)
    def stream_next(self, gen_ref: Any, index: int, timeout: float | None) -> tuple[str, Any]: ...
    def stream_take(self, key: str, index: int, item: str | bytes) -> Any: ...
    def stream_drop(self, key: str) -> None: ...
    def error_object(self, payload: bytes) -> Any: ...

    # cluster state and metrics (``_state``, ``_metrics``)
    def state_request(self, op: str, *args: Any) -> Any: ...
    def send_metrics(self, batch: Any) -> None: ...


class RayContext(Mapping[str, Any]):
    """What ``init`` returns: ``address_info`` and ``dashboard_url``; ``with ray.init(): ...``
    shuts down at the end of the block.

    As in Ray it is also a read-only mapping over ``address_info`` (deprecated there: reading
    ``ctx["key"]`` warns once with a ``DeprecationWarning``)."""

    def __init__(self, address_info: dict[str, Any], dashboard_url: str | None) -> None:
        self.address_info = address_info
        self.dashboard_url = dashboard_url
        self.python_version = ".".join(map(str, sys.version_info[:3]))
        self.ray_version = RAY_VERSION
        self.ray_commit = "raylike"
        self._warned: set[str] = set()

    @property
    def address(self) -> str:
        return str(self.address_info["address"])

    def _deprecated(self, what: str, instead: str) -> None:
        if what not in self._warned:
            self._warned.add(what)
            warnings.warn(f"{what} is deprecated. Use {instead} instead.", DeprecationWarning,
                          stacklevel=3)

    def __getitem__(self, key: str) -> Any:
        self._deprecated(f'Accessing values through ctx["{key}"]', f'ctx.address_info["{key}"]')
        return self.address_info[key]

    def __len__(self) -> int:
        self._deprecated("len(ctx)", "len(ctx.address_info)")
        return len(self.address_info)

    def __iter__(self) -> Iterator[str]:
        self._deprecated("iter(ctx)", "iter(ctx.address_info)")
        return iter(self.address_info)

    def __enter__(self) -> RayContext:
        return self

    def __exit__(self, *exc: object) -> None:
        shutdown()

    def disconnect(self) -> None:
        """``shutdown()``, as Ray's context does."""
        shutdown()

    def __repr__(self) -> str:
        return f"RayContext(dashboard_url={self.dashboard_url!r}, python_version=" \
               f"{self.python_version!r}, ray_version={self.ray_version!r}, " \
               f"ray_commit={self.ray_commit!r})"


@dataclass
class Runtime:
    """The driver's connection: its Dask client, and the cluster it started, if any."""

    client: Any
    backend: DaskBackend
    cluster: _cluster.EmbeddedCluster | None
    owns_client: bool
    namespace: str
    job_id: str
    context: RayContext
    logs: Any = None  # a raylike._api.logs.Forwarder while log_to_driver is on
    errors: Any = None  # the raylike._api.error_pubsub.Listener: errors pushed to drivers
    memory: Any = None  # the raylike._api.memory.Responder: this driver's memory report
    anonymous_namespace: bool = False  # ``init`` named no namespace
    runtime_env: dict[str, Any] | None = None  # the job's, its local paths shipped as URIs
    detached_default: bool = False  # ``JobConfig(default_actor_lifetime="detached")``
    temp_dir: str = ""  # Ray's temporary directory of this session (``temp_dir()``)


_lock = threading.RLock()
_driver: Runtime | None = None
_process: Backend | None = None  # set in Dask workers and task processes


def set_process_backend(backend: Backend | None) -> None:
    """Declare this process a Dask worker or a task process (called once, at its start)."""
    global _process
    _process = backend


def process_backend() -> Backend:
    """The backend that rebuilds refs unpickled in this process."""
    if _process is not None:
        return _process
    runtime = _driver
    if runtime is not None:
        return runtime.backend
    return _BareBackend()


# Ray's ``ray._private.auto_init_hook.enable_auto_connect``, where a program set it; ``None``:
# the environment decides (``RAY_ENABLE_AUTO_CONNECT=0`` turns it off)
auto_connect: bool | None = None


def auto_connect_enabled() -> bool:
    """Whether an API call made before ``init`` starts Ray (Ray's auto-init)."""
    if auto_connect is not None:
        return auto_connect
    return os.environ.get("RAY_ENABLE_AUTO_CONNECT", "") != "0"


def backend(auto_init: bool = False) -> Backend:
    """The backend for an API call; starts the embedded cluster first if ``auto_init`` (the
    calls Ray starts one for: tasks, actors, ``put``, ``get``, ``wait``, ...), unless
    auto-init is off (:func:`auto_connect_enabled`, as Ray)."""
    if _process is not None:
        return _process
    runtime = _driver
    if runtime is None:
        if not auto_init or not auto_connect_enabled():
            raise RaySystemError("Ray has not been started yet. You can start Ray with "
                                 "'ray.init()'.")
        with _lock:
            if _driver is None:
                init()
        runtime = _driver
        assert runtime is not None
    return runtime.backend


def driver() -> Runtime | None:
    """The driver's runtime, or None outside a driver or before ``init``."""
    return _driver


def is_initialized() -> bool:
    """True after ``init`` (or inside a task or actor)."""
    return _driver is not None or _process is not None


def init(address: Any = None, *, num_cpus: float | None = None, num_gpus: float | None = None,
         resources: dict[str, float] | None = None, labels: dict[str, str] | None = None,
         object_store_memory: int | None = None, local_mode: bool = False,
         ignore_reinit_error: bool = False, include_dashboard: bool | None = None,
         dashboard_host: str = "127.0.0.1", dashboard_port: int | None = None,
         job_config: Any = None, configure_logging: bool = True, logging_level: Any = None,
         logging_format: str | None = None, logging_config: Any = None,
         log_to_driver: bool | None = None, namespace: str | None = None,
         runtime_env: dict[str, Any] | None = None, **kwargs: Any) -> RayContext:
    """Connect to a Dask cluster, or start an embedded one, and return a context.

    Args:
        address: ``None`` or ``"local"`` starts an embedded cluster on 127.0.0.1 (``None``
            first honours ``RAY_ADDRESS``); ``"tcp://host:port"`` / ``"tls://..."`` connects to
            an existing Dask scheduler; ``"auto"`` reads ``RAY_ADDRESS`` then
            ``DASK_SCHEDULER_ADDRESS``; a ``distributed.Client`` is used as it is.
        num_cpus, num_gpus, resources: the embedded node's resources (default: this machine's
            CPUs, the GPUs pynvml finds). Not allowed when connecting to a cluster (nor are
            ``object_store_memory`` and ``_system_config``: Ray's ``ValueError``).
        namespace: the namespace of named actors (default: an anonymous one per driver).
        ignore_reinit_error: make a second ``init`` a no-op instead of a ``RuntimeError``.
        log_to_driver: show what tasks and actors of this driver print on its stdout and
            stderr, each line prefixed ``(name pid=N)`` as Ray does (default: ``True``
            unless the environment variable ``RAY_LOG_TO_DRIVER`` is set to neither ``1``
            nor ``true``, as in Ray).

    As in Ray, ``init`` (from the main thread) sets a SIGTERM handler: the driver then exits
    with status 15 through ``sys.exit``, and ``atexit`` shuts down what it started.

        runtime_env: the job's runtime environment (or ``job_config.runtime_env``): every
            task and actor of the job starts from it (see ``raylike.runtime_env``).

        labels: the embedded node's labels (``label_selector`` matches them).

    Differences from Ray: ``local_mode``, ``object_store_memory``,
    ``object_spilling_directory`` (Dask spills a node's objects to its own directory),
    ``job_config``
    (but its namespace and runtime_env) and the logging options are accepted and have no
    effect. Forwarded lines
    are not deduplicated, and the prefix is coloured only on a terminal.
    """
    global _driver
    spill_dir = kwargs.pop("object_spilling_directory", None)  # Dask spills by itself
    if spill_dir is not None and not isinstance(spill_dir, (str, os.PathLike)):
        raise TypeError(f"object_spilling_directory must be a path, got {spill_dir!r}")
    unknown = [k for k in kwargs if not k.startswith("_")]
    if unknown:
        raise UnknownInitArgument(f"Unknown keyword argument(s): {', '.join(unknown)}")
    temp_dir = kwargs.get("_temp_dir")
    if temp_dir is not None and not os.path.isabs(temp_dir):
        raise ValueError("temp_dir must be absolute path or None.")
    _exit_on_sigterm()
    if namespace is None and job_config is not None:
        namespace = getattr(job_config, "ray_namespace", None)
    _options.validate_namespace(namespace)
    if local_mode:
        _options.warn_unsupported("local_mode")
    if runtime_env is None and job_config is not None:
        runtime_env = getattr(job_config, "runtime_env", None)
    job_env = _runtime_env.parse(runtime_env, job=True)  # Ray's errors, before starting
    with _lock:
        if _driver is not None:
            if ignore_reinit_error:
                logger.info("Calling ray.init() again after it has already been called.")
                return _driver.context
            raise RuntimeError("Maybe you called ray.init twice by accident? This error can be "
                               "suppressed by passing in 'ignore_reinit_error=True' or by "
                               "calling 'ray.shutdown()' prior to 'ray.init()'.")
        _resources.check_init_resources(num_cpus, num_gpus, resources)
        target = _resolve_address(address)
        if target is not None:
            _check_connect_arguments(num_cpus, num_gpus, resources, object_store_memory,
                                     kwargs.get("_system_config"), labels)
        else:
            spilling = (kwargs.get("_system_config") or {}).get("object_spilling_config")
            if spilling:
                from raylike._api import spilling as _spilling

                _spilling.validate(spilling)
            if object_store_memory is not None:  # reported, less what objects use
                resources = {**(resources or {}),
                             "object_store_memory": float(int(object_store_memory))}
            if kwargs.get("_memory") is not None:  # Ray's node memory, in whole bytes
                resources = {**(resources or {}), "memory": float(int(kwargs["_memory"]))}
            if labels is not None:
                from raylike._api import labels as _labels

                labels = _labels.check_node_labels(labels, syntax=False)
        if log_to_driver is None:  # Ray's default, read where Ray reads it
            from raylike._private import ray_constants

            log_to_driver = ray_constants.RAY_LOG_TO_DRIVER
        _driver_logging.configure(configure_logging, logging_level, logging_format)
        if target is not None:
            logger.info("Connecting to existing Ray cluster at address: %s...",
                        target if isinstance(target, str)
                        else getattr(getattr(target, "scheduler", None), "address", target))
        _driver = _connect(target, num_cpus, num_gpus, resources, include_dashboard,
                           dashboard_port, log_to_driver,
                           namespace, kwargs.get("_system_config"), kwargs.get("_node_name"),
                           labels)
        _driver.detached_default = getattr(job_config, "default_actor_lifetime",
                                           None) == "detached"
        _memory.record_sites(_memory.sites_wanted(kwargs.get("_system_config")))
        try:
            _start_session(_driver, kwargs.get("_temp_dir"))
        except BaseException:
            shutdown()
            raise
        if job_env:
            _ship_job_env(job_env)
        atexit.register(shutdown)
        return _driver.context


def _check_connect_arguments(num_cpus: float | None, num_gpus: float | None,
                             resources: dict[str, float] | None,
                             object_store_memory: int | None,
                             system_config: dict[str, Any] | None,
                             labels: dict[str, str] | None = None) -> None:
    """Ray's refusals of arguments that size or configure a cluster ``init`` does not start."""
    if num_cpus is not None or num_gpus is not None or resources:
        raise ValueError("When connecting to an existing cluster, num_cpus, num_gpus and "
                         "resources must not be provided.")
    if object_store_memory is not None:
        raise ValueError("When connecting to an existing cluster, object_store_memory must "
                         "not be provided.")
    if system_config:
        raise ValueError("When connecting to an existing cluster, _system_config must not be "
                         "provided.")
    if labels is not None:
        raise ValueError("When connecting to an existing cluster, labels must not be provided.")


def temp_dir() -> str:
    """The driver's temporary directory (its cluster's), else Ray's default one."""
    from raylike._api import session as _session

    return (_driver.temp_dir if _driver is not None else "") or _session.default_temp_dir()


def _start_session(runtime: Runtime, temp_dir: str | None) -> None:
    """The session's temporary directory (given, else the cluster's, else the default; the
    embedded cluster records it for drivers that join later) and its session directory."""
    from raylike._api import session as _session
    from raylike.runtime_context import get_runtime_context

    recorded = _session.recorded_temp_dir(runtime.client)
    runtime.temp_dir = temp_dir or recorded or _session.default_temp_dir()
    if runtime.cluster is not None:
        _session.record_temp_dir(runtime.client, runtime.temp_dir, overwrite=True)
    runtime.context.address_info["session_dir"] = _session.make_session_dir(
        runtime.temp_dir, get_runtime_context().get_session_name())


def _sigterm_exits(signum: int, frame: Any) -> None:
    sys.exit(signum)


def _exit_on_sigterm() -> None:
    """As Ray's ``init``: SIGTERM makes the driver exit (status = the signal's number) through
    ``sys.exit``, so ``atexit`` runs ``shutdown`` and what ``init`` started is stopped."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _sigterm_exits)
    else:
        logger.warning("SIGTERM handler is not set because current thread is not the main "
                       "thread.")


def _ship_job_env(env: dict[str, Any]) -> None:
    """Ship the job's local ``working_dir``/``py_modules`` to the nodes and keep the job's
    environment; a failure shuts down what ``init`` started."""
    assert _driver is not None
    try:
        from raylike._dask.worker import packages as _packages

        _driver.runtime_env = _packages.upload(_driver.client, env)
    except BaseException:
        shutdown()
        raise


def _resolve_address(address: Any) -> Any:
    """Where ``init`` connects, as Ray resolves it: an address given; else ``RAY_ADDRESS``;
    else the cluster started last on this machine (``raylike start``, ``cluster_utils``),
    if it still runs; else ``None``: a new embedded cluster. ``"auto"`` is the same, but
    finding none is a ``ConnectionError``; ``"local"`` always starts a new one."""
    if address is None or address == "auto":
        found = os.environ.get("RAY_ADDRESS") or None
        if found in ("auto", "local"):  # RAY_ADDRESS names a way to find one, as ``address``
            found, address = None, found if address is None else address
        if address == "local":
            return None
        if found is None and address == "auto":
            found = os.environ.get("DASK_SCHEDULER_ADDRESS") or None
        found = found or _cluster.current_address()
        if found is None and address == "auto":  # any cluster running here (Ray's legacy)
            found = _cluster.running_embedded_address()
        if found is None and address == "auto":
            raise ConnectionError("Could not find any running raylike (Dask) cluster: "
                                  "address='auto' looks at RAY_ADDRESS, "
                                  "DASK_SCHEDULER_ADDRESS and the cluster started last on "
                                  "this machine (raylike start).")
        address = found
    if address is None or address == "local":
        return None
    if not isinstance(address, str):
        return address  # a distributed.Client
    if address.startswith("ray://"):
        raise ValueError(f"Ray Client addresses ({address}) are not supported; pass the Dask "
                         "scheduler's address, e.g. 'tcp://host:8786'.")
    return address if "://" in address else f"tcp://{address}"


def _connect(target: Any, num_cpus: float | None, num_gpus: float | None,
             resources: dict[str, float] | None, include_dashboard: bool | None,
             dashboard_port: int | None, log_to_driver: bool, namespace: str | None,
             system_config: dict[str, Any] | None = None,
             node_name: str | None = None,
             labels: dict[str, str] | None = None) -> Runtime:
    cluster = None
    owns_client = not _errors.is_dask_client(target)
    if target is None:
        node = _resources.embedded_node_resources(num_cpus, num_gpus, resources, head=True)
        dashboard = _resources.dashboard_wanted(include_dashboard)
        cluster = _cluster.start(node, dashboard=dashboard, dashboard_port=dashboard_port,
                                 system_config=system_config, node_name=node_name,
                                 labels=labels)
    # imported after the cluster's processes are spawned: they start while we import Dask (and
    # what submitting a task needs, while the zygote is still importing)
    from raylike._dask.client import backend as _backend
    from raylike._dask.client import connect as _dial
    from raylike._dask.worker import node as _node  # noqa: F401

    try:
        if cluster is not None:
            target = cluster.wait_address()
        client = _dial.connect(target, direct=cluster is not None) if owns_client else target
        if cluster is None:
            _dial.install(client)
        else:  # its processes installed raylike's plugins as they started (``_preload``)
            _dial.tune(client)
            _dial.wait_for_worker(client, timeout=60)
    except BaseException:
        if cluster is not None:
            cluster.close()
        raise
    address = client.scheduler.address
    dashboard_url = _dashboard_url(client) if cluster is None or cluster.dashboard_address else None
    context = RayContext(_address_info(client, address, dashboard_url), dashboard_url)
    # Ray's lines (a Dask dashboard where Ray's would be)
    view = f" View the dashboard at http://{dashboard_url}" if dashboard_url else ""
    if cluster is not None:
        logger.info("Started a local Ray instance.%s", view)
    else:
        logger.info("Connected to Ray cluster.%s", view)
    job_ns = namespace or str(uuid.uuid4())
    job_id = _dial.register_job(client, context.address_info["node_ip_address"],
                                " ".join(sys.argv), job_ns) or _ids.new_job_id()
    backend = _backend.DaskBackend(client, job_id=job_id, direct=direct_calls())
    from raylike._api.ref_counts import defer_releases
    from raylike._dask.client import unhandled as _dask_unhandled

    defer_releases(_dask_unhandled.released)
    logs = _logs.Forwarder(backend, job_id) if log_to_driver else None
    return Runtime(client=client, backend=backend, cluster=cluster, owns_client=owns_client,
                   namespace=job_ns, job_id=job_id,
                   context=context,
                   logs=logs,
                   errors=_error_pubsub.Listener(backend, job_id, logs.system_line
                                                 if logs is not None else None),
                   memory=_memory.Responder(backend, context.address_info["node_ip_address"]),
                   anonymous_namespace=namespace is None)


def _address_info(client: Any, address: str, dashboard_url: str | None) -> dict[str, Any]:
    """Ray's ``address_info`` keys (the node: the cluster's first worker)."""
    workers = list(client.scheduler_info().get("workers", {}))
    from raylike._api.state import node_id

    host = "127.0.0.1"
    if workers:
        host = workers[0].split("://", 1)[-1].rsplit(":", 1)[0]
    return {"node_ip_address": host, "raylet_ip_address": host, "redis_address": None,
            "object_store_address": workers[0] if workers else None,  # as ray.nodes()
            "raylet_socket_name": workers[0] if workers else None,
            "webui_url": dashboard_url, "session_dir": None, "metrics_export_port": -1,
            "gcs_address": gcs_address(address), "address": address,
            "dashboard_agent_listen_port": -1,
            "node_id": node_id(workers[0]) if workers else None}


@functools.lru_cache(maxsize=64)
def gcs_address(address: str) -> str:
    """The scheduler's address as Ray writes its head's: ``ip:port`` (a host name resolved, as
    Ray's are; ``init`` reads it back as TCP); other schemes (``tls://``) are kept."""
    scheme, sep, rest = address.partition("://")
    if not sep:
        scheme, rest = "tcp", address
    host, colon, port = rest.rpartition(":")
    if colon and host and not host.startswith("["):
        try:
            ipaddress.ip_address(host)
        except ValueError:
            with contextlib.suppress(OSError):
                host = socket.gethostbyname(host)
        rest = f"{host}:{port}"
    return rest if scheme == "tcp" else f"{scheme}://{rest}"


def direct_calls() -> bool:
    """Actor calls from the driver go straight to the actor's worker (``_direct``) unless
    ``RAYLIKE_DIRECT_ACTOR_CALLS=0``."""
    return _config.flag("direct_actor_calls")


def _dashboard_url(client: Any) -> str | None:
    """``host:port`` of the scheduler's dashboard, if one is served there. Dask reports a
    dashboard port even for a scheduler started with ``--no-dashboard`` (its HTTP server
    still serves ``/health`` and metrics there), so its status page is asked for."""
    try:
        link = client.dashboard_link
    except Exception:
        return None
    if not link:
        return None
    url = str(link).split("://", 1)[-1].replace("/status", "")
    try:
        with urllib.request.urlopen(f"http://{url}/status", timeout=2.0) as page:
            return url if page.status == 200 else None
    except (OSError, ValueError):  # refused, 404 (no dashboard pages), no answer
        return None


def shutdown(_exiting_interpreter: bool = False) -> None:
    """Disconnect, and stop the embedded cluster if ``init`` started one. An existing cluster
    is left running."""
    global _driver
    with _lock:
        runtime, _driver = _driver, None
    if runtime is None:
        return
    try:
        from raylike._api import actors as _actors

        _actors.on_shutdown(runtime)
    except Exception:
        logger.debug("actor clean-up at shutdown failed", exc_info=True)
    try:
        from raylike._api import placement_groups as _placement_groups

        _placement_groups.on_shutdown(runtime)
    except Exception:
        logger.debug("placement group clean-up at shutdown failed", exc_info=True)
    from raylike._api import metrics as _metrics

    _metrics.on_shutdown(runtime)  # the last batch of metrics, before the client closes
    leases = getattr(runtime.backend, "leases", None)
    if leases is not None:  # tasks waiting for a lease: nobody is left to read them
        leases.close()
    direct = runtime.backend.direct
    if direct is not None:
        direct.close()
    if runtime.logs is not None:
        runtime.logs.close()
    if runtime.errors is not None:
        runtime.errors.close()
    if runtime.memory is not None:
        runtime.memory.close()
    _memory.reset()
    from raylike._api import pinning as _pinning
    from raylike._api.ref_counts import release_dropped

    _pinning.unpin_all()  # refs pickled out of band: pinned until now (``pinning``)
    release_dropped()
    if runtime.owns_client:
        from raylike._dask.client.callbacks import quiet_closing

        quiet_closing()  # the cluster may stop under a message still in flight
        try:
            runtime.client.close(timeout=5)
        except Exception:
            logger.debug("closing the Dask client failed", exc_info=True)
    if runtime.cluster is not None:
        runtime.cluster.close()


class _BareBackend:
    """Rebuilds refs in a process with no runtime (unpickling outside any cluster)."""

    def ref(self, key: str) -> Any:
        from raylike._api.objects import ObjectRef

        return ObjectRef(key)

    def __getattr__(self, name: str) -> Any:
        raise RaySystemError("Ray has not been started yet. You can start Ray with 'ray.init()'.")
