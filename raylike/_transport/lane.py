"""A fast lane for a driver's actor calls to a worker on the same host: one Unix socket.

Dask's RPC costs ≈0.3 ms each way here (its comm layer, msgpack framing, handler dispatch), two
thirds of a driver's sequential actor call. A worker that hosts actors therefore also listens on
a Unix socket in a private directory (mode 0700); a driver on the same host connects to it once,
proves it learnt the socket's token through Dask (so Dask's own security still decides who may
call), and then sends calls and reads answers with :mod:`raylike._transport.wire` (pickle, large
buffers
through shared memory). On the worker, the socket is read on the event loop itself, where the
actors' call queues live, so an answer costs no thread hand-off there.

A driver on another host cannot reach the socket and keeps using Dask's RPC (``_actor_calls``).
Either way, calls carry the caller's sequence numbers, so calls that took different paths still
run in submission order.

Objects take the lane too (``put``, and ``get`` of objects the worker holds): their large
buffers travel as shared memory, and an object that reached the worker that way (a ``put``, a
task's result) goes back as the very same memory, so ``get`` of a 100 MB array copies nothing.
Dask still owns every object (keys, lifetime, moving them between hosts); the lane only moves
bytes between processes of one host.
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import itertools
import logging
import os
import pickle
import secrets
import shutil
import socket
import struct
import tempfile
import threading
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any, Protocol

from raylike._api import config as _config
from raylike._api.actor_spec import retry_after_worker_death
from raylike._api.serialization import dumps, dumps_error, dumps_frames, loads_to_keep, payload_size
from raylike._transport import wire as _wire
from raylike.exceptions import RayActorError

logger = logging.getLogger("raylike.lane")
SEND_TIMEOUT = 30.0  # seconds the worker's loop may be blocked by a driver that stops reading
_LARGE = 1 << 20  # answers with more bytes than this are written off the event loop
Answer = tuple[str, Any]  # (status, payload), as the actor's call queue returns it
Waiting = concurrent.futures.Future[Answer]


def enabled() -> bool:
    """``RAYLIKE_LANE=0`` turns the lane off (every driver call then goes through Dask)."""
    return _config.flag("lane")


# -- the worker's end ------------------------------------------------------------------------
class LocalObjects(Protocol):
    """The objects of the worker a lane serves (``raylike._dask.client.local_objects``)."""

    def holds(self, key: str) -> bool: ...
    def value(self, key: str) -> Any: ...
    def store(self, key: str, value: Any) -> int:
        """Keep ``value`` as the worker's object ``key`` (on its event loop); its size."""


