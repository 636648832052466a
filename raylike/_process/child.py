"""A node's child process: runs user code, and forwards the Ray API calls that code makes to its
worker over the pipe (``ChildBackend``). Imported by a node's zygote before it forks task processes
(``raylike._process.zygote``; keep it light)."""
from __future__ import annotations

import concurrent.futures
import inspect
import itertools
import os
import queue
import signal
import sys
import threading
import traceback
from multiprocessing.connection import Connection
from typing import Any, NoReturn

from raylike._api import context as _context
from raylike._api import logs as _logs
from raylike._api import memory as _memory
from raylike._api import metrics as _metrics
from raylike._api import runtime as _runtime
from raylike._api.objects import ObjectRef, _Borrowed
from raylike._api.ref_counts import child_refs
from raylike._api.serialization import FunctionCache, dumps, dumps_frames, loads
from raylike._process import env_setup as _env_setup
from raylike._process import own_group as _own_group
from raylike._process import proctitle as _proctitle
from raylike._transport import wire as _wire
from raylike.exceptions import (
    SHOWN_MODULE,
    RaySystemError,
    RayTaskError,
    TaskCancelledError,
    UnserializableException,
)

_functions = FunctionCache()
BATCH_MAX = 64  # submissions held back at most (``Channel.submit_soon``)
_channel: Channel | None = None  # this process's pipe to its worker (``main``)


class Channel:
    """The child's end of the pipe: replies are routed to the threads that asked."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.inbox: queue.Queue[tuple[Any, ...] | None] = queue.Queue()
        self._pending: dict[int, concurrent.futures.Future[tuple[bool, Any]]] = {}
        self._ids = itertools.count()
        self._lock = threading.Lock()
        # submissions not sent yet (``submit_soon``): a burst of calls travels as one message
        self._batch: list[tuple[Any, ...]] = []
        self._batch_lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._flushing = False
        self._wake = threading.Event()
        self._flusher_pid = 0
        self.start()

    def start(self) -> None:
        """Start reading the pipe (a thread routes each message; see ``fork_support``)."""
        threading.Thread(target=self._read, daemon=True, name="raylike-reader").start()

    def next(self) -> tuple[Any, ...] | None:
        """The next message for the process's loop (a task, an actor message)."""
        return self.inbox.get()

    def send(self, message: tuple[Any, ...], plain: bool = False) -> None:
        if self._batch or self._flushing:  # the submissions made before it go first
            self.flush()
        _wire.send(self.conn, self._lock, message, plain)

    batches = True  # whether ``submit_soon`` may hold a submission back (a flusher thread)

    def submit_soon(self, args: tuple[Any, ...]) -> None:
        """Send a ``submit`` request soon: before any other message of this process, with
        the submissions made meanwhile (one message for a burst of calls: one read, one
        unpickling, one wake-up of the worker's thread), by this thread once ``BATCH_MAX``
        wait, else by the flusher thread as soon as it runs (when this thread blocks, or
        within the interpreter's switch interval)."""
        self.release_dropped()
        if not self.batches:
            self.send(("req", None, "submit", args))
            return
        with self._batch_lock:
            self._batch.append(args)
            count = len(self._batch)
        if count >= BATCH_MAX:
            self.flush()
        elif count == 1:
            if self._flusher_pid != os.getpid():  # first use (or a fork's child)
                self._flusher_pid = os.getpid()
                threading.Thread(target=self._flusher, daemon=True,
                                 name="raylike-submit").start()
            self._wake.set()

    def flush(self) -> None:
        """Send the submissions held back, in the order they were made."""
        with self._flush_lock:  # taken and written as one: nothing overtakes them
            self._flushing = True
            try:
                with self._batch_lock:
                    batch, self._batch = self._batch, []
                if len(batch) == 1:
                    _wire.send(self.conn, self._lock, ("req", None, "submit", batch[0]))
                elif batch:
                    _wire.send(self.conn, self._lock, ("req", None, "submits", (batch,)))
            finally:
                self._flushing = False

    def _flusher(self) -> None:
        while True:
            self._wake.wait()
            self._wake.clear()
            try:
                self.flush()
            except (OSError, ValueError):
                return  # the worker is gone: the reader ends the process

    def release_dropped(self) -> None:
        """Tell the worker which objects this process no longer refers to (see
        ``_ref_counts.ChildRefs``), ahead of the next message."""
        keys = child_refs.take()
        if keys:
            self.send(("req", None, "release", (keys,)))

    def request(self, op: str, *args: Any) -> Any:
        """Ask the worker to do ``op`` and wait for the answer (raising its error)."""
        self.release_dropped()
        rid = next(self._ids)
        fut: concurrent.futures.Future[tuple[bool, Any]] = concurrent.futures.Future()
        self._pending[rid] = fut
        self.send(("req", rid, op, args))
        try:
            ok, payload = fut.result()
        finally:
            self._pending.pop(rid, None)
        if not ok:
            raise loads(payload)
        return payload

    def notify(self, op: str, *args: Any) -> None:
        """Tell the worker to do ``op``; no answer."""
        self.release_dropped()
        self.send(("req", None, op, args))

    def _read(self) -> None:
        try:
            while True:
                self.route(_wire.recv(self.conn))
        except (EOFError, OSError):
            _own_group.exit_with_group(0)  # the worker is gone

    def route(self, message: tuple[Any, ...]) -> None:
        """Deliver one message from the worker: an answer to the thread that asked, the rest
        to the process's loop (``inbox``), but for what is answered at once."""
        if message[0] == "resp":
            fut = self._pending.get(message[1])
            if fut is not None and not fut.done():
                fut.set_result((message[2], message[3]))
        elif message[0] == "refs?":  # the memory report: answered now, even mid-task
            self.send(("refs", message[1], _memory.table()), plain=True)
        elif message[0] == "actor-cancel":  # now: the call may be queued behind others
            from raylike._process import actor as _actor_proc

            _actor_proc.cancel(*message[1:])
        else:
            self.inbox.put(message)


