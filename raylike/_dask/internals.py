"""Every private Dask name raylike relies on, reached through one named accessor each.

Dask keeps no promise about these (leading underscores, undocumented attributes, the worker's
state machine). raylike needs them for what Dask's public API cannot do: a message on the
client's batched stream, a stimulus for the worker's state machine, the scheduler's handler
tables. Keeping every one here means a Dask upgrade that moves one fails in one known place:
:func:`missing` lists what the installed Dask lacks (``tests/raylike/test_dask_internals.py``
checks it is empty), and :func:`check` raises one clear error naming them.

Rule: code outside this module never touches a private Dask attribute directly.
"""
from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, MutableMapping
from typing import Any

from distributed.worker_state_machine import (
    FreeKeysEvent,
    SecedeEvent,
    StateMachineEvent,
    WorkerState,
)

__all__ = ["StateMachineEvent", "check", "missing"]

# (where it lives, attribute path): each is looked up by :func:`missing`
NEEDED: tuple[tuple[str, str], ...] = (
    ("distributed.client:Client", "_send_to_scheduler"),
    ("distributed.client:Client", "_graph_to_futures"),
    ("distributed.client:Client", "_gather"),
    ("distributed.client:FutureState", "finish"),
    ("distributed.client:FutureState", "wait"),
    ("distributed.worker:Worker", "_get_client"),
    ("distributed.worker:Worker", "handle_stimulus"),
    ("distributed.worker_state_machine:WorkerState", "_handle_event.register"),
    ("distributed.worker_state_machine:WorkerState", "_ensure_computing"),
    ("distributed.worker_state_machine:WorkerState", "_next_ready_task"),
    ("distributed.worker_state_machine:WorkerState", "_resource_restrictions_satisfied"),
    ("distributed.worker_state_machine:SecedeEvent", "__init__"),
    ("distributed.worker_state_machine:FreeKeysEvent", "__init__"),
    ("distributed.collections:HeapSet", "sorted"),
    ("distributed.scheduler:Scheduler", "bulk_schedule_unrunnable_after_adding_worker"),
    ("distributed.scheduler:Scheduler", "client_desires_keys"),
    ("distributed.scheduler:Scheduler", "client_releases_keys"),
    ("distributed.scheduler:Scheduler", "_TRANSITIONS_TABLE"),
    ("dask._expr:LLGExpr", "__init__"),
    ("dask._task_spec:Task", "__init__"),
    ("dask._task_spec:parse_input", "__call__"),
    ("distributed.spans:SpanMetadata", "__init__"),
)


def _lookup(where: str, path: str) -> Any:
    module, _, name = where.partition(":")
    obj: Any = getattr(importlib.import_module(module), name)
    for part in path.split("."):
        obj = getattr(obj, part)
    return obj


def missing() -> list[str]:
    """The private Dask names of :data:`NEEDED` the installed Dask lacks."""
    gone = []
    for where, path in NEEDED:
        try:
            _lookup(where, path)
        except (ImportError, AttributeError):
            gone.append(f"{where}.{path}")
    try:  # an attribute of instances only
        from distributed.batched import BatchedSend

        BatchedSend(interval=0.01).interval  # noqa: B018
    except (ImportError, AttributeError, TypeError):
        gone.append("distributed.batched:BatchedSend().interval")
    return gone


def check() -> None:
    """Raise one clear error if the installed Dask lacks a private name raylike relies on."""
    gone = missing()
    if gone:
        import distributed

        raise RuntimeError(f"raylike relies on Dask internals that distributed "
                           f"{distributed.__version__} does not have: {', '.join(gone)}. "
                           "Install a distributed version raylike supports (see setup.cfg).")


# -- client ----------------------------------------------------------------------------------
def send_to_scheduler(client: Any, message: dict[str, Any]) -> None:
    """Queue ``message`` on the client's batched stream to the scheduler (any thread)."""
    client._send_to_scheduler(message)


