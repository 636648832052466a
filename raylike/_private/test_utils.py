"""Ray's test helpers (``ray._private.test_utils``) with Ray's signatures and behaviour, so that
Ray's own test files run unchanged on raylike.

What needs Ray's internals with no Dask counterpart (Redis, the GCS, raylets, Prometheus
metrics, TLS set-up, cloud instance killers) raises ``NotImplementedError`` naming the helper
when called; importing it works, as Ray's conftest imports many of them. The error subscriber
receives the errors raylike pushes to drivers (``raylike._api.error_pubsub``); the log subscriber,
the log lines of the driver's job (``raylike._api.logs``)."""
from __future__ import annotations

import contextlib
import fnmatch
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import raylike
from raylike._common.test_utils import (
    DEFAULT_DRIVER_TIMEOUT_SECONDS,
    Semaphore,
    SignalActor,
    _communicate,
    async_wait_for_condition,
    run_string_as_driver,
    wait_for_condition,
)
from raylike._private import ray_constants
from raylike._private._batch_queue import BatchQueue

__all__ = [
    "Semaphore", "SignalActor", "async_wait_for_condition", "chdir", "check_spilled_mb",
    "client_test_enabled", "convert_actor_state", "format_web_url",
    "external_redis_test_enabled", "generate_system_config_map", "get_error_message",
    "get_log_batch", "get_log_message", "get_non_head_nodes", "get_other_nodes",
    "init_error_pubsub", "init_log_pubsub", "is_placement_group_removed",
    "kill_actor_and_wait_for_failure",
    "kill_process_by_name",
    "kill_processes", "object_memory_usage", "placement_group_assert_no_leak", "put_object",
    "ray_constants", "redis_replicas", "redis_sentinel_replicas",
    "reset_autoscaler_v2_enabled_cache", "run_string_as_driver",
    "run_string_as_driver_nonblocking", "run_string_as_driver_stdout_stderr", "same_elements",
    "wait_for_assertion", "wait_for_children_of_pid", "wait_for_children_of_pid_to_exit",
    "wait_for_condition", "wait_for_pid_to_exit", "wait_until_server_available",
    "wait_until_succeeded_without_exception", "BatchQueue", "check_call_subprocess",
    "get_current_unused_port", "wait_for_aggregator_agent_if_enabled",
    "wait_for_dashboard_agent_available", "wait_for_num_actors",
]


# ---- drivers and processes ---------------------------------------------------------------

