"""Ray's test helpers that need no Ray internals (``ray._common.test_utils``): the coordination
actors ``SignalActor`` and ``Semaphore``, ``wait_for_condition`` and running a script as a
separate driver. Ray's Prometheus helpers read its metrics agents, which raylike has not
(``ray.util.metrics`` are exported on the Dask scheduler's ``/metrics``): those helpers raise."""
from __future__ import annotations

import asyncio
import inspect
import logging
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from raylike._api.remote import remote

__all__ = ["DEFAULT_DRIVER_TIMEOUT_SECONDS", "KILLED_DRIVER_DRAIN_TIMEOUT_SECONDS",
           "MetricSamplePattern", "PrometheusTimeseries", "Semaphore", "SignalActor",
           "async_wait_for_condition", "fetch_prometheus", "fetch_prometheus_metric_timeseries",
           "fetch_prometheus_metrics", "fetch_prometheus_timeseries", "is_named_tuple",
           "run_string_as_driver", "wait_for_condition"]

logger = logging.getLogger(__name__)

DEFAULT_DRIVER_TIMEOUT_SECONDS = 300  # a driver script that hangs fails instead of the suite
KILLED_DRIVER_DRAIN_TIMEOUT_SECONDS = 10


@remote(num_cpus=0)
class SignalActor:
    """An async actor tests use as an event: ``wait`` blocks callers until ``send``."""

    def __init__(self) -> None:
        self._event = asyncio.Event()
        self._waiters = 0

    def send(self, clear: bool = False) -> None:
        """Release every waiter; with ``clear``, later waiters block again."""
        self._event.set()
        if clear:
            self._event.clear()

    async def wait(self, should_wait: bool = True) -> None:
        """Return once ``send`` was called (at once when ``should_wait`` is False)."""
        if not should_wait:
            return
        self._waiters += 1
        try:
            await self._event.wait()
        finally:
            self._waiters -= 1

    async def cur_num_waiters(self) -> int:
        """How many calls of ``wait`` are blocked now."""
        return self._waiters


@remote(num_cpus=0)
class Semaphore:
    """An async actor holding an ``asyncio.Semaphore`` of ``value`` permits."""

    def __init__(self, value: int = 1) -> None:
        self._permits = asyncio.Semaphore(value=value)

    async def acquire(self) -> None:
        await self._permits.acquire()

    async def release(self) -> None:
        self._permits.release()

    async def locked(self) -> bool:
        return self._permits.locked()


def _timed_out(last_error: str | None) -> RuntimeError:
    message = "The condition wasn't met before the timeout expired."
    if last_error is not None:
        message += f" Last exception: {last_error}"
    return RuntimeError(message)


def wait_for_condition(condition_predictor: Callable[..., Any], timeout: float = 10,
                       retry_interval_ms: float = 100, raise_exceptions: bool = False,
                       **kwargs: Any) -> None:
    """Call ``condition_predictor(**kwargs)`` every ``retry_interval_ms`` until it returns a
    true value; ``RuntimeError`` after ``timeout`` seconds. Exceptions it raises count as
    "not yet" (and are named in the error) unless ``raise_exceptions``."""
    deadline = time.monotonic() + timeout
    last_error = None
    while True:
        try:
            if condition_predictor(**kwargs):
                return
        except Exception:
            if raise_exceptions:
                raise
            last_error = traceback.format_exc()
        if time.monotonic() >= deadline:
            raise _timed_out(last_error)
        time.sleep(retry_interval_ms / 1000.0)


async def async_wait_for_condition(condition_predictor: Callable[..., Any], timeout: float = 10,
                                   retry_interval_ms: float = 100, **kwargs: Any) -> None:
    """:func:`wait_for_condition` for event loops: the predictor may be a coroutine function."""
    deadline = time.monotonic() + timeout
    last_error = None
    while True:
        try:
            result = condition_predictor(**kwargs)
            if inspect.isawaitable(result):
                result = await result
            if result:
                return
        except Exception as exc:
            last_error = repr(exc)
        if time.monotonic() >= deadline:
            raise _timed_out(last_error)
        await asyncio.sleep(retry_interval_ms / 1000.0)


def _communicate(proc: subprocess.Popen[bytes], script: bytes,
                 timeout: float | None) -> tuple[bytes, bytes]:
    """Feed ``script`` to ``proc`` and collect its output; kill it after ``timeout``."""
    try:
        out, err = proc.communicate(script, timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        try:
            out, err = proc.communicate(timeout=KILLED_DRIVER_DRAIN_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            out, err = b"", b""
        logger.error("Driver did not exit within %ss; killed it. Output so far:\n%s",
                     timeout, (out or b"").decode(errors="replace"))
        raise
    return out or b"", err or b""


def run_string_as_driver(driver_script: str, env: dict[str, str] | None = None,
                         encode: str = "utf-8",
                         timeout: float | None = DEFAULT_DRIVER_TIMEOUT_SECONDS) -> str:
    """Run ``driver_script`` in a new Python process (stdin) and return its output (stdout
    and stderr together); ``CalledProcessError`` if it exits non-zero, ``TimeoutExpired`` if it
    runs past ``timeout`` seconds (it is killed)."""
    proc = subprocess.Popen([sys.executable, "-"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
    with proc:
        output, _ = _communicate(proc, driver_script.encode(encode), timeout)
    text = output.decode(encode, errors="replace")
    if proc.returncode:
        print(text)
        raise subprocess.CalledProcessError(proc.returncode, proc.args, output)
    return text


def is_named_tuple(cls: type) -> bool:
    """True if ``cls`` is a ``namedtuple`` class: a direct subclass of ``tuple`` alone whose
    ``_fields`` is a tuple of strings."""
    if cls.__bases__ != (tuple,):
        return False
    fields = getattr(cls, "_fields", None)
    return isinstance(fields, tuple) and all(type(name) is str for name in fields)


@dataclass
class MetricSamplePattern:
    """A metric sample to look for (name, value, labels); raylike collects no samples from
    Ray's metrics agents, so nothing ever matches."""

    name: str | None = None
    value: Any = None
    partial_label_match: dict[str, str] | None = None

    def matches(self, sample: Any) -> bool:
        return False


@dataclass
class PrometheusTimeseries:
    """Ray's accumulated metric samples (empty on raylike)."""

    components_dict: dict[str, Any] = field(default_factory=dict)
    metric_descriptors: dict[str, Any] = field(default_factory=dict)
    metric_samples: dict[Any, Any] = field(default_factory=dict)

    def flush(self) -> None:
        self.components_dict.clear()
        self.metric_descriptors.clear()
        self.metric_samples.clear()


def _no_metrics(*_: Any, **__: Any) -> Any:
    raise NotImplementedError("Ray's metrics helpers read Ray's metrics agents, which raylike "
                              "has not: ray.util.metrics are exported on the Dask scheduler's "
                              "/metrics")


fetch_prometheus_timeseries = _no_metrics
fetch_prometheus_metrics = _no_metrics
fetch_prometheus_metric_timeseries = _no_metrics
fetch_prometheus = _no_metrics