class ChildBackend:
    """The Ray API inside a child: every call goes to the worker that owns this child
    (``raylike._dask.worker.scope.TaskScope`` serves it). Implements ``_runtime.Backend``."""

    client = None  # no Dask client here: the worker has it

    def __init__(self, channel: Channel) -> None:
        self.channel = channel

    def ref(self, key: str) -> ObjectRef[Any]:
        return ObjectRef(key)

    def argument_ref(self, value: Any) -> None:
        return None  # no Dask client here to adopt a Dask future

    def put(self, value: Any) -> ObjectRef[Any]:
        from raylike._api.tasks import new_key

        with _Borrowed() as borrowed:
            data = dumps_frames(value, "put value")
        if borrowed.refs:  # Dask's scatter keeps them alive with the value: wait for it
            return ObjectRef(self.channel.request("put", data, True))
        # one way: the worker stores it before it reads anything this process sends later
        key = new_key(type(value).__name__)
        self.channel.notify("put", data, False, key)
        return ObjectRef(key)

    def get(self, refs: list[ObjectRef[Any]], timeout: float | None) -> list[Any]:
        values: list[Any] = loads(self.channel.request("get", [r._key for r in refs], timeout))
        return values

    def wait(self, refs: list[ObjectRef[Any]], num_returns: int,
             timeout: float | None) -> list[ObjectRef[Any]]:
        ready = set(self.channel.request("wait", [r._key for r in refs], num_returns, timeout))
        return [r for r in refs if r._key in ready]

    def cancel(self, ref: ObjectRef[Any], force: bool, recursive: bool) -> None:
        self.channel.request("cancel", ref._key, force, recursive)

    def submit(self, call: Any, deps: list[ObjectRef[Any]],
               nested: list[ObjectRef[Any]]) -> list[ObjectRef[Any]]:
        if call.num_returns == 1:  # maybe a direct call, or a task its worker leased: the
            child_refs.mark_direct(call.key)  # answer stays there until the ref leaves
        self.channel.submit_soon((call, [d._key for d in deps], [n._key for n in nested]))
        _context.note_submitted(call.key)
        return [ObjectRef(k) for k in call.return_keys]

    # -- actors: the worker creates, finds and kills them ----------------------------------
    def create_actor(self, spec: Any, nested: list[ObjectRef[Any]], get_if_exists: bool) -> Any:
        with _Borrowed():
            blob = dumps((spec, nested, get_if_exists), "actor creation")
        return loads(self.channel.request("actor", "create", blob))

    def lookup_actor(self, name: str, namespace: str | None) -> bytes | None:
        data: bytes | None = self.channel.request("actor", "get_actor", name, namespace)
        return data

    def kill_actor(self, actor_id: str, no_restart: bool) -> None:
        self.channel.request("actor", "kill", actor_id, no_restart)

    def list_named_actors(self, namespace: str | None, all_namespaces: bool) -> list[Any]:
        return list(self.channel.request("actor", "list_named", namespace, all_namespaces))

    # -- placement groups ------------------------------------------------------------------
    def placement_group_request(self, op: str, *args: Any) -> Any:
        return self.channel.request("pg", op, *args)

    def placement_group_ready(self, group: Any) -> ObjectRef[Any]:
        return ObjectRef(self.channel.request("pg", "ready", group))

    # -- generators: the worker reads the scheduler's record and keeps the items -----------
    def stream_next(self, gen_ref: ObjectRef[Any], index: int,
                    timeout: float | None) -> tuple[str, Any]:
        answer: tuple[str, Any] = self.channel.request("stream_next", gen_ref._key, index,
                                                       timeout)
        return answer

    def stream_take(self, key: str, index: int, item: str | bytes) -> ObjectRef[Any]:
        return ObjectRef(self.channel.request("stream_take", key, index, item))

    def stream_drop(self, key: str) -> None:
        self.channel.notify("stream_drop", key)

    def error_object(self, payload: bytes) -> ObjectRef[Any]:
        return ObjectRef(self.channel.request("error_object", payload))

    # -- cluster state and metrics ---------------------------------------------------------
    def state_request(self, op: str, *args: Any) -> Any:
        return self.channel.request("state", op, *args)

    def send_metrics(self, batch: Any) -> None:
        self.channel.notify("state", "metrics", batch)  # the worker sends it on

    def request(self, op: str, *args: Any) -> Any:
        """A request of this process's own to its worker (the actor process's lifecycle)."""
        return self.channel.request(op, *args)


