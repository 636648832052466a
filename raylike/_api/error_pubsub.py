"""Errors and warnings pushed to drivers: Ray's error pubsub.

Ray's raylets, GCS and workers publish an error message (a type from
``ray._private.ray_constants``, a text, the job it concerns) when they notice something a
driver should hear of although no ``get`` raises it: a worker process that died, too many
worker processes started on a node, an actor with thousands of calls queued, a detached actor
in an anonymous namespace, a very large function definition. Each driver prints those of its
job (and those of no job) as a line of its raylet, ``(raylet) ...`` (deduplicated, as Ray's
log lines); Ray's test utilities read them through a subscriber
(``ray._private.test_utils.init_error_pubsub``).

Here a message is a Dask event on one topic, :data:`TOPIC`, published by whichever process
noticed it (:func:`publish`: a Dask worker, the scheduler, a driver's client); the scheduler
sends it to the subscribed clients and keeps none (``_refs_plugin.RefsPlugin``). Each driver
subscribes once at ``init`` (:class:`Listener`), prints, and hands every message to the
:class:`Subscriber` objects open in that process.

No Dask import here: the publishers pass their own Dask object.
"""
from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

__all__ = ["TOPIC", "Listener", "Subscriber", "message", "publish", "worker_died"]

TOPIC = "raylike-errors"
logger = logging.getLogger("raylike")


def message(error_type: str, text: str, job_id: str = "") -> dict[str, Any]:
    """One error message as Ray's subscribers read it (``job_id`` ``""``: no job, every driver
    prints it)."""
    return {"type": error_type, "error_message": text, "timestamp": time.time(),
            "job_id": job_id}


def publish(sender: Any, error_type: str, text: str, job_id: str = "") -> None:
    """Publish a message from ``sender`` (a Dask worker, scheduler or client: anything with
    Dask's ``log_event``); never raises, a warning must not break what noticed it."""
    try:
        sender.log_event(TOPIC, message(error_type, text, job_id))
    except Exception:
        logger.debug("could not publish %s: %s", error_type, text, exc_info=True)


def worker_died(sender: Any, job_id: str, what: str, node_id: str, pid: int,
                detail: str) -> None:
    """Publish Ray's ``worker_died`` error: the process running ``what`` (a task's or actor's
    id, named) ended by no one's intent (a crash, a signal, ``os._exit``, ``exit()``)."""
    host = str(getattr(sender, "address", "")).split("://", 1)[-1].rpartition(":")[0]
    publish(sender, "worker_died",
            "A worker died or was killed while executing a task by an unexpected system "
            f"error. To troubleshoot the problem, check the logs for the dead worker. {what} "
            f"Node ID: {node_id} Worker IP address: {host} Worker PID: {pid} Worker exit "
            f"type: SYSTEM_ERROR Worker exit detail: {detail}", job_id)


class Subscriber:
    """Ray's ``GcsErrorSubscriber`` as its test utilities use it: ``poll`` gives
    ``(None, message)`` for each message published after :meth:`subscribe`, ``(None, None)``
    once ``timeout`` passes with none. With ``keyed=False``, Ray's log subscriber: the
    message alone, ``None`` (``listener``: anything with ``add``/``remove``, e.g. the driver's
    ``_logs.Forwarder``)."""

    def __init__(self, listener: Any, keyed: bool = True) -> None:
        self._listener = listener
        self._keyed = keyed
        self._queue: queue.SimpleQueue[dict[str, Any]] = queue.SimpleQueue()

    def subscribe(self) -> None:
        self._listener.add(self)

    def put(self, msg: dict[str, Any]) -> None:
        self._queue.put(msg)

    def poll(self, timeout: float | None = None) -> Any:
        try:
            msg: dict[str, Any] | None = self._queue.get(
                timeout=None if timeout is None else max(timeout, 0))
        except queue.Empty:
            msg = None
        return (None, msg) if self._keyed else msg

    def close(self) -> None:
        self._listener.remove(self)


class Listener:
    """A driver's subscription: prints the messages of its job (and of none), and hands every
    message to this process's open subscribers."""

    def __init__(self, backend: Any, job_id: str,
                 show: Callable[[str], None] | None = None) -> None:
        self._backend = backend
        self._job_id = job_id
        # Ray prints them as the raylet's log lines, ``(raylet) ...``, deduplicated
        # (``logs.Forwarder.system_line``); with no log forwarding, as warnings
        self._show = show
        self._lock = threading.Lock()
        self._subscribers: list[Subscriber] = []
        backend.subscribe(TOPIC, self.on_event)

    def add(self, subscriber: Subscriber) -> None:
        with self._lock:
            self._subscribers.append(subscriber)

    def remove(self, subscriber: Subscriber) -> None:
        with self._lock:
            if subscriber in self._subscribers:
                self._subscribers.remove(subscriber)

    def on_event(self, event: tuple[float, Any]) -> None:
        """Runs on the client's event loop."""
        msg = event[1]
        if not isinstance(msg, dict):
            return
        with self._lock:
            subscribers = list(self._subscribers)
        for subscriber in subscribers:
            subscriber.put(msg)
        if msg.get("job_id") in ("", self._job_id) and msg.get("type") != "task":
            if self._show is not None:
                self._show(str(msg.get("error_message", "")))
            else:
                logger.warning("%s", msg.get("error_message", ""))

    def close(self) -> None:
        try:
            self._backend.unsubscribe(TOPIC)
        except Exception:
            pass

