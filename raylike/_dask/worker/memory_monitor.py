"""Ray's memory monitor (out-of-memory prevention) on one node.

A daemon thread reads the node's memory every ``memory_monitor_refresh_ms`` (one read of
``/proc/meminfo`` and the cgroup's files: ``raylike._api.system_memory``). Above the
threshold (``memory_usage_threshold`` of the total, or less than ``min_memory_free_bytes``
free when that is set) it kills one task or actor process of the node, chosen by Ray's
policy (``oom_policy``), and chooses no other until that one is gone. What it killed is
recorded here: the task's attempt (``NodePlugin._run_task``) or the actor's host
(``actor_host``) takes the record and retries, restarts or fails with ``OutOfMemoryError``.

Settings are Ray's, read as Ray's processes read them, from ``RAY_<name>`` variables (an
embedded cluster's nodes get ``ray.init(_system_config=...)`` that way)."""
from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from raylike._api import error_pubsub as _error_pubsub
from raylike._api import ids as _ids
from raylike._api import system_memory as _system_memory
from raylike._dask.worker.oom_policy import Candidate, choose
from raylike.exceptions import OutOfMemoryError

logger = logging.getLogger("raylike.memory_monitor")
MAX_RETRY_DELAY = 60.0  # seconds: Ray's cap on the backoff of a task killed for memory
GONE_WAIT = 30.0  # seconds to wait for a killed process to be gone before choosing again
_GB = 1024 ** 3


def _env(name: str, default: float) -> float:
    value = os.environ.get(f"RAY_{name}")
    if value is None or not value.strip():
        return default
    try:
        return float(value)
    except ValueError:
        logger.warning("ignoring RAY_%s=%r: not a number", name, value)
        return default


@dataclass(frozen=True)
class Settings:
    """Ray's settings of the monitor (``RayConfig``), with Ray's defaults."""

    threshold: float = 0.95  # memory_usage_threshold
    refresh_ms: int = 250  # memory_monitor_refresh_ms: 0 disables the monitor
    min_free: int = -1  # min_memory_free_bytes: -1 disables it
    oom_retries: int = -1  # task_oom_retries: -1 for ever
    retry_delay_base_ms: int = 1000  # task_oom_retry_delay_base_ms

    @classmethod
    def from_env(cls) -> Settings:
        threshold = _env("memory_usage_threshold", cls.threshold)
        if not 0.0 <= threshold <= 1.0:
            logger.warning("memory_usage_threshold %s is not in [0, 1]: using %s",
                           threshold, cls.threshold)
            threshold = cls.threshold
        return cls(threshold=threshold,
                   refresh_ms=max(0, int(_env("memory_monitor_refresh_ms", cls.refresh_ms))),
                   min_free=int(_env("min_memory_free_bytes", cls.min_free)),
                   oom_retries=int(_env("task_oom_retries", cls.oom_retries)),
                   retry_delay_base_ms=max(0, int(_env("task_oom_retry_delay_base_ms",
                                                       cls.retry_delay_base_ms))))

    def threshold_bytes(self, total: int) -> int:
        """The use above which the monitor kills (Ray's ``GetMemoryThreshold``)."""
        limit = int(total * self.threshold)
        if self.min_free >= 0:
            limit = max(limit, total - self.min_free)
        return limit


@dataclass(frozen=True)
class Kill:
    """What the monitor killed: its error's message, and whether it may be retried."""

    message: str
    should_retry: bool

    def error(self) -> OutOfMemoryError:
        return OutOfMemoryError(self.message)