def future_exception(fut: Any) -> Any:
    """The exception of a failed future, read without a round trip (``Future._state``)."""
    return getattr(getattr(fut, "_state", None), "exception", None)


def future_state(client: Any, key: str) -> Any:
    """The client's shared state of ``key``'s futures (``None`` if it holds none)."""
    return client.futures.get(key)


def holds_key(client: Any, key: str) -> bool:
    """Whether the client holds a future of ``key``."""
    return key in client.futures


def finish_future(client: Any, key: str, kind: type) -> None:
    """Mark the client's futures of ``key`` finished (its data was stored without a task)."""
    state = client.futures.get(key)
    if state is not None and not state.done():
        state.finish(type=kind)


def cancel_future(client: Any, key: str) -> None:
    """Mark the client's futures of ``key`` cancelled (on its loop): the scheduler forgot the
    key when this client cancelled it, so nothing else would ever finish them."""
    state = client.futures.get(key)
    if state is not None and not state.done():
        state.cancel(reason="cancelled")


async def wait_future_state(fut: Any) -> None:
    """Wait until ``fut`` leaves ``pending``, as Dask's own done callbacks wait."""
    while fut.status == "pending" and fut._state is not None:
        await fut._state.wait()


def gather_within(client: Any, futures: list[Any], timeout: float | None) -> list[Any]:
    """``client.gather(futures)``, given up after ``timeout`` seconds (``TimeoutError``):
    a finished object lost meanwhile is made again, which ``gather`` would wait for."""
    if timeout is None:
        return list(client.gather(futures))
    from distributed import get_worker

    try:
        local_worker = get_worker()
    except ValueError:
        local_worker = None
    return list(client.sync(client._gather, futures, errors="raise", direct=None,
                            local_worker=local_worker, callback_timeout=max(timeout, 0.001)))


def set_client_interval(client: Any, seconds: float) -> None:
    """The wait between two sends of the client's stream to the scheduler."""
    client.scheduler_comm.interval = seconds


def graph_to_futures(client: Any, expr: Any, keys: list[str], **kwargs: Any) -> Any:
    """Submit a low-level graph expression; the futures of ``keys`` (``Client.submit``'s
    own path, for many tasks in one message)."""
    return client._graph_to_futures(expr, keys, **kwargs)


try:  # Dask's graph expressions (dask >= 2025.1): many tasks in one graph message
    from dask._expr import LLGExpr
    from dask._task_spec import Task, parse_input
    from distributed.spans import SpanMetadata
except ImportError:  # pragma: no cover - older Dask: each task is sent alone
    LLGExpr = Task = parse_input = SpanMetadata = None  # type: ignore[assignment,misc]


# -- worker ----------------------------------------------------------------------------------
def worker_client(worker: Any) -> Any:
    """The worker's own client (made on first use), from a thread other than its loop."""
    return worker._get_client()


def send_from_worker(worker: Any, message: dict[str, Any]) -> None:
    """Queue ``message`` on the worker's batched stream to the scheduler (on its loop: in
    order with the worker's own messages)."""
    worker.batched_stream.send(message)


def set_worker_interval(worker: Any, seconds: float) -> None:
    """The wait between two sends of the worker's stream to the scheduler."""
    worker.batched_stream.interval = seconds


def worker_data(worker: Any) -> MutableMapping[str, Any]:
    """The worker's store of objects (memory and disk); read it on the worker's loop."""
    data: MutableMapping[str, Any] = worker.data
    return data


_MISSING = object()


def memory_value(worker: Any, key: str) -> tuple[bool, Any]:
    """``(True, value)`` if ``worker`` holds ``key`` in memory (not spilled), read from any
    thread without its event loop: one atomic lookup in the dict under Dask's store (a plain
    dict, or the in-memory half of a spilling ``zict.Buffer``: its LRU's dict, read without
    touching the LRU's order). ``(False, None)`` otherwise: read it on the loop then."""
    data = worker.data
    fast = getattr(data, "fast", None)
    store = getattr(fast, "d", None) if fast is not None else data
    if not isinstance(store, dict):
        return False, None
    value = store.get(key, _MISSING)
    return (False, None) if value is _MISSING else (True, value)