def error_payload(exc: BaseException, name: str, actor: Any = None) -> bytes:
    """A pickled ``RayTaskError`` for ``exc`` (raised by user code called ``name``). A
    ``KeyboardInterrupt`` is Ray's ``TaskCancelledError``: the task was interrupted."""
    tb = traceback.format_exc()
    info = _context.current()
    if isinstance(exc, KeyboardInterrupt):
        exc = TaskCancelledError(_context.task_id_hex(info) if info is not None else None)
        tb = tb.rstrip().rsplit("\n", 1)[0] + f"\n{SHOWN_MODULE}.TaskCancelledError: {exc}\n"
    actor_id = info.actor_id if actor is not None and info is not None else None
    err = RayTaskError(name, tb, exc, actor_repr=actor,
                       actor_id=actor_id).as_instanceof_cause(warn=False)  # the caller warns
    try:
        payload = dumps(err)
    except TypeError:  # the user's exception does not pickle: keep its text
        return dumps(RayTaskError(name, f"{tb}\n(original {type(exc).__name__} could not be "
                                  "pickled)", None))
    try:  # what cannot be rebuilt here cannot be rebuilt by the caller either
        loads(payload)
    except Exception:  # noqa: BLE001 - any failure to rebuild is Ray's UnserializableException
        return dumps(UnserializableException(f"{SHOWN_MODULE}.RayTaskError: {err}"))
    return payload