class LaneServer:
    """The Unix socket of one worker, served on its event loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop,
                 host_of: Callable[[str], Any], objects: LocalObjects, node: Any = None) -> None:
        self.loop = loop
        self.host_of = host_of  # actor id -> its ActorHost on this worker, or None
        self.objects = objects
        self.node = node  # the worker's NodePlugin: where task results can be watched
        self.token = secrets.token_hex(16)
        self.dir = tempfile.mkdtemp(prefix="raylike-lane-")  # mode 0700: this user only
        self.path = os.path.join(self.dir, "s")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(self.path)
        self.sock.listen(64)
        self.sock.setblocking(False)
        self.peers: set[_Peer] = set()
        loop.add_reader(self.sock.fileno(), self._accept)

    def info(self) -> dict[str, str]:
        return {"path": self.path, "token": self.token}

    def _accept(self) -> None:
        try:
            sock, _ = self.sock.accept()
        except OSError:
            return
        sock.setblocking(True)
        timeout = struct.pack("ll", int(SEND_TIMEOUT), 0)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, timeout)
        peer = _Peer(self, Connection(sock.detach()))
        self.peers.add(peer)
        self.loop.add_reader(peer.conn.fileno(), peer.on_readable)

    def close(self) -> None:
        """Stop listening and drop every driver (on the event loop)."""
        with contextlib.suppress(Exception):
            self.loop.remove_reader(self.sock.fileno())
        self.sock.close()
        for peer in list(self.peers):
            peer.close()
        shutil.rmtree(self.dir, ignore_errors=True)


class _Peer:
    """One driver's connection, on the worker."""

    def __init__(self, server: LaneServer, conn: Connection) -> None:
        self.server = server
        self.conn = conn
        self.lock = threading.Lock()
        self.trusted = False
        self.answers: list[tuple[int, str, Any]] = []
        self.watching: dict[str, list[tuple[int, Callable[[str, Any], None]]]] = {}

    def on_readable(self) -> None:
        try:  # a whole message: the driver writes each one at once
            message = _wire.recv(self.conn)
        except Exception as exc:  # gone, or not a message of ours: the driver falls back
            if not isinstance(exc, (EOFError, OSError)):
                logger.warning("closed a lane connection: %s", exc)
            self.close()
            return
        if not self.trusted:
            self.trusted = message == ("hello", self.server.token)
            if not self.trusted:
                logger.warning("a process without the lane's token connected; closed")
                self.close()
                return
            self._write([(-1, "hello", None)])
            return
        if message[0] == "calls":
            for rid, call in message[1]:
                self._run(rid, call)
        elif message[0] == "get":
            for rid, key in message[1]:
                self._answer(rid, *_value_of(self.server.objects, key))
        elif message[0] == "put":
            for rid, key, frames in message[1]:
                self._answer(rid, *_store(self.server.objects, key, frames))
        elif message[0] == "watch":
            for rid, key in message[1]:
                self._watch(rid, key)
        elif message[0] == "unwatch":
            for key in message[1]:
                self._unwatch(key)
        elif message[0] == "lease":  # the driver asked Dask for leases (``leases``)
            for grant, end, lease_id, shape in message[1]:
                self._leases().expect(self, grant, end, lease_id, shape)
        elif message[0] == "forget":
            self._leases().forget(self, message[1])
        elif message[0] == "tasks":
            self._leases().push(self, message[1])
        elif message[0] == "held":
            self._leases().held(message[1])
        elif message[0] == "reclaim":
            for rid, shape, count in message[1]:
                self._leases().reclaim(self, rid, shape, count)

    def _leases(self) -> Any:
        """The node's lease desk (``raylike._dask.worker.leases.LeaseDesk``)."""
        return self.server.node.leases

    def _watch(self, rid: int, key: str) -> None:
        """Answer with task ``key``'s result as soon as the node has it (it may already be
        Dask data here); a task that runs elsewhere is answered at ``unwatch``."""
        node = self.server.node
        if node is None or self.server.objects.holds(key):
            self._answer(rid, *_value_of(self.server.objects, key))
            return
        loop = self.server.loop

        def done(status: str, payload: Any) -> None:  # in the task's thread
            loop.call_soon_threadsafe(self._watched, key, rid, status, payload)

        self.watching.setdefault(key, []).append((rid, done))
        node.watch(key, done)

    def _watched(self, key: str, rid: int, status: str, payload: Any) -> None:
        entries = self.watching.get(key, [])
        if any(r == rid for r, _ in entries):
            self.watching[key] = [e for e in entries if e[0] != rid]
            if not self.watching[key]:
                del self.watching[key]
            self._answer(rid, status, payload)

    def _unwatch(self, key: str) -> None:
        for rid, done in self.watching.pop(key, []):
            if self.server.node.unwatch(key, done):  # else its answer is on its way
                self._answer(rid, "absent", None)
            else:
                self.watching.setdefault(key, []).append((rid, done))

    def _run(self, rid: int, call: Any) -> None:
        host = self.server.host_of(call.actor_id)
        if host is None:  # not (or no longer) here: the driver routes it through Dask
            self._answer(rid, "moved", None)
            return
        try:
            done = host.calls.enqueue(call)
        except Exception as exc:  # a bug: the call fails, the lane goes on
            logger.exception("actor call %s failed on the lane", call.key)
            self._answer(rid, "err", dumps_error(exc))
            return
        done.add_done_callback(lambda fut: self._answer(rid, *fut.result()))

    def answer(self, rid: int, status: str, payload: Any) -> None:
        """Queue an answer (on the event loop); those of one loop iteration go together."""
        self._answer(rid, status, payload)

    def _answer(self, rid: int, status: str, payload: Any) -> None:
        """Queue an answer; the answers of one loop iteration go in one message."""
        self.answers.append((rid, status, payload))
        if len(self.answers) == 1:
            self.server.loop.call_soon(self._flush)

    def _flush(self) -> None:
        answers, self.answers = self.answers, []
        if answers and sum(payload_size(a[2]) for a in answers) > _LARGE:
            self.server.loop.run_in_executor(None, self._write, answers)
        elif answers:
            self._write(answers)

    def _write(self, answers: list[tuple[int, str, Any]]) -> None:
        try:
            _wire.send(self.conn, self.lock, ("answers", answers), plain=True)
        except (OSError, ValueError):  # the driver is gone, or stopped reading
            self.server.loop.call_soon_threadsafe(self.close)

    def close(self) -> None:
        if self not in self.server.peers:
            return
        self.server.peers.discard(self)
        if self.server.node is not None:
            self._leases().peer_closed(self)
        for key, entries in self.watching.items():
            for _, done in entries:
                self.server.node.unwatch(key, done)
        self.watching.clear()
        with contextlib.suppress(Exception):
            self.server.loop.remove_reader(self.conn.fileno())
        self.conn.close()


