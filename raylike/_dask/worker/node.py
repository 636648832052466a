"""The node: raylike's part of a Dask worker (a ``WorkerPlugin``).

A Ray node is one Dask worker. Its ``CPU``/``GPU``/custom resources are Dask worker resources, so
Dask's own worker-side gate limits what runs at once. Each task's Dask thread (``execute_task``)
hands the call to a child process of the node (``raylike._process.pool``) and answers that child's
API calls with the worker's client (``TaskScope``). While the child blocks in ``get``/``wait``
its CPU goes back to the node, as in Ray, so nested tasks never deadlock.
"""
from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import pickle
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from distributed import get_worker
from distributed.comm import get_address_host
from distributed.diagnostics.plugin import WorkerPlugin
from distributed.worker_state_machine import WorkerState

from raylike._api import context as _context
from raylike._api import error_pubsub as _error_pubsub
from raylike._api import ids as _ids
from raylike._api import resources as _resources
from raylike._api import runtime as _runtime
from raylike._api.objects import ObjectRef, _Borrowed
from raylike._api.options import DYNAMIC, STREAMING
from raylike._api.serialization import (
    dumps_frames,
    learn_serializers,
    loads,
    loads_to_keep,
)
from raylike._api.state import node_id
from raylike._dask import internals
from raylike._dask.client import transfers as _transfers
from raylike._dask.client.backend import DaskBackend
from raylike._dask.client.connect import tune
from raylike._dask.client.local_objects import WorkerObjects
from raylike._dask.internals import StateMachineEvent
from raylike._dask.scheduler.refs import batch_interval
from raylike._dask.worker import accelerators as _accelerators
from raylike._dask.worker import lookahead as _lookahead
from raylike._dask.worker import memory_monitor as _memory_monitor
from raylike._dask.worker import packages as _packages
from raylike._dask.worker import streams as _streams
from raylike._dask.worker import task_events as _task_events
from raylike._dask.worker.leases import LeaseDesk
from raylike._dask.worker.scope import TaskScope
from raylike._process.child import ReturnError, _retryable
from raylike._process.env_setup import NodeEnvs
from raylike._transport import lane as _lane
from raylike.exceptions import RayTaskError, TaskCancelledError, WorkerCrashedError

PLUGIN_NAME = "raylike-node"
INSTALLER_NAME = "raylike-node-installer"
# how long ``ray.cancel(recursive=True)`` of an actor call waits for the cancel to reach what
# the call submitted (Ray sends it on without waiting; waiting here makes it take effect
# before ``cancel`` returns)
CANCEL_REACH_TIMEOUT = 30.0
logger = logging.getLogger("raylike.node")


@dataclass
class ResourcesChanged(StateMachineEvent):
    """Worker stimulus: add ``delta`` to the available resources, then start what fits."""

    __slots__ = ("delta",)
    delta: dict[str, float]


def _on_resources_changed(state: WorkerState, ev: ResourcesChanged) -> Any:
    for name, value in ev.delta.items():
        state.available_resources[name] = round(state.available_resources[name] + value, 6)
    return internals.ensure_computing(state)


_registered = False


def _register_event() -> None:
    global _registered
    if not _registered:
        internals.on_worker_event(ResourcesChanged, _on_resources_changed)
        _registered = True


class NodeInstaller(WorkerPlugin):
    """What a driver registers on a cluster's workers: it adds the node plugin to a worker
    that has none. (Registering the node plugin itself would replace, and so tear down, the
    node of a worker that loaded it as it started (``raylike._dask.cluster.preload``): its actors,
    detached
    ones included, would be lost to every driver when a second one connects.)"""

    name = INSTALLER_NAME
    idempotent = True

    async def setup(self, worker: Any) -> None:
        if PLUGIN_NAME not in worker.plugins:
            await worker.plugin_add(NodePlugin(), name=PLUGIN_NAME)