def run_string_as_driver_nonblocking(driver_script: str,
                                     env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    """Start ``driver_script`` in a new Python process and return its ``Popen`` at once
    (stdout and stderr are pipes)."""
    # the script arrives on stdin and runs with no main file, as a Ray driver script would
    boot = ("import sys; script = sys.stdin.read(); sys.stdin.close(); del sys; "
            "exec(compile(script, '<driver>', 'exec'))")
    proc = subprocess.Popen([sys.executable, "-c", boot], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    assert proc.stdin is not None
    proc.stdin.write(driver_script.encode("ascii"))
    proc.stdin.close()
    return proc


def run_string_as_driver_stdout_stderr(
        driver_script: str, env: dict[str, str] | None = None, encode: str = "utf-8",
        timeout: float | None = DEFAULT_DRIVER_TIMEOUT_SECONDS) -> tuple[str, str]:
    """Like ``run_string_as_driver``, returning stdout and stderr apart."""
    proc = subprocess.Popen([sys.executable, "-"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    with proc:
        out, err = _communicate(proc, driver_script.encode(encode), timeout)
    stdout, stderr = out.decode(encode, errors="replace"), err.decode(encode, errors="replace")
    if proc.returncode:
        print(stdout)
        print(stderr, file=sys.stderr)
        raise subprocess.CalledProcessError(proc.returncode, proc.args, out, err)
    return stdout, stderr


def _pid_alive(pid: int) -> bool:
    import psutil

    try:
        return bool(psutil.Process(pid).status() != psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return False


def wait_for_pid_to_exit(pid: int, timeout: float = 20) -> None:
    """Return once process ``pid`` is gone (or a zombie); ``TimeoutError`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _pid_alive(pid):
            return
        time.sleep(0.1)
    raise TimeoutError(f"Timed out while waiting for process {pid} to exit.")


def wait_for_children_of_pid(pid: int, num_children: int = 1, timeout: float = 20) -> None:
    """Return once process ``pid`` has ``num_children`` direct children."""
    import psutil

    deadline = time.monotonic() + timeout
    children: list[Any] = []
    while time.monotonic() < deadline:
        children = psutil.Process(pid).children(recursive=False)
        if len(children) >= num_children:
            return
        time.sleep(0.1)
    raise TimeoutError(f"Timed out while waiting for process {pid} children to start "
                       f"({len(children)}/{num_children} started: {children}).")


def wait_for_children_of_pid_to_exit(pid: int, timeout: float = 20) -> None:
    """Return once every child of process ``pid`` has exited."""
    import psutil

    children = psutil.Process(pid).children()
    _, alive = psutil.wait_procs(children, timeout=timeout)
    if alive:
        raise TimeoutError("Timed out while waiting for process children to exit. Children "
                           f"still alive: {[p.name() for p in alive]}.")


def kill_process_by_name(name: str, SIGKILL: bool = False) -> None:  # noqa: N803 (Ray's name)
    """Terminate (or kill) every process of this machine called ``name``."""
    import psutil

    for proc in psutil.process_iter(attrs=["name"]):
        if proc.info["name"] == name:
            with contextlib.suppress(psutil.Error):
                proc.kill() if SIGKILL else proc.terminate()


def kill_processes(process_infos: list[Any]) -> None:
    """Kill the given processes (``Popen``-like, or holding one as ``.process``) and reap
    them; ones already gone are skipped."""
    for info in process_infos:
        proc = getattr(info, "process", info)
        with contextlib.suppress(ProcessLookupError, OSError):
            proc.kill()
        with contextlib.suppress(Exception):
            proc.wait(timeout=10)


def check_call_subprocess(argv: list[str], capture_stdout: bool = False,
                          capture_stderr: bool = False) -> bytes:
    """Run ``argv``; ``CalledProcessError`` if it fails. Returns what was captured (stderr
    joins stdout when both are captured)."""
    stdout = subprocess.PIPE if capture_stdout else None
    stderr = (subprocess.STDOUT if capture_stdout else subprocess.PIPE) if capture_stderr \
        else None
    proc = subprocess.Popen(argv, stdout=stdout, stderr=stderr)
    out, err = proc.communicate()
    if proc.returncode:
        raise subprocess.CalledProcessError(proc.returncode, argv, out, err)
    return b"".join(part for part in (out, err) if part is not None)


def get_current_unused_port() -> int:
    """A TCP port of localhost free at the time of the call."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("localhost", 0))
        return int(sock.getsockname()[1])


def wait_until_server_available(address: str, timeout_ms: float = 5000,
                                retry_interval_ms: float = 100) -> bool:
    """True once something accepts TCP connections at ``host:port``; False after the timeout."""
    from raylike._dask.cluster.embedded import listening

    deadline = time.monotonic() + timeout_ms / 1000.0
    while time.monotonic() <= deadline:
        if listening(address, timeout=1.0):
            return True
        time.sleep(retry_interval_ms / 1000.0)
    return False


@contextlib.contextmanager
def chdir(directory: str) -> Iterator[None]:
    """Run the block in ``directory``, then return to the previous working directory."""
    previous = os.getcwd()
    os.chdir(directory)
    try:
        yield
    finally:
        os.chdir(previous)


# ---- waiting ----------------------------------------------------------------------------

def format_web_url(url: str) -> str:
    """``url`` with ``http://`` in front when it names no scheme (a dashboard's host:port)."""
    return url if "://" in url else f"http://{url}"


def wait_for_assertion(assertion_predictor: Callable[..., Any], timeout: float = 10,
                       retry_interval_ms: float = 100, raise_exceptions: bool = False,
                       **kwargs: Any) -> None:
    """Retry ``assertion_predictor(**kwargs)`` until it raises no ``AssertionError``; after
    ``timeout`` the last ``AssertionError`` is raised again."""
    last: list[AssertionError] = []

    def passes() -> bool:
        try:
            assertion_predictor(**kwargs)
            return True
        except AssertionError as exc:
            last[:] = [exc]
            return False

    try:
        wait_for_condition(passes, timeout=timeout, retry_interval_ms=retry_interval_ms,
                           raise_exceptions=raise_exceptions)
    except RuntimeError:
        if last:
            raise last[0] from None
        raise


def wait_until_succeeded_without_exception(func: Callable[..., Any],
                                           exceptions: tuple[type[BaseException], ...],
                                           *args: Any, timeout_ms: float = 1000,
                                           retry_interval_ms: float = 100,
                                           raise_last_ex: bool = False) -> bool:
    """Call ``func(*args)`` until it raises none of ``exceptions``: True, or False after
    ``timeout_ms`` (or the last exception with ``raise_last_ex``)."""
    deadline = time.monotonic() + timeout_ms / 1000.0
    last: BaseException | None = None
    while time.monotonic() <= deadline:
        try:
            func(*args)
            return True
        except exceptions as exc:
            last = exc
        time.sleep(retry_interval_ms / 1000.0)
    if raise_last_ex and last is not None:
        raise last
    return False


# ---- cluster state ----------------------------------------------------------------------

def convert_actor_state(state: int | str | None) -> str | None:
    """An actor state's name from its number in Ray's ``ActorTableData.ActorState`` (a name is
    returned as it is); ``None`` for no state (or 0, as Ray's helper does)."""
    if not state:
        return None
    if isinstance(state, str):
        return state
    from raylike.core.generated.gcs_pb2 import ActorTableData

    states: Any = ActorTableData.ActorState  # type: ignore[attr-defined]  # a nested enum
    return str(states.Name(int(state)))


def wait_for_num_actors(num_actors: int, state: int | str | None = None,
                        timeout: float = 10) -> None:
    """Return once the state API lists at least ``num_actors`` actors (in ``state``: a name,
    e.g. ``"ALIVE"``, or its number in Ray's enum, e.g. ``ActorTableData.DEAD``);
    ``TimeoutError`` after ``timeout`` seconds."""
    from raylike.util.state import list_actors

    state = convert_actor_state(state)

    filters = [("state", "=", state)] if state else None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if len(list_actors(filters=filters, limit=num_actors)) >= num_actors:
            return
        time.sleep(0.1)
    raise TimeoutError("Timed out while waiting for global state.")



def client_test_enabled() -> bool:
    """False: raylike has no Ray Client mode (``ray://``)."""
    return False


def external_redis_test_enabled() -> bool:
    return os.environ.get("TEST_EXTERNAL_REDIS") == "1"


def redis_replicas() -> int:
    return int(os.environ.get("TEST_EXTERNAL_REDIS_REPLICAS", "1"))


def redis_sentinel_replicas() -> int:
    return int(os.environ.get("TEST_EXTERNAL_REDIS_SENTINEL_REPLICAS", "2"))


def reset_autoscaler_v2_enabled_cache() -> None:
    """No-op: raylike has no autoscaler."""


def generate_system_config_map(**kwargs: Any) -> dict[str, Any]:
    """``init`` keywords setting ``_system_config`` to ``kwargs``."""
    return {"_system_config": kwargs}


def same_elements(elems_a: list[Any], elems_b: list[Any]) -> bool:
    """True if both lists hold the same elements, in any order, duplicates counted."""
    remaining = list(elems_b)
    for elem in elems_a:
        if elem not in remaining:
            return False
        remaining.remove(elem)
    return not remaining


def recursive_fnmatch(dirpath: str, pattern: str) -> list[str]:
    """Every path under ``dirpath`` whose file name matches ``pattern``."""
    return [os.path.join(root, name) for root, _, names in os.walk(dirpath)
            for name in fnmatch.filter(names, pattern)]


def object_memory_usage() -> float:
    """Bytes of the object store in use, from the cluster's total and available
    ``object_store_memory`` (0 where nodes declare none)."""
    total = raylike.cluster_resources().get("object_store_memory", 0)
    return total - raylike.available_resources().get("object_store_memory", 0)


@raylike.remote
def _put(obj: Any) -> Any:
    return obj


def put_object(obj: Any, use_ray_put: bool) -> Any:
    """A ref to ``obj``: from ``put``, or returned by a task."""
    return raylike.put(obj) if use_ray_put else _put.remote(obj)


def get_other_nodes(cluster: Any, exclude_head: bool = False) -> list[Any]:
    """The nodes of ``cluster`` but the one the driver is attached to (its head node)."""
    head = cluster.head_node
    return [node for node in cluster.list_all_nodes()
            if node is not head and not (exclude_head and node.head)]


def get_non_head_nodes(cluster: Any) -> list[Any]:
    return [node for node in cluster.list_all_nodes() if not node.head]


def kill_actor_and_wait_for_failure(actor: Any, timeout: float = 10,
                                    retry_interval_ms: float = 100) -> None:
    """``ray.kill(actor)``, then wait until its calls fail with ``RayActorError``."""
    from raylike.exceptions import RayActorError

    raylike.kill(actor)
    deadline = time.monotonic() + timeout
    while time.monotonic() <= deadline:
        try:
            raylike.get(actor.__ray_ready__.remote(), timeout=retry_interval_ms / 1000.0 + 1)
        except RayActorError:
            return
        except Exception:  # noqa: S110 (not dead yet: a timeout or a restart in progress)
            pass
        time.sleep(retry_interval_ms / 1000.0)
    raise RuntimeError(f"It took too much time to kill an actor: {actor._actor_id.hex()}")


def is_placement_group_removed(pg: Any) -> bool:
    """Whether ``placement_group_table`` says the group ``pg`` is removed."""
    from raylike.util import placement_group_table

    return placement_group_table(pg).get("state") == "REMOVED"


def placement_group_assert_no_leak(pgs_created: list[Any]) -> None:
    """Remove the groups, then wait until each is REMOVED and every resource is available
    again (no ``_group_`` resources left)."""
    from raylike.util import placement_group_table, remove_placement_group

    for pg in pgs_created:
        remove_placement_group(pg)
    wait_for_condition(lambda: all(entry["state"] == "REMOVED"
                                   for entry in placement_group_table().values()))

    def recovered() -> bool:
        # the groups' resources leave the totals too, asynchronously: both views are read
        total = raylike.cluster_resources()
        available = raylike.available_resources()
        return not any("_group_" in name for name in [*total, *available]) and all(
            available.get(name) == value for name, value in total.items()
            if name not in ("memory", "object_store_memory"))

    wait_for_condition(recovered)


# ---- errors and logs pushed to the driver ------------------------------------------------

def init_error_pubsub() -> Any:
    """A subscriber to the errors pushed to drivers from now on (this process must be a
    driver connected by ``init``)."""
    from raylike._api import runtime as _runtime
    from raylike._api.error_pubsub import Subscriber

    runtime = _runtime.driver()
    if runtime is None or runtime.errors is None:
        raise RuntimeError("init_error_pubsub needs a driver connected by ray.init()")
    sub = Subscriber(runtime.errors)
    sub.subscribe()
    return sub


def get_error_message(subscriber: Any, num: float = 1e6, error_type: str | None = None,
                      timeout: float = 20) -> list[dict[str, Any]]:
    """Up to ``num`` error messages (of ``error_type``) received within ``timeout``."""
    deadline = time.monotonic() + timeout
    messages: list[dict[str, Any]] = []
    while time.monotonic() < deadline and len(messages) < num:
        _, data = subscriber.poll(timeout=deadline - time.monotonic())
        if not data:
            break
        if error_type is None or data.get("type") == error_type:
            messages.append(data)
    return messages


def init_log_pubsub() -> Any:
    """A subscriber to the log lines of this driver's job from now on (Ray's subscriber sees
    every job's; raylike's topics are per job). Each poll gives one batch: Ray's keys ``ip``,
    ``pid``, ``job``, ``is_err``, ``lines``, ``actor_name``, ``task_name``."""
    from raylike._api import logs as _logs
    from raylike._api import runtime as _runtime
    from raylike._api.error_pubsub import Subscriber

    runtime = _runtime.driver()
    if runtime is None:
        raise RuntimeError("init_log_pubsub needs a driver connected by ray.init()")
    if runtime.logs is None:  # log_to_driver=False: listen without writing the lines
        runtime.logs = _logs.Forwarder(runtime.backend, runtime.job_id, echo=False)
    sub = Subscriber(runtime.logs, keyed=False)
    sub.subscribe()
    return sub


def get_log_message(subscriber: Any, num: float = 1e6, timeout: float = 20,
                    job_id: str | None = None,
                    matcher: Callable[[str], bool] | None = None) -> list[list[str]]:
    """The lines of up to ``num`` log batches (of ``job_id``; with ``matcher``, only batches
    with a line it accepts) received within ``timeout``."""
    deadline = time.monotonic() + timeout
    batches: list[list[str]] = []
    while time.monotonic() < deadline and len(batches) < num:
        data = subscriber.poll(timeout=deadline - time.monotonic())
        if not data:
            break
        if job_id and job_id != data.get("job"):
            continue
        if matcher and not any(matcher(line) for line in data["lines"]):
            continue
        batches.append(data["lines"])
    return batches


def get_log_batch(subscriber: Any, num: int, timeout: float = 20, job_id: str | None = None,
                  matcher: Callable[[Any], bool] | None = None) -> list[dict[str, Any]]:
    """Up to ``num`` log batches (of ``job_id``, accepted by ``matcher``) within ``timeout``."""
    deadline = time.monotonic() + timeout
    batches: list[dict[str, Any]] = []
    while time.monotonic() < deadline and len(batches) < num:
        data = subscriber.poll(timeout=deadline - time.monotonic())
        if not data:
            break
        if (job_id and job_id != data.get("job")) or (matcher and not matcher(data)):
            continue
        batches.append(data)
    return batches


# ---- Ray internals with no Dask counterpart ---------------------------------------------

def _unsupported(name: str, why: str) -> Any:
    def call(*_: Any, **__: Any) -> Any:
        raise NotImplementedError(f"ray._private.test_utils.{name} is not available on "
                                  f"raylike: {why}")
    call.__name__ = call.__qualname__ = name
    return call


check_spilled_mb = _unsupported(
    "check_spilled_mb", "it reads the plasma store's spilled and fallback-allocated figures "
    "(`ray memory --stats-only`); a raylike node's objects are spilled by Dask")

_NO_REDIS = "raylike keeps no state in Redis (the Dask scheduler holds it)"
get_redis_cli = _unsupported("get_redis_cli", _NO_REDIS)
start_redis_instance = _unsupported("start_redis_instance", _NO_REDIS)
start_redis_sentinel_instance = _unsupported("start_redis_sentinel_instance", _NO_REDIS)


class _GlobalStateAccessor:
    """What ``make_global_state_accessor`` gives: the node table of the cluster this driver is
    connected to; Ray's other GCS tables (protobufs) have no counterpart."""

    def get_node_table(self) -> list[dict[str, Any]]:
        return raylike.nodes()

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return _unsupported(f"make_global_state_accessor(...).{name}",
                            "only get_node_table has a counterpart (there is no GCS)")


def make_global_state_accessor(address_info: Any) -> _GlobalStateAccessor:
    """Ray's accessor of the GCS tables of the cluster ``address_info`` (an ``init`` context)
    names: on raylike, of the cluster this driver is connected to, which must be that one."""
    info = getattr(address_info, "address_info", address_info)
    wanted = info.get("gcs_address") if isinstance(info, dict) else None
    current = raylike.get_runtime_context().gcs_address
    if wanted and wanted != current:
        raise NotImplementedError(f"make_global_state_accessor on raylike reads only the "
                                  f"cluster this process is connected to ({current}), not "
                                  f"{wanted}")
    return _GlobalStateAccessor()


setup_tls = _unsupported("setup_tls", "give the Dask cluster TLS (see docs/fault-tolerance.md)")
teardown_tls = _unsupported("teardown_tls", "give the Dask cluster TLS instead")
check_call_ray = _unsupported("check_call_ray", "the command line is `raylike`, not `ray`")
get_gcs_memory_used = _unsupported("get_gcs_memory_used",
                                   "no GCS server process (the Dask scheduler holds the state)")
kill_raylet = _unsupported("kill_raylet", "no raylet gRPC service; kill a test node with "
                           "cluster_utils' node.kill_raylet() or Cluster.remove_node()")
raw_metric_timeseries = _unsupported("raw_metric_timeseries", "no metrics agent")
get_metric_check_condition = _unsupported("get_metric_check_condition", "no metrics agent")
wait_for_dashboard_agent_available = _unsupported("wait_for_dashboard_agent_available",
                                                  "raylike runs no dashboard agents")
get_and_run_resource_killer = _unsupported("get_and_run_resource_killer",
                                           "use cluster_utils.Cluster.remove_node")


class RayletKiller:
    """Ray's chaos actor that kills raylets; raylike has none (use ``Cluster.remove_node``)."""

    def __init__(self, *_: Any, **__: Any) -> None:
        raise NotImplementedError("ray._private.test_utils.RayletKiller is not available on "
                                  "raylike: use cluster_utils.Cluster.remove_node")

    @classmethod
    def options(cls, *_: Any, **__: Any) -> Any:
        return cls()

    @classmethod
    def remote(cls, *_: Any, **__: Any) -> Any:
        return cls()


def wait_for_aggregator_agent_if_enabled(address: str, node_id: str, timeout: float = 10) -> None:
    """Ray waits for its event aggregator agent when
    ``RAY_enable_core_worker_ray_event_to_aggregator=1``; raylike has none, so that setting
    is refused, and without it there is nothing to wait for."""
    if os.environ.get("RAY_enable_core_worker_ray_event_to_aggregator") == "1":
        raise NotImplementedError("ray._private.test_utils.wait_for_aggregator_agent_if_enabled"
                                  ": raylike has no event aggregator agent")