def _value_of(objects: LocalObjects, key: str) -> Answer:
    """``("ok", frames)`` of an object this worker holds, else ``("absent", None)``."""
    try:
        return value_answer(objects.value(key))
    except Exception:  # not here, spilled and unreadable, ...: Dask's own path will say
        logger.debug("could not send %s on the lane", key, exc_info=True)
        return "absent", None


def value_answer(value: Any) -> Answer:
    """``("ok", frames)`` of ``value``, or ``("absent", None)`` if it cannot be sent (Dask's
    own path will then deliver it, or say why not)."""
    try:
        return "ok", dumps_frames(value)
    except Exception:
        logger.debug("could not send a value on the lane", exc_info=True)
        return "absent", None


def _store(objects: LocalObjects, key: str, frames: Any) -> Answer:
    """Keep a driver's ``put`` value as Dask data of this worker: ``("ok", its size)``."""
    try:
        return "ok", objects.store(key, loads_to_keep(frames))
    except Exception as exc:
        return "err", dumps_error(exc)



# -- the driver's end ------------------------------------------------------------------------
class Lane:
    """A driver's connection to one worker's lane; answers are read by a thread of its own."""

    def __init__(self, path: str, token: str, address: str,
                 on_moved: Callable[[Any, concurrent.futures.Future[Answer]], None]) -> None:
        self.address = address
        self.on_moved = on_moved  # routes a call the worker did not have, through Dask
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.settimeout(2.0)
            sock.connect(path)  # fails on another host: that driver keeps Dask's RPC
            sock.settimeout(None)
        except OSError:
            sock.close()
            raise
        self.conn = Connection(sock.detach())
        self.lock = threading.Lock()
        self.pending: dict[int, tuple[Any, concurrent.futures.Future[Answer]]] = {}
        self.ids = itertools.count()
        self.closed = False
        _wire.send(self.conn, self.lock, ("hello", token))
        if not self.conn.poll(5.0) or _wire.recv(self.conn) != ("answers", [(-1, "hello", None)]):
            self.conn.close()
            raise OSError(f"the lane of {address} did not accept this driver")
        threading.Thread(target=self._read, daemon=True, name="raylike-lane").start()

    def send(self, calls: list[tuple[Any, concurrent.futures.Future[Answer]]]) -> bool:
        """Send calls; ``False`` (nothing sent) once the lane is closed."""
        return self._send("calls", [((call,), future, call) for call, future in calls])

    def get(self, keys: list[str]) -> list[concurrent.futures.Future[Answer]] | None:
        """Ask for objects: each answer is ``("ok", frames)`` or ``("absent", None)``;
        ``None`` once the lane is closed."""
        futures: list[concurrent.futures.Future[Answer]] = [
            concurrent.futures.Future() for _ in keys]
        sent = self._send("get", [((key,), fut, None) for key, fut in zip(keys, futures)])
        return futures if sent else None

    def watch(self, keys: list[str]) -> list[concurrent.futures.Future[Answer]] | None:
        """Ask for the results of tasks as soon as the lane's node computes them: each answer
        is ``("ok", frames)``, or ``("absent", None)`` if the task failed there or was
        given to :meth:`unwatch`; ``None`` once the lane is closed."""
        futures: list[concurrent.futures.Future[Answer]] = [
            concurrent.futures.Future() for _ in keys]
        sent = self._send("watch", [((key,), fut, None) for key, fut in zip(keys, futures)])
        return futures if sent else None

    def unwatch(self, keys: list[str]) -> None:
        """Stop watching ``keys`` (their watches are answered ``absent``)."""
        self._notify("unwatch", keys)

    def _notify(self, kind: str, items: list[Any]) -> None:
        """A message that needs no answer."""
        with self.lock:
            if self.closed:
                return
        try:
            _wire.send(self.conn, self.lock, (kind, items), plain=True)
        except (OSError, ValueError) as exc:
            self._lost(exc)

    def lease(self, lease_id: str, shape: str) -> tuple[Waiting, Waiting] | None:
        """Tell the lane's node to expect lease ``lease_id`` (a Dask task the driver submits
        next): the first future is answered ``("ok", worker address)`` if it starts there,
        the second when it ends; both ``("absent", None)`` if :meth:`forget` drops it, or the
        lane closes. ``None`` once the lane is closed."""
        grant: Waiting = concurrent.futures.Future()
        end: Waiting = concurrent.futures.Future()
        with self.lock:
            if self.closed:
                return None
            grant_id, end_id = next(self.ids), next(self.ids)
            self.pending[grant_id] = (None, grant)
            self.pending[end_id] = (None, end)
        try:
            _wire.send(self.conn, self.lock, ("lease", [(grant_id, end_id, lease_id, shape)]),
                       plain=True)
        except (OSError, ValueError) as exc:
            self._lost(exc)
        return grant, end

    def held(self, keys: list[str]) -> None:
        """Kept task results (answered ``kept``) this driver now holds through Dask."""
        self._notify("held", keys)

    def forget(self, lease_ids: list[str]) -> None:
        """The leases started on another node: this one stops expecting them."""
        self._notify("forget", lease_ids)

    def push(self, tasks: list[tuple[str, Any, list[tuple[str, Any]]]]
             ) -> list[concurrent.futures.Future[Answer]] | None:
        """Tasks ``(shape, call, arguments)`` for the driver's leases on the lane's node: each
        answer is the task's ``(status, payload)``, ``("moved", None)`` when the node has no
        lease of that shape left, or ``("absent", None)`` if the lane closed first. ``None``
        once the lane is closed."""
        futures: list[concurrent.futures.Future[Answer]] = [
            concurrent.futures.Future() for _ in tasks]
        sent = self._send("tasks", [(task, fut, None) for task, fut in zip(tasks, futures)])
        return futures if sent else None

    def reclaim(self, shape: str, count: int) -> concurrent.futures.Future[Answer] | None:
        """Take back up to ``count`` tasks of ``shape`` queued on the lane's node and not
        started (the last pushed first): each is answered ``("back", None)``; the future is
        answered ``("ok", how many)``. ``None`` once the lane is closed."""
        future: concurrent.futures.Future[Answer] = concurrent.futures.Future()
        return future if self._send("reclaim", [((shape, count), future, None)]) else None

    def put(self, key: str, frames: Any) -> concurrent.futures.Future[Answer] | None:
        """Store an object on the lane's worker under ``key``: ``("ok", nbytes)``."""
        future: concurrent.futures.Future[Answer] = concurrent.futures.Future()
        return future if self._send("put", [((key, frames), future, None)]) else None

    def _send(self, kind: str, items: list[tuple[tuple[Any, ...], Any, Any]]) -> bool:
        batch = []
        with self.lock:
            if self.closed:
                return False
            for fields, future, call in items:
                rid = next(self.ids)
                self.pending[rid] = (call, future)
                batch.append((rid, *fields))
        try:
            try:
                _wire.send(self.conn, self.lock, (kind, batch), plain=True)
            except (pickle.PicklingError, AttributeError, TypeError):
                # user code travels (a task's runtime_env hook, say): cloudpickle it
                _wire.send(self.conn, self.lock, (kind, batch), plain=False)
        except (OSError, ValueError) as exc:
            self._lost(exc)
        except BaseException:  # cannot be sent at all: the caller hears why
            with self.lock:
                for rid, *_ in batch:
                    self.pending.pop(rid, None)
            raise
        return True

    def _read(self) -> None:
        try:
            while True:
                self._deliver(_wire.recv(self.conn)[1])
        except Exception as exc:  # EOF, a broken socket, or a bug: nothing may wait for ever
            # (a lane closed here, at shutdown, fails its read with whatever its closed
            # connection raises: that is no failure to report)
            if not isinstance(exc, (EOFError, OSError)) and not self.closed:
                logger.exception("the lane to %s failed", self.address)
            self._lost(exc)

    def _deliver(self, answers: list[tuple[int, str, Any]]) -> None:
        # a frame of its own: the loop above must not hold the last call, its answer and its
        # future while it waits for the next message (they keep the call's arguments, and
        # the actor, alive: the future's callbacks hold them)
        for rid, status, payload in answers:
            call, future = self.pending.pop(rid)
            if status == "moved" and call is not None:  # an actor call (a task is placed
                # again by its owner, ``raylike._dask.client.leases``)
                self.on_moved(call, future)
            else:
                future.set_result((status, payload))

    def _lost(self, exc: BaseException) -> None:
        """The worker went away: calls in flight fail as Ray's do when an actor's node dies,
        unless they have retries left (then they go again, where the actor restarts)."""
        with self.lock:
            self.closed = True
            pending, self.pending = self.pending, {}
        for call, future in pending.values():
            if future.done():
                continue
            if call is None:  # an object: the caller goes through Dask instead
                future.set_result(("absent", None))
            elif (again := retry_after_worker_death(call)) is not None:
                self.on_moved(again, future)  # sent again where the actor restarts
            else:
                future.set_result(("err", dumps(RayActorError(
                    f"The worker hosting the actor died during the call: {exc}",
                    actor_id=call.actor_id))))
        with contextlib.suppress(Exception):
            self.conn.close()

    def close(self) -> None:
        with self.lock:
            self.closed = True
        with contextlib.suppress(Exception):
            self.conn.close()