class NodePlugin(WorkerPlugin):
    """raylike's state on one Dask worker: its child processes, GPU ids and running tasks."""

    name = PLUGIN_NAME
    idempotent = True

    async def setup(self, worker: Any) -> None:
        _register_event()
        _lookahead.install(worker.state)  # what fits starts before what waits for resources
        learn_serializers()  # values it stores may need a user's serializer to go on
        _transfers.install(worker)  # a value leaves it as one pickle, as in Ray
        self.worker = worker
        self.node_id = node_id(worker.address)
        self._client_lock = threading.Lock()
        self._backend: DaskBackend | None = None
        self.running: dict[str, TaskScope] = {}
        # task key -> callbacks of drivers waiting for its result on the lane (``watch``)
        self.watchers: dict[str, list[Callable[[str, Any], None]]] = {}
        self.actors: dict[str, Any] = {}  # actor id -> its host (raylike._dask.worker.actor_host)
        self.cancelled: set[str] = set()
        self.group_removed: set[str] = set()  # killed as their placement group was removed
        self.lock = threading.Lock()
        # the actor-call socket for drivers on this host (raylike._transport.lane)
        self.lane: Any = None
        self.leases = LeaseDesk(self)  # drivers' task leases here (raylike._dask.worker.leases)
        await self._declare_resources(worker)
        if batch_interval() > 0:
            internals.set_worker_interval(worker, batch_interval())
        cpus = int(worker.state.total_resources.get("CPU", 1))
        from raylike._process.pool import Pool

        self._cpus = max(1, cpus)
        self._pool_warned = 0  # the multiple of its CPUs at the last "too many processes"
        self._warn_lock = threading.Lock()
        self.pool = Pool(max_idle=max(2, cpus * 2), on_start=self._pool_grew)
        self.envs = NodeEnvs(_packages.base_dir(worker),
                             get_address_host(worker.address))  # runtime environments set up here
        self.accelerators = _accelerators.AcceleratorIds(dict(worker.state.total_resources))
        self.helpers = ThreadPoolExecutor(1024, thread_name_prefix="raylike-request")
        worker.handlers["raylike_lane"] = self._lane_info
        _runtime.set_process_backend(_WorkerBackend(self))
        threading.Thread(target=self._warm_up, args=(min(cpus, 2),), daemon=True,
                         name="raylike-warmup").start()
        self.memory_monitor = _memory_monitor.MemoryMonitor(self)  # Ray's OOM prevention
        self.memory_monitor.start()

    def _pool_grew(self, processes: int) -> None:
        """Ray's warning that a node started many worker processes (four times its CPUs,
        then at each further multiple): actors, or tasks blocked in ``get``, pile up."""
        multiple = processes // self._cpus
        with self._warn_lock:
            if multiple < 4 or multiple <= self._pool_warned:
                return
            self._pool_warned = multiple
        host = get_address_host(self.worker.address)
        _error_pubsub.publish(
            self.worker, "worker_pool_large",
            f"WARNING: {processes} PYTHON worker processes have been started on node: "
            f"{self.node_id} with address: {host}. This could be a result of using a large "
            "number of actors, or due to tasks blocked in ray.get() calls (see "
            "https://github.com/ray-project/ray/issues/3644 for some discussion of "
            "workarounds).")

    async def _declare_resources(self, worker: Any) -> None:
        """A worker started by hand gets ``CPU = nthreads``, the GPUs pynvml finds and Ray's
        ``node:<ip>``, unless it declared them itself."""
        missing: dict[str, float] = {}
        if "CPU" not in worker.state.total_resources:
            missing["CPU"] = float(worker.state.nthreads)
        if "GPU" not in worker.state.total_resources:
            gpus = _resources.detect_gpus()
            if gpus:
                missing["GPU"] = float(len(gpus))
                missing.update(_resources.accelerator_resources(len(gpus)))
        node_ip = f"node:{get_address_host(worker.address)}"  # Ray's resource of every node
        if node_ip not in worker.state.total_resources:
            missing[node_ip] = 1.0
        declared = {**worker.state.total_resources, **missing}
        missing.update({k: v for k, v in _resources.with_hidden(declared).items()
                        if k not in declared})
        if missing:
            await worker.set_resources(**missing)
            try:
                await worker.scheduler.raylike_resources_changed(worker=worker.address)
            except Exception:  # an older raylike on the scheduler: tasks may wait for a join
                logger.debug("could not ask the scheduler to re-place tasks", exc_info=True)

    async def _lane_info(self) -> dict[str, str] | None:
        """Where a driver on this host can reach this worker faster
        (``raylike._transport.lane``)."""
        if not _lane.enabled():
            return None
        if self.lane is None:
            self.lane = _lane.LaneServer(asyncio.get_running_loop(), self.actors.get,
                                         WorkerObjects(self.worker), self)
        return self.lane.info()

    def _warm_up(self, children: int) -> None:
        try:
            self.pool.prewarm(children)
            self.backend()
        except Exception:
            logger.debug("warm-up failed", exc_info=True)

    def teardown(self, worker: Any) -> None:
        self.memory_monitor.stop()
        for host in list(self.actors.values()):
            host.close()
        if self.lane is not None:
            self.lane.close()
        self.pool.close()
        self.helpers.shutdown(wait=False, cancel_futures=True)

    def backend(self) -> DaskBackend:
        """The worker's client, wrapped (created on first use, from a non-loop thread)."""
        if self._backend is None:
            with self._client_lock:
                if self._backend is None:
                    client = internals.worker_client(self.worker)
                    tune(client)
                    self._backend = DaskBackend(client, direct=_runtime.direct_calls(),
                                                in_worker=self.worker)
        return self._backend

    def adjust_cpu(self, delta: float, names: tuple[str, ...] = ("CPU",)) -> None:
        """Give CPU back to the node (``delta > 0``) or take it again (may go below 0, as in
        Ray after a blocked task wakes); ``names``: a placement group's CPU resources."""
        if delta:
            event = ResourcesChanged(delta=dict.fromkeys(names, delta),
                                     stimulus_id=f"raylike-cpu-{time.time()}")
            internals.stimulate_soon(self.worker, event)

    # -- tasks --------------------------------------------------------------------------------
    def run_task(self, call: Any, deps: tuple[Any, ...]) -> Any:
        """Run ``call`` in a child, retrying as its options say; return its result (and hand
        it to drivers watching for it on the lane, before Dask reports it)."""
        try:
            result = self._run_task(call, deps)
        except BaseException:
            if self.watchers:
                self._notify(call.key, ("absent", None))
            raise
        if self.watchers:
            self._notify(call.key, _lane.value_answer(result))
        return result

    def watch(self, key: str, callback: Callable[[str, Any], None]) -> None:
        """Call ``callback(status, payload)`` from the task's thread when task ``key`` ends
        here: ``("ok", frames)``, or ``("absent", None)`` if it failed."""
        with self.lock:
            self.watchers.setdefault(key, []).append(callback)

    def unwatch(self, key: str, callback: Callable[[str, Any], None]) -> bool:
        """Forget ``callback``; ``False`` if it was called already (or never watched)."""
        with self.lock:
            callbacks = self.watchers.get(key)
            if not callbacks or callback not in callbacks:
                return False
            callbacks.remove(callback)
            if not callbacks:
                del self.watchers[key]
            return True

    def _notify(self, key: str, answer: tuple[str, Any]) -> None:
        with self.lock:
            callbacks = self.watchers.pop(key, [])
        for callback in callbacks:
            callback(*answer)

    def _run_task(self, call: Any, deps: tuple[Any, ...]) -> Any:
        attempts = oom_kills = 0
        while True:
            status, payload = self._attempt(_retries_left(call, attempts), deps)
            killed = self.memory_monitor.take(call.key)
            if status == "ok":
                return payload
            if status == "cancelled":
                raise TaskCancelledError(_ids.task_id(call.key, None, call.job_id))
            if status == "interrupted":  # never retried; its own error (Ray's
                if isinstance(payload, RayTaskError):  # RayTaskError(TaskCancelledError))
                    payload._task_key = call.key
                self._note_interrupted(call.key, payload)
                raise payload
            retry_left = call.max_retries < 0 or attempts < call.max_retries
            if status == "crashed" and killed is not None:  # by the memory monitor
                oom_kills += 1
                delay = self.memory_monitor.retry_delay(killed, call.max_retries, oom_kills,
                                                        attempts + oom_kills)
                if delay is None or not self.memory_monitor.wait(
                        delay, lambda: call.key in self.cancelled):  # a cancel ends the wait
                    raise killed.error()
                logger.info("retrying %s after it was killed for memory", call.name)
                continue
            if status == "crashed":
                with self.lock:  # its group is gone: Ray's crash error, and no retry here
                    ended_with_group = call.key in self.group_removed
                    self.group_removed.discard(call.key)
                if ended_with_group or not retry_left:
                    crashed = WorkerCrashedError(payload)
                    crashed._task_key = call.key  # type: ignore[attr-defined] # see RayTaskError
                    raise crashed
            elif not (retry_left and _retryable(payload, call.retry_exceptions)):
                if call.num_returns == STREAMING:  # Ray: the next item raises it, the task ends
                    _streams.record_error(self, call.key, payload)
                    return None
                if isinstance(payload, RayTaskError):  # so a dependent task's get can tell
                    payload._task_key = call.key  # its own failure from an argument's
                self._note_interrupted(call.key, payload)
                raise payload
            attempts += 1
            logger.info("retrying %s (attempt %d): %s", call.name, attempts + 1, status)

    def _note_interrupted(self, key: str, error: Any) -> None:
        """Ray lists a task that ended interrupted (a cancel, its own ``KeyboardInterrupt``:
        ``RayTaskError(TaskCancelledError)``) as FINISHED: tell the state plugin before Dask
        reports the error (same stream, so in order)."""
        if _task_events.interrupted(error):
            self.worker.loop.add_callback(internals.send_from_worker, self.worker,
                                          {"op": "raylike-task-interrupted", "key": key})

    def _attempt(self, call: Any, deps: tuple[Any, ...]) -> tuple[str, Any]:
        with self.lock:
            if call.key in self.cancelled:
                self.cancelled.discard(call.key)
                return "cancelled", None
        setup = self.envs.prepare(call.runtime_env)  # RuntimeEnvSetupError: the task's error
        request = {**call.resources, "GPU": call.num_gpus}
        leased = self.accelerators.lease(request)
        gpu_ids = leased.get("GPU", [])
        child = self.pool.acquire(setup, call.job_id or "")
        scope = TaskScope(self, call.key, call.num_cpus, child, cpu_names=call.cpu_names)
        with self.lock:
            early = call.key in self.cancelled  # cancelled while it was being set up: the
            if early:  # interrupt found no running scope to signal, so it stops here
                self.cancelled.discard(call.key)
            else:
                scope.call = call
                self.running[call.key] = scope
        if early:
            scope.finish()
            self.accelerators.release(leased, request)
            self.pool.release(child)
            return "cancelled", None
        _task_events.ran_in(call.key, child.pid)
        info = _context.TaskInfo(
            key=call.key, name=call.name, job_id=call.job_id, node_id=self.node_id,
            namespace=call.namespace, gpu_ids=gpu_ids, accelerator_ids=leased,
            resources=dict(call.resources),
            detached_default=call.detached_default, depth=call.depth,
            function_name=call.function_name, placement=call.placement,
            gcs_address=_runtime.gcs_address(self.worker.scheduler.address))
        try:
            with _Borrowed() as borrowed:
                deps_bytes = dumps_frames(list(deps), "task argument")
            scope.held.extend(borrowed.refs)
            try:  # the C pickler where it will do (cloudpickle's is written in Python)
                child.send(("task", call, deps_bytes, info),
                           plain=getattr(call, "plain", False))
            except (pickle.PicklingError, TypeError, AttributeError):
                child.send(("task", call, deps_bytes, info))
            status, payload = scope.serve()
            if status in ("ok", "err"):
                # unpickled while the scope still holds what the task made: a ref in the
                # result must take over from the scope's hold, never follow its release
                status, payload = _unpickled(status, payload, call.name, call.num_returns == 1)
        finally:
            with self.lock:
                self.running.pop(call.key, None)
                cancelled = call.key in self.cancelled
                self.cancelled.discard(call.key)
            scope.finish()
            self.accelerators.release(leased, request)
        if status == "crashed" or cancelled and status != "ok":
            self.pool.discard(child)
            if cancelled and status == "err" and isinstance(payload, BaseException):
                # interrupted as it ran (not ``force``): as in Ray, the task fails with the
                # error it ended with, ``RayTaskError(TaskCancelledError)`` with its traceback
                return "interrupted", payload
            if cancelled:
                return "cancelled", None
            if self.memory_monitor.killed(call.key):  # it says so itself
                return "crashed", payload
            _error_pubsub.worker_died(
                self.worker, call.job_id,
                f"RayTask ID: {_ids.task_id(call.key, None, call.job_id)}",
                self.node_id, child.pid, f"The worker process ended {payload}.")
            return "crashed", payload
        if call.max_calls > 0 and child.count_call(call.function_name) >= call.max_calls:
            self.pool.discard(child)  # Ray's max_calls: its process ends after that many runs
        else:
            self.pool.release(child)
        return status, payload

    def _cancel_actor_call(self, host: Any, key: str, recursive: bool
                           ) -> asyncio.Future[None] | None:
        """Cancel ``key`` if ``host``'s actor holds it (on the event loop); for a recursive
        cancel of a call its process holds, the future its process answers once what the
        call submitted is cancelled too."""
        found, reached = host.calls.cancel(key, recursive)
        if found:
            with self.lock:
                self.cancelled.discard(key)
        return reached

    async def interrupt_here(self, key: str, force: bool, recursive: bool) -> bool:
        """``interrupt`` run on the event loop by ``ray.cancel``: a recursive cancel of an
        actor call held here returns once it reached what the call submitted (their own
        calls and tasks, recursively), or after ``CANCEL_REACH_TIMEOUT`` seconds."""
        with self.lock:
            scope = self.running.get(key)
        if scope is not None or not self.actors:
            return self.interrupt(key, force, recursive)
        with self.lock:
            self.cancelled.add(key)
        reached = [self._cancel_actor_call(host, key, recursive)
                   for host in list(self.actors.values())]
        waits = [f for f in reached if f is not None]
        if waits:
            await asyncio.wait(waits, timeout=CANCEL_REACH_TIMEOUT)
        return False

    def end_with_group(self, key: str) -> None:
        """Kill the process of ``key``, a task of a placement group just removed: as in Ray,
        it fails with ``WorkerCrashedError`` (a cancel would say ``TaskCancelledError``)."""
        with self.lock:
            scope = self.running.get(key)
            if scope is None:
                return
            self.group_removed.add(key)
        try:
            os.kill(scope.child.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def interrupt(self, key: str, force: bool, recursive: bool) -> bool:
        """Cancel ``key`` if it runs here: SIGINT to its child, or SIGKILL with ``force``."""
        with self.lock:
            self.cancelled.add(key)
            scope = self.running.get(key)
        if scope is None:  # maybe a call an actor here holds (queued or running)
            for host in list(self.actors.values()):
                self.worker.loop.add_callback(self._cancel_actor_call, host, key, recursive)
            return False
        if recursive:
            for child_key in list(scope.submitted):
                threading.Thread(target=_cancel_quietly, args=(self, child_key, force),
                                 daemon=True).start()
        try:
            os.kill(scope.child.pid, signal.SIGKILL if force else signal.SIGINT)
        except ProcessLookupError:
            pass
        return True


def cancel_owned(node: NodePlugin, scope: TaskScope) -> None:
    """Ray's fate sharing: the tasks a process submitted that still run or wait are killed
    when the process ends (their owner is gone); in the background."""
    pending = [ref for ref in scope.tasks if not node.backend()._waitable(ref).done()]
    scope.tasks = []
    if not pending:
        return

    def cancel_all() -> None:
        for ref in pending:
            try:
                node.backend().cancel(ref, True, True)
            except Exception:  # it ended meanwhile, or the cluster is closing
                logger.debug("could not cancel %s of a dead owner", ref._key, exc_info=True)

    threading.Thread(target=cancel_all, daemon=True, name="raylike-fate-sharing").start()


def _unpickled(status: str, payload: Any, name: str, kept: bool) -> tuple[str, Any]:
    """A child's result or error, unpickled in the worker (an error if that fails); ``kept``:
    a result stored as it is (``loads_to_keep``: kept pickled if it does not pickle again)."""
    try:
        return status, (loads_to_keep(payload) if kept and status == "ok" else loads(payload))
    except Exception as exc:
        return "err", RayTaskError(name, f"the result of {name} could not be unpickled on "
                                   f"its worker: {type(exc).__name__}: {exc}", exc)


def _cancel_quietly(node: NodePlugin, key: str, force: bool) -> None:
    try:
        node.backend().cancel(node.backend().ref(key), force, True)
    except Exception:
        logger.debug("recursive cancel of %s failed", key, exc_info=True)


def _retries_left(call: Any, attempts: int) -> Any:
    """The call as its process gets it: a dynamic generator's ``max_retries`` is what is left,
    so that its process knows whether an error it raises ends the values or retries."""
    if call.num_returns != DYNAMIC or call.max_retries < 0 or attempts == 0:
        return call
    return dataclasses.replace(call, max_retries=call.max_retries - attempts)


class _WorkerBackend:
    """The ``_runtime.Backend`` of a Dask worker process: the node's ``DaskBackend`` (on the
    worker's client, made on first use), except that a ref unpickled on the event loop
    before that client exists is a bare one."""

    def __init__(self, node: NodePlugin) -> None:
        self.node = node

    @property
    def client(self) -> Any:
        return self.node.backend().client

    def ref(self, key: str) -> ObjectRef[Any]:
        if self.node._backend is None and threading.current_thread() is threading.main_thread():
            return ObjectRef(key)  # on the event loop before the client exists
        return self.node.backend().ref(key)

    def put(self, value: Any) -> Any:
        return self.node.backend().put(value)

    def argument_ref(self, value: Any) -> Any:
        return self.node.backend().argument_ref(value)

    def get(self, refs: list[Any], timeout: float | None) -> list[Any]:
        return self.node.backend().get(refs, timeout)

    def wait(self, refs: list[Any], num_returns: int, timeout: float | None) -> list[Any]:
        return self.node.backend().wait(refs, num_returns, timeout)

    def cancel(self, ref: Any, force: bool, recursive: bool) -> None:
        self.node.backend().cancel(ref, force, recursive)

    def submit(self, call: Any, deps: list[Any], nested: list[Any]) -> list[Any]:
        return self.node.backend().submit(call, deps, nested)

    def create_actor(self, spec: Any, nested: list[Any], get_if_exists: bool) -> Any:
        return self.node.backend().create_actor(spec, nested, get_if_exists)

    def lookup_actor(self, name: str, namespace: str | None) -> bytes | None:
        return self.node.backend().lookup_actor(name, namespace)

    def kill_actor(self, actor_id: str, no_restart: bool) -> None:
        self.node.backend().kill_actor(actor_id, no_restart)

    def list_named_actors(self, namespace: str | None, all_namespaces: bool) -> list[Any]:
        return self.node.backend().list_named_actors(namespace, all_namespaces)

    def placement_group_request(self, op: str, *args: Any) -> Any:
        return self.node.backend().placement_group_request(op, *args)

    def placement_group_ready(self, group: Any) -> Any:
        return self.node.backend().placement_group_ready(group)

    def stream_next(self, gen_ref: Any, index: int, timeout: float | None) -> tuple[str, Any]:
        return self.node.backend().stream_next(gen_ref, index, timeout)

    def stream_take(self, key: str, index: int, item: str | bytes) -> Any:
        return self.node.backend().stream_take(key, index, item)

    def stream_drop(self, key: str) -> None:
        self.node.backend().stream_drop(key)

    def error_object(self, payload: bytes) -> Any:
        return self.node.backend().error_object(payload)

    def state_request(self, op: str, *args: Any) -> Any:
        return self.node.backend().state_request(op, *args)

    def send_metrics(self, batch: Any) -> None:
        self.node.backend().send_metrics(batch)


def current_node() -> NodePlugin:
    """The node plugin of the worker running the caller."""
    node: NodePlugin = get_worker().plugins[PLUGIN_NAME]  # type: ignore[assignment]
    return node


def execute_task(call: Any, *deps: Any) -> Any:
    """What Dask runs for every raylike task (in a worker thread); also, given an
    ``ItemRebuild``, to make a lost generator item again (``_streams.rebuild_item``)."""
    if isinstance(call, _streams.ItemRebuild):
        return _streams.rebuild_item(current_node(), call, deps)
    result = current_node().run_task(call, deps)
    if call.num_returns == DYNAMIC:  # its values can be made again if lost (lineage)
        _streams.adopt_dynamic(current_node(), call.key, result)
    return result


def pick(result: Any, index: int) -> Any:
    """The ``index``-th return value of a ``num_returns > 1`` task (its error, for a
    generator that raised before yielding it)."""
    value = result[index]
    if isinstance(value, ReturnError):
        raise value.error()
    return value


def task_key_of(key: str) -> str:
    """The task key that makes object ``key`` (return keys add 4 hex digits)."""
    name, _, tail = key.rpartition("-")
    return f"{name}-{tail[:32]}" if name and len(tail) == 36 else key


async def interrupt(task_key: str, force: bool, recursive: bool, dask_worker: Any = None
                    ) -> bool:
    """Run on every worker by ``cancel``: interrupt ``task_key`` where it runs."""
    node = (dask_worker or get_worker()).plugins.get(PLUGIN_NAME)
    return isinstance(node, NodePlugin) and await node.interrupt_here(task_key, force,
                                                                      recursive)