def stimulate(worker: Any, event: Any) -> None:
    """Hand ``event`` to the worker's state machine now (on the worker's loop)."""
    worker.handle_stimulus(event)


def stimulate_soon(worker: Any, event: Any) -> None:
    """Hand ``event`` to the worker's state machine on its loop (from any thread)."""
    worker.loop.add_callback(worker.handle_stimulus, event)


def secede_soon(worker: Any, key: str, stimulus_id: str) -> None:
    """Let the running async task ``key`` give its thread slot back, as ``secede()`` does
    for a task in a thread (an awaiting coroutine counts as executing)."""
    stimulate_soon(worker, SecedeEvent(key=key, compute_duration=0.0, stimulus_id=stimulus_id))


def free_keys_event(keys: list[str], stimulus_id: str) -> Any:
    return FreeKeysEvent(keys=keys, stimulus_id=stimulus_id)


def on_worker_event(event_type: type, handler: Callable[[WorkerState, Any], Any]) -> None:
    """Make the worker state machine answer events of ``event_type`` with ``handler``
    (which returns recommendations and instructions, as Dask's own handlers do)."""
    WorkerState._handle_event.register(event_type)(handler)  # type: ignore[attr-defined]


def ensure_computing(state: WorkerState) -> Any:
    """Start what fits now (the state machine's recommendations and instructions)."""
    return state._ensure_computing()


# -- scheduler -------------------------------------------------------------------------------
def add_scheduler_handlers(scheduler: Any, rpc: dict[str, Callable[..., Any]],
                           stream: dict[str, Callable[..., Any]] | None = None) -> None:
    """Add RPC operations (``rpc``) and batched-stream operations (``stream``)."""
    scheduler.handlers.update(rpc)
    scheduler.stream_handlers.update(stream or {})


def set_stream_interval(scheduler: Any, peer: str, seconds: float) -> None:
    """The wait between two sends of the scheduler's stream to a worker or client."""
    comm = scheduler.stream_comms.get(peer) or scheduler.client_comms.get(peer)
    if comm is not None:
        comm.interval = seconds


def stream_peers(scheduler: Any) -> list[str]:
    """The workers the scheduler has a stream to."""
    return list(scheduler.stream_comms)


def reschedule_unrunnable(scheduler: Any, address: str, stimulus_id: str) -> None:
    """Look again at tasks waiting for resources, after worker ``address``'s changed (Dask
    does it only when a worker joins)."""
    ws = scheduler.workers.get(address)
    if ws is None:
        return
    recs = scheduler.bulk_schedule_unrunnable_after_adding_worker(ws)
    if recs:
        scheduler.transitions(recs, stimulus_id=stimulus_id)


def unpin_if_stranded(scheduler: Any, key: str, stimulus_id: str) -> None:
    """Task ``key`` waits for a worker (``no-worker``) among workers that have all left:
    drop that restriction (its resource restrictions stay) and place it again."""
    ts = scheduler.tasks.get(key)
    if ts is None or ts.state != "no-worker" or not ts.worker_restrictions:
        return
    if any(address in scheduler.workers for address in ts.worker_restrictions):
        return
    ts.worker_restrictions = set()
    ts.loose_restrictions = False
    scheduler.transitions({key: "processing"}, stimulus_id=stimulus_id)