def run_task(call: Any, deps: bytes, info: _context.TaskInfo) -> tuple[str, Any]:
    """Run one task; ``("ok", pickled result)``, ``("err", pickled error)`` or
    ``("cancelled", None)``."""
    from raylike._api.tasks import unpack_arguments

    token = _context.enter(info)
    _logs.set_source(call.name, info.job_id)
    _proctitle.set_title(f"ray::{call.name}")
    try:
        _env_setup.check()  # the process's runtime environment could not be entered
        fn = _functions.load(call.fn)
        values = loads(deps)
        label = f"(deserialize task arg) {call.function_name}"
        with _memory.args_in_use(getattr(call, "dep_keys", []), values, label):
            with _memory.annotate(label, frames=False):
                args, kwargs = unpack_arguments(call.args, values)
            result = fn(*args, **kwargs)
        if call.num_returns < 0:  # a generator task (``raylike._dask.worker.streams``)
            result = _generator_result(call, result)
        elif call.num_returns > 1:
            result = _check_returns(result, call.num_returns, call.name)
        elif call.num_returns == 1:
            result = _one_return(result, call.name)
        with _Borrowed():
            return "ok", dumps_frames(result, "return value")
    except SystemExit as exc:  # Ray: the worker process exits (the task is retried, then
        exit_process(exc.code)  # fails with WorkerCrashedError)
    except BaseException as exc:  # noqa: B036 - every error goes back to the caller; the
        return "err", error_payload(exc, call.name)  # node makes a cancel's error its own
    finally:
        _context.leave(token)
        try:
            _proctitle.set_title("ray::IDLE")
            _logs.end_of_call()
            _metrics.end_of_call()
        except KeyboardInterrupt:  # a late cancel must not lose the task's answer
            pass


def _generator_result(call: Any, values: Any) -> Any:
    """Run a generator task's generator: each value streamed (the task's result is ``None``),
    or, for ``num_returns="dynamic"``, put and returned as a ``DynamicObjectRefGenerator``."""
    from raylike._api.options import DYNAMIC
    from raylike._process import generators as _streams

    if call.num_returns == DYNAMIC:  # an error to retry is the task's, to run it again
        def retry(exc: BaseException) -> bool:
            return call.max_retries != 0 and _retryable(exc, call.retry_exceptions)

        return _streams.collect(values, call.name, retry)
    _streams.stream(call.key, values, call.backpressure)
    return None


def _retryable(error: BaseException, retry_exceptions: Any) -> bool:
    """Whether ``retry_exceptions`` retries a task that raised ``error``."""
    if retry_exceptions is True:
        return True
    if not retry_exceptions:
        return False
    cause = error.cause if isinstance(error, RayTaskError) else error
    return isinstance(cause, tuple(retry_exceptions))


def exit_process(code: Any = 0) -> NoReturn:
    """End this process as ``sys.exit(code)`` would, once what it printed is sent (no
    clean-up: the worker sees it end)."""
    if code is not None and not isinstance(code, int):
        print(code, file=sys.stderr)
        code = 1
    try:
        _logs.end_of_call()
        if _channel is not None:
            _channel.flush()  # the calls and tasks it submitted last
    except BaseException:  # noqa: B036 - exiting regardless
        pass
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass
    os._exit(code or 0)


class ReturnError:
    """A missing value of a ``num_returns=n`` generator that raised after fewer than ``n``
    yields: the ``pick`` of that return raises the pickled error (Ray stores the error in every
    return the generator did not reach; the earlier ones keep their values)."""

    def __init__(self, payload: bytes) -> None:
        self.payload = payload

    def error(self) -> BaseException:
        err: BaseException = loads(self.payload)
        return err


