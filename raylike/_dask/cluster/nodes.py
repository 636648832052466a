"""Processes of a ``cluster_utils.Cluster``: a Dask scheduler and one Dask worker per node, each
its own ``python -c`` process on 127.0.0.1 that exits when the process that started it does
(it watches its stdin, as the embedded cluster's processes do).

Ray's test clusters start real raylets on one machine; these are real Dask processes, so a node
removed with SIGKILL is a node failure as the scheduler sees one (its tasks are retried on other
nodes, its actors die or restart)."""
from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import tempfile
import time
from collections.abc import Sequence
from typing import IO, Any

from raylike._dask.cluster import embedded as _cluster

_BOOT = ("import sys; from raylike._dask.cluster.embedded import _run; "
         "_run(sys.argv[1], sys.argv[2:])")
START_TIMEOUT = 60.0


class DaskProcess:
    """One ``dask scheduler`` or ``dask worker`` process; its output goes to ``log_path``."""

    def __init__(self, role: str, args: list[str], log_path: str,
                 system_config: dict[str, Any] | None = None,
                 labels: dict[str, str] | None = None) -> None:
        self.role = role
        self.log_path = log_path
        self._log: IO[bytes] = open(log_path, "ab")  # noqa: SIM115 (closed in wait)
        self.proc = subprocess.Popen([*_cluster.python_command(), "-c", _BOOT, role, *args],
                                     stdin=subprocess.PIPE, stdout=self._log,
                                     stderr=subprocess.STDOUT,
                                     env=_cluster._env(log_path, system_config, labels),
                                     start_new_session=True)

    @property
    def pid(self) -> int:
        return int(self.proc.pid)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self, graceful: bool, grace: float = 10.0) -> None:
        """SIGTERM and wait up to ``grace`` seconds when ``graceful``; then SIGKILL to the
        process and whatever it started (its process group: a node's task processes die with
        it, as a Ray node's workers do); reap it."""
        if graceful and self.alive():
            with contextlib.suppress(ProcessLookupError):
                self.proc.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=grace)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)  # its own session: pgid == pid
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=10.0)
        self.close()

    def close(self) -> None:
        """Close the pipes this side holds (EOF on its stdin ends the process)."""
        with contextlib.suppress(OSError):
            if self.proc.stdin is not None:
                self.proc.stdin.close()
        self._log.close()

    def log_tail(self, lines: int = 15) -> str:
        with open(self.log_path, errors="replace") as f:
            return "\n".join(f.read().splitlines()[-lines:])


def log_dir() -> str:
    return tempfile.mkdtemp(prefix="raylike-cluster-")


def start_scheduler(logs: str, system_config: dict[str, Any] | None = None
                    ) -> tuple[DaskProcess, str]:
    """Start a scheduler with raylike's plugins; return it once it accepts connections. It
    binds a port of its own choosing and writes its address to a file (a free port picked here
    could be taken by another process before it binds). ``system_config``: the head node's
    (Ray's cluster-wide settings the scheduler reads as ``RAY_<name>``, e.g. lineage)."""
    scheduler_file = os.path.join(logs, "scheduler.json")
    with contextlib.suppress(FileNotFoundError):  # a killed earlier scheduler's address
        os.remove(scheduler_file)
    proc = DaskProcess("scheduler", ["--host", "127.0.0.1", "--port", "0",
                                     "--scheduler-file", scheduler_file,
                                     "--preload", _cluster.PRELOAD, "--no-dashboard",
                                     "--dashboard-address", "127.0.0.1:0"],
                       os.path.join(logs, "scheduler.log"), system_config)
    address = _cluster.poll_address(scheduler_file, proc.alive, START_TIMEOUT)
    if not address:
        proc.stop(graceful=False)
        raise RuntimeError(f"the Dask scheduler did not start (log {proc.log_path}):\n"
                           + proc.log_tail())
    return proc, address


def start_worker(scheduler: str, name: str, resources: dict[str, float], logs: str,
                 system_config: dict[str, Any] | None = None,
                 labels: dict[str, str] | None = None) -> tuple[DaskProcess, str]:
    """Start a worker (a node) with ``resources`` and ``labels`` (and Ray's
    ``system_config``, which its processes read as ``RAY_<name>``); return it and the address
    it will have."""
    port = _cluster.free_port()
    args = [scheduler, "--host", "127.0.0.1", "--worker-port", str(port),
            "--nthreads", str(_cluster.WORKER_THREADS), "--no-nanny", "--death-timeout", "60",
            "--no-dashboard", "--dashboard-address", "127.0.0.1:0", "--name", name,
            "--resources", _cluster.format_resources(resources), "--preload", _cluster.PRELOAD]
    proc = DaskProcess("worker", args, os.path.join(logs, f"{name}.log"), system_config,
                       labels)
    return proc, f"tcp://127.0.0.1:{port}"


class SchedulerView:
    """A Dask client of the scheduler, to see which workers are registered."""

    def __init__(self, address: str) -> None:
        from distributed import Client

        self._client: Any = Client(address, set_as_default=False, timeout="30s")

    @property
    def client(self) -> Any:
        """The Dask client (to record cluster-wide settings on the scheduler)."""
        return self._client

    def workers(self) -> set[str]:
        """Addresses of the workers the scheduler has registered now."""
        return set(self._client.scheduler_info(n_workers=-1)["workers"])

    def wait_for(self, want: set[str], gone: set[str], timeout: float,
                 starting: Sequence[DaskProcess] = ()) -> None:
        """Wait until every address of ``want`` is registered and none of ``gone`` is."""
        deadline = time.monotonic() + timeout
        while True:
            seen = self.workers()
            if want <= seen and not (gone & seen):
                return
            for proc in starting:
                if not proc.alive():
                    raise RuntimeError(f"the Dask worker exited during start-up (log "
                                       f"{proc.log_path}):\n{proc.log_tail()}")
            if time.monotonic() > deadline:
                raise TimeoutError("Timed out while waiting for nodes to join.")
            time.sleep(0.05)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._client.close(timeout=10)