def fail_task(scheduler: Any, key: str, error: BaseException, stimulus_id: str) -> bool:
    """Make task ``key`` fail with ``error`` (its waiters get it) if it has not run yet or
    runs; False where Dask has no path to ``erred`` from its state."""
    from distributed.protocol import pickle

    ts = scheduler.tasks.get(key)
    if ts is None or ts.state not in ("no-worker", "queued", "processing"):
        return False
    extra: dict[str, Any] = {}
    if ts.state == "processing":
        extra["worker"] = ts.processing_on.address
    recs = scheduler.transition(key, "erred", stimulus_id=stimulus_id, cause=key,
                                exception=pickle.dumps(error), exception_text=repr(error),
                                **extra)
    scheduler.transitions(recs, stimulus_id=stimulus_id)
    return True


def intercept_transition(scheduler: Any, start: str, finish: str,
                         refuse: Callable[[Any, str], BaseException | None]) -> None:
    """Ask ``refuse(key, stimulus_id)`` before each ``start`` -> ``finish`` transition of
    the scheduler's tasks: when it gives an error the task goes to ``erred`` with it instead
    (its waiters and clients are told, as for a task that failed). Dask looks its
    transitions up in a class table; this scheduler gets a copy of its own with the one
    entry wrapped (only once)."""
    from distributed.protocol import pickle

    table = dict(scheduler._TRANSITIONS_TABLE)
    original = table[(start, finish)]
    if getattr(original, "raylike_refuse", None) is not None:
        return

    def guarded(sched: Any, key: Any, stimulus_id: str, *args: Any, **kwargs: Any) -> Any:
        try:
            error = refuse(key, stimulus_id)
        except Exception:  # noqa: BLE001 - never break Dask's transitions: as if not asked
            logging.getLogger("raylike").exception("deciding whether %s may run again", key)
            error = None
        if error is None:
            return original(sched, key, stimulus_id, *args, **kwargs)
        ts = sched.tasks[key]
        ts.exception_blame = ts
        ts.exception = pickle.dumps(error)
        ts.exception_text = repr(error)
        ts.traceback = None
        return {key: "erred"}, {}, {}

    guarded.raylike_refuse = refuse  # type: ignore[attr-defined]
    table[(start, finish)] = guarded
    scheduler._TRANSITIONS_TABLE = table


def derived_task(run_spec: Any, key: str, first: Any) -> Any:
    """A Dask task ``key`` calling the function of ``run_spec`` (a ``Task``) with ``first``
    in place of its first argument and the same others (its dependencies)."""
    return Task(key, run_spec.func, first, *run_spec.args[1:])


def run_like(ts: Any, of: Any) -> None:
    """Make the scheduler's task ``ts`` depend on what ``of`` depends on, with its priority
    and restrictions (resources, workers), so that it can run where ``of`` could."""
    for dts in of.dependencies:
        ts.add_dependency(dts)
    ts.priority = of.priority
    ts.resource_restrictions = dict(of.resource_restrictions or {}) or None
    ts.worker_restrictions = set(of.worker_restrictions) if of.worker_restrictions else None
    ts.host_restrictions = set(of.host_restrictions) if of.host_restrictions else None
    ts.loose_restrictions = of.loose_restrictions


def forget_topic_events(scheduler: Any, topic: str) -> None:
    """Drop the events the scheduler keeps for ``topic`` (they were sent already)."""
    broker = getattr(scheduler, "_broker", None)
    if broker is not None:
        broker.truncate(topic)


def topic_subscribers(scheduler: Any, topic: str) -> set[str]:
    """The clients subscribed to the events of ``topic`` (``Client.subscribe_topic``)."""
    topics = getattr(getattr(scheduler, "_broker", None), "_topics", {})
    return set(topics[topic].subscribers) if topic in topics else set()


def forgive_worker_losses(scheduler: Any, key: str) -> None:
    """Reset the count of workers lost while running task ``key`` (past
    ``distributed.scheduler.allowed-failures`` Dask fails it with ``KilledWorker``): an
    actor's reservation task may outlive any number of lost nodes, as its restarts allow."""
    ts = scheduler.tasks.get(key)
    if ts is not None and hasattr(ts, "suspicious"):
        ts.suspicious = 0