class MemoryMonitor:
    """The monitor of one node (``NodePlugin``)."""

    def __init__(self, node: Any, settings: Settings | None = None) -> None:
        self.node = node
        self.settings = settings or Settings.from_env()
        self._killed: dict[str, Kill] = {}  # task key or actor id -> its kill, until taken
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None
        self._victim: tuple[str, Any, float] | None = None  # key, what runs it, kill time
        self._quiet_until = 0.0  # no "nothing to kill" warning before this time

    # -- life -----------------------------------------------------------------------------
    def start(self) -> None:
        if self.settings.refresh_ms <= 0 or not sys.platform.startswith("linux"):
            return
        self._thread = threading.Thread(target=self._run, daemon=True,
                                        name="raylike-memory-monitor")
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=5)

    def _run(self) -> None:
        interval = self.settings.refresh_ms / 1000
        while not self._stopped.wait(interval):
            try:
                self.check()
            except Exception:  # never let a bad read or a race end the monitor
                logger.debug("memory monitor check failed", exc_info=True)

    # -- what the task and actor code asks ------------------------------------------------
    def take(self, key: str) -> Kill | None:
        """The kill of task ``key`` (or actor id), forgotten as it is taken."""
        with self._lock:
            return self._killed.pop(key, None)

    def killed(self, key: str) -> bool:
        with self._lock:
            return key in self._killed

    def retry_delay(self, kill: Kill, max_retries: int, oom_attempts: int,
                    attempt: int) -> float | None:
        """Seconds to wait before running again a task the monitor killed (its
        ``oom_attempts``-th such kill, its ``attempt``-th attempt), or ``None``: it fails
        (the caller's last task here, not retriable, or no ``task_oom_retries`` left)."""
        retries = self.settings.oom_retries if max_retries != 0 else 0
        if not kill.should_retry or (0 <= retries < oom_attempts):
            return None
        base = self.settings.retry_delay_base_ms / 1000
        return min(base * 2 ** min(attempt, 16), MAX_RETRY_DELAY)

    def wait(self, seconds: float, cancelled: Callable[[], bool] = lambda: False) -> bool:
        """Wait ``seconds``, or less once ``cancelled()`` says so (checked every 0.1 s);
        ``False`` if the node closed meanwhile."""
        deadline = time.monotonic() + seconds
        while not cancelled():
            left = deadline - time.monotonic()
            if left <= 0:
                break
            if self._stopped.wait(min(left, 0.1)):
                return False
        return not self._stopped.is_set()

    # -- the check ------------------------------------------------------------------------
    def check(self) -> Candidate | None:
        """One look at the node's memory; kill one process if it is above the threshold.
        Returns what it killed."""
        used, total = _system_memory.snapshot()
        if total <= 0 or used <= self.settings.threshold_bytes(total):
            return None
        if self._victim_alive():
            return None
        chosen = choose(self._candidates())
        if chosen is None:
            now = time.monotonic()
            if now >= self._quiet_until:
                self._quiet_until = now + 5
                logger.warning("Memory usage above threshold (%d of %d bytes) but no task or "
                               "actor process runs on this node to kill.", used, total)
            return None
        victim, should_retry = chosen
        self._kill(victim, should_retry, used, total)
        return victim

    def _victim_alive(self) -> bool:
        if self._victim is None:
            return False
        key, runner, since = self._victim
        if self._runner(key) is runner and time.monotonic() - since < GONE_WAIT:
            return True
        self._victim = None
        return False

    def _runner(self, key: str) -> Any:
        """What runs ``key`` now: the task's scope, the actor's process link (or None)."""
        scope = self.node.running.get(key)
        if scope is not None:
            return scope
        host = self.node.actors.get(key)
        return getattr(host, "link", None)

    def _candidates(self) -> list[Candidate]:
        found = []
        for key, scope in list(self.node.running.items()):
            call = getattr(scope, "call", None)
            if call is None:
                continue
            found.append(Candidate(key=key, pid=scope.child.pid, owner=_owner(call),
                                   retriable=call.max_retries != 0, started=scope.started,
                                   name=call.name,
                                   task_id=_ids.task_id(key, None, call.job_id)))
        for actor_id, host in list(self.node.actors.items()):
            link = host.link
            if link is None or link.closed:
                continue
            spec = host.spec
            left = spec.max_restarts < 0 or host.restarts < spec.max_restarts
            owner = spec.owner or f"driver:{spec.job_id}"
            found.append(Candidate(key=actor_id, pid=link.child.pid, owner=owner,
                                   retriable=left, started=link.started,
                                   name=host.meta.class_name, actor=True, task_id=actor_id))
        return found

    def _kill(self, victim: Candidate, should_retry: bool, used: int, total: int) -> None:
        message = self._message(victim, should_retry, used, total)
        with self._lock:
            self._killed[victim.key] = Kill(message, should_retry)
        self._victim = (victim.key, self._runner(victim.key), time.monotonic())
        logger.warning("Killing %s (pid %d) to free memory: %s", victim.name, victim.pid,
                       message)
        try:
            os.kill(victim.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        host = self.node.worker.address.split("://", 1)[-1].rpartition(":")[0]
        _error_pubsub.publish(
            self.node.worker, "worker_died",
            f"1 Workers (tasks / actors) killed due to memory pressure (OOM), 0 Workers "
            f"crashed due to other reasons at node (ID: {self.node.node_id}, IP: {host}) "
            "over the last time period. To see more information about the Workers killed on "
            f"this node, use `ray logs raylet.out -ip {host}`\n\n{_advice(victim, False)}")

    def _message(self, victim: Candidate, should_retry: bool, used: int, total: int) -> str:
        host = self.node.worker.address.split("://", 1)[-1].rpartition(":")[0]
        threshold = self.settings.threshold_bytes(total) / total
        what = "actor" if victim.actor else "task"
        return (
            "Task was killed due to the node running low on memory. Memory on the node "
            f"(IP: {host}, ID: {self.node.node_id}) where the {what} "
            f"({victim.task_id or victim.key}, "
            f"name={victim.name}, pid={victim.pid}, memory used="
            f"{_process_rss(victim.pid) / _GB:.2f}GB) was running was {used / _GB:.2f}GB / "
            f"{total / _GB:.2f}GB ({used / total:f}), which exceeds the memory usage "
            f"threshold of {threshold:f}. Ray killed this worker because it was the most "
            "recently scheduled task; to see more information about memory usage on this "
            f"node, use `ray logs raylet.out -ip {host}`. {_advice(victim, should_retry)}")


def _owner(call: Any) -> str:
    """The caller of a task: the process (task or actor call) that submitted it."""
    return getattr(call, "parent_task_id", None) or f"driver:{call.job_id}"


def _advice(victim: Candidate, should_retry: bool) -> str:
    retry = ""
    if not victim.retriable:
        what = "max_restarts and max_task_retries" if victim.actor else "max_retries"
        retry = f"Set {what} to enable retry when the task crashes due to OOM. "
    return ("Refer to the documentation on how to address the out of memory issue: "
            "https://docs.ray.io/en/latest/ray-core/scheduling/ray-oom-prevention.html. "
            "Consider provisioning more memory on this node or reducing task parallelism by "
            f"requesting more CPUs per task. {retry}To adjust the kill threshold, set the "
            "environment variable `RAY_memory_usage_threshold` when starting Ray. To disable "
            "worker killing, set the environment variable `RAY_memory_monitor_refresh_ms` to "
            "zero.")


def _process_rss(pid: int) -> int:
    """Resident memory of ``pid`` in bytes (0 if unknown): read only when killing."""
    try:
        with open(f"/proc/{pid}/status", "rb") as f:
            for line in f:
                if line.startswith(b"VmRSS:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0
