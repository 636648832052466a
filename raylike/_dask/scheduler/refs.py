"""The scheduler side of raylike's objects (a Dask scheduler plugin, part of the Dask
boundary with ``_backend``): wishes for keys not seen yet, lost ``put`` keys, tasks run to their
end with no ref left, re-placing tasks when a worker's resources change, and log lines that
must not pile up on the scheduler."""
from __future__ import annotations

from collections import OrderedDict, defaultdict
from typing import Any

from distributed.diagnostics.plugin import SchedulerPlugin

from raylike._api import config as _config
from raylike._api.error_pubsub import TOPIC as ERRORS_TOPIC
from raylike._api.logs import TOPIC_PREFIX as LOGS_TOPIC_PREFIX
from raylike._dask import internals

REFS_PLUGIN = "raylike-refs"


def batch_interval() -> float:
    """Seconds between two sends of a Dask batched stream for raylike's traffic.

    Dask's client waits 10 ms between two messages to the scheduler (the scheduler 2 ms to a
    client, 5 ms to a worker), which puts a 10 ms floor under every sequential round trip.
    raylike uses 2 ms (``RAYLIKE_BATCH_INTERVAL_MS``; 0 keeps Dask's own intervals): it halved
    the round trip (12 -> 7.5 ms) at equal throughput; 1 ms cost a quarter of the tasks/s.
    """
    return _config.batch_interval()


class RefsPlugin(SchedulerPlugin):
    """Lets a client say it wants a key the scheduler has not seen yet.

    A ref can reach a process before the task that makes it is known to the scheduler (a task
    submitted from inside a task travels on the worker client's stream, its parent's result on
    the worker's). Dask ignores a wish for an unknown key; this plugin keeps it until the key
    arrives, so a ``get`` on such a ref cannot hang. It also remembers the scattered (``put``)
    keys lost with their worker, and answers a wish for one of those at once, as a loss.
    """

    name = REFS_PLUGIN
    LOST_KEPT = 100_000  # lost keys remembered (the oldest are forgotten first)

    def __init__(self) -> None:
        self._pending: dict[str, set[str]] = defaultdict(set)
        self._lost: OrderedDict[str, None] = OrderedDict()

    async def start(self, scheduler: Any) -> None:
        self._scheduler = scheduler
        self._interval = batch_interval()
        internals.add_scheduler_handlers(
            scheduler, {"raylike_resources_changed": self._resources_changed,
                        "raylike_tune": self._tune, "raylike_update_data": self._update_data},
            {"raylike-desire": self._desire, "raylike-fire-and-forget": self._fire_and_forget,
             "raylike-update-data": self._update_data})
        for worker in internals.stream_peers(scheduler):
            self.add_worker(scheduler, worker)

    def _tune(self, client: str, interval: float, **_: Any) -> None:
        if interval > 0:
            internals.set_stream_interval(self._scheduler, client, interval)

    def add_worker(self, scheduler: Any, worker: str) -> None:
        if self._interval > 0:
            internals.set_stream_interval(scheduler, worker, self._interval)

    def _resources_changed(self, worker: str, **_: Any) -> None:
        """A worker declared resources after it joined (the node plugin adds ``CPU``/``GPU``):
        Dask re-examines waiting tasks only when a worker joins, so do it here."""
        internals.reschedule_unrunnable(self._scheduler, worker, f"raylike-resources-{worker}")

    def log_event(self, topic: str, msg: Any) -> None:
        """Two kinds of events matter here: log lines (forgotten once sent, see
        :meth:`_forget_log_line`) and a worker's removal (the scattered keys it lost)."""
        if topic.startswith(LOGS_TOPIC_PREFIX) or topic == ERRORS_TOPIC:
            self._forget_log_line(topic)
            return
        if topic != "all" or not isinstance(msg, dict) or msg.get("action") != "remove-worker":
            return
        for key in msg.get("lost-scattered-tasks", ()):
            self._lost[key] = None
        while len(self._lost) > self.LOST_KEPT:
            self._lost.popitem(last=False)

    def _desire(self, keys: list[str], client: str, **_: Any) -> None:
        known = [k for k in keys if k in self._scheduler.tasks]
        if known:
            self._scheduler.client_desires_keys(keys=known, client=client)
        lost = [k for k in keys if k not in self._scheduler.tasks and k in self._lost]
        if lost:  # the reason Dask gives for such a key: ``_errors`` makes it ObjectLostError
            self._scheduler.report({"op": "cancelled-keys", "keys": lost,
                                    "reason": "already forgotten"}, client=client)
        for key in keys:
            if key not in self._scheduler.tasks and key not in self._lost:
                self._pending[key].add(client)

    def _fire_and_forget(self, keys: list[str], **_: Any) -> None:
        """Dask's ``fire_and_forget`` without its race: its wish travels in a later batch than
        the task, and one that arrives after the task ended is never released, so the result
        stays in memory for ever. The task is known by now (same stream, after its graph):
        wish for it only while it has not ended."""
        for key in keys:
            ts = self._scheduler.tasks.get(key)
            if ts is not None and ts.state not in ("memory", "erred", "forgotten"):
                self._scheduler.client_desires_keys(keys=[key], client="fire-and-forget")

    def update_graph(self, scheduler: Any, *, keys: Any, tasks: Any = (), **_: Any) -> None:
        self._arrived(list(tasks) + list(keys))

    def _update_data(self, who_has: dict[str, list[str]], nbytes: dict[str, int],
                     client: str | None = None, **_: Any) -> None:
        """Dask's ``update_data`` (a worker holds these keys, stored without a task: an actor
        call's answer kept where it arrived, a ``put`` stored through a lane or by a task's
        worker), then the wishes waiting for them: a process that unpickled such a key
        (returned inside a value, passed to an actor over a lane) before it was announced.
        Sent one way on the client's stream (``raylike-update-data``), so it reaches the
        scheduler before anything that client sends later about the key (a task using it,
        its release); the RPC of the same name is kept for clients of an older raylike."""
        self._scheduler.update_data(who_has=who_has, nbytes=nbytes, client=client)
        self._arrived(list(who_has))

    def _arrived(self, keys: list[Any]) -> None:
        """``keys`` are known to the scheduler now: the clients that wished for them get them."""
        if not self._pending:
            return
        for key in keys:
            for client in self._pending.pop(key, ()):
                if key in self._scheduler.tasks:
                    self._scheduler.client_desires_keys(keys=[key], client=client)

    def _forget_log_line(self, topic: str) -> None:
        """Forget a log line once it went to the subscribers (Dask calls ``log_event`` after
        sending it): the scheduler would keep the last 1,000 events of every job's topic for
        the cluster's life, and no one reads them later (a driver sees only what comes after
        it subscribed, as in Ray)."""
        internals.forget_topic_events(self._scheduler, topic)

    def remove_client(self, scheduler: Any, client: str) -> None:
        for key in [k for k, who in self._pending.items() if client in who]:
            self._pending[key].discard(client)
            if not self._pending[key]:
                del self._pending[key]