def _check_returns(result: Any, num_returns: int, name: str = "") -> tuple[Any, ...]:
    if inspect.isgenerator(result):
        return _generator_returns(result, num_returns, name)
    try:
        values = tuple(result)
    except TypeError:
        raise ValueError(f"Task returned {type(result).__name__}, but num_returns="
                         f"{num_returns} needs a sequence of {num_returns} values.") from None
    if len(values) != num_returns:
        raise ValueError(f"Task returned {len(values)} objects, but num_returns={num_returns}.")
    return values


_NONE = object()


def _one_return(result: Any, name: str) -> Any:
    """The value of a ``num_returns=1`` call: a generator function's one yielded value (an
    error before it is the task's error), anything else as it is."""
    if not inspect.isgenerator(result):
        return result
    value = next(result, _NONE)
    if value is _NONE:
        raise ValueError("Task returned 0 objects, but num_returns=1.")
    return _generator_returns(_chain(value, result), 1, name)[0]  # the rest only logged


def _chain(first: Any, gen: Any) -> Any:
    yield first
    yield from gen


def _generator_returns(gen: Any, num_returns: int, name: str) -> tuple[Any, ...]:
    """A generator's values for ``num_returns`` static returns, one at a time. What it does
    after the last one (yield more, raise) is only logged, as Ray does."""
    values: list[Any] = []
    try:
        for value in gen:
            if len(values) == num_returns:
                print(f"{name} yielded more than num_returns={num_returns} values; the "
                      "extra ones are dropped.", file=sys.stderr)
                gen.close()
                break
            values.append(value)
    except Exception as exc:
        if len(values) == num_returns:
            print(f"{name} raised after its {num_returns} return values were made: "
                  f"{type(exc).__name__}: {exc}", file=sys.stderr)
        else:
            missing = ReturnError(error_payload(exc, name))
            return (*values, *[missing] * (num_returns - len(values)))
    if len(values) < num_returns:
        raise ValueError(f"Task returned {len(values)} objects, but num_returns={num_returns}.")
    return tuple(values)


def _on_cancel(signum: int, frame: Any) -> None:
    """SIGINT is how the worker cancels the running task: remember it (``is_canceled()``)
    and interrupt the task, as Python's own handler does."""
    _context.mark_canceled()
    raise KeyboardInterrupt


def main(conn: Connection, worker_pid: int) -> None:
    """The child's loop: run what the worker sends until the pipe closes."""
    from raylike._process import fork_support as _fork_support

    forkable = _fork_support.enabled()  # Ray's support_fork: no thread of ours
    global _channel
    channel = _channel = _fork_support.InlineChannel(conn) if forkable else Channel(conn)
    _runtime.set_process_backend(ChildBackend(channel))
    child_refs.active = True
    _memory.record_sites()  # Ray's RAY_record_ref_creation_sites, as the cluster was given it
    child_refs.on_leave = lambda key: channel.send(("req", None, "promote", ([key],)),
                                                  plain=True)
    _logs.capture(channel.send, threaded=not forkable)
    signal.signal(signal.SIGINT, _on_cancel)
    _fork_support.exit_with_worker(conn, None if forkable else worker_pid)
    while True:
        try:
            message = channel.next()
            if message is None:
                return
            handle(channel, message)
        except KeyboardInterrupt:  # a cancel that arrived after its task ended
            continue


def handle(channel: Channel, message: tuple[Any, ...]) -> None:
    """Handle one message from the worker."""
    kind = message[0]
    if kind == "task":
        _, call, deps, info = message
        status, payload = run_task(call, deps, info)
        channel.send(("done", status, payload))
    elif kind in ("actor-init", "actor-call", "actor-calls", "actor-exit"):
        from raylike._process import actor as _actor_proc

        _actor_proc.handle(channel, message)
    elif kind == "env":  # sent once, first: the runtime environment this process serves
        _env_setup.apply(message[1])
    else:
        channel.send(("done", "err", dumps(RaySystemError(f"unknown message {kind!r}"))))
