"""The embedded cluster: a Dask scheduler and one Dask worker per node, as plain subprocesses.

Why subprocesses started with ``python -c`` (see ``docs/design.md``, "Start-up"): Dask's default
``LocalCluster`` spawns its workers with ``multiprocessing``, which re-runs the user's main script
in every child and fails in scripts without an ``if __name__ == "__main__":`` guard, as every Ray
example is written. ``python -c`` children have no main file to re-run, need no monkeypatching,
keep the scheduler's event loop out of the driver's GIL, and exit when the driver dies (each child
watches its stdin; EOF means the driver is gone).
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from typing import IO, Any

# The child reads stdin in a daemon thread; EOF (driver exited or was killed) => os._exit.
# os.read, not sys.stdin.read: a buffered read would hold a lock that blocks interpreter exit.
_BOOT = r"""
import os, sys, threading
def _watch():
    try:
        while os.read(0, 1):
            pass
    finally:
        os._exit(0)
threading.Thread(target=_watch, daemon=True).start()
role = sys.argv.pop(1)
sys.argv[0] = "dask " + role
import logging, warnings
warnings.filterwarnings("ignore", category=FutureWarning, module="distributed.diagnostics.nvml")
if role == "scheduler":
    from distributed.cli.dask_scheduler import main
else:
    from distributed.cli.dask_worker import main
# Dask's own logs go to the session's log file, as does the process's output (what tasks print
# reaches the driver as Dask events: raylike._logs).
_handler = logging.FileHandler(os.environ["RAYLIKE_LOG_FILE"])
_handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
for _name in ("distributed", "raylike", "tornado", "asyncio"):
    _logger = logging.getLogger(_name)
    for _h in list(_logger.handlers):
        _logger.removeHandler(_h)
    _logger.addHandler(_handler)
    _logger.setLevel(logging.INFO)
    _logger.propagate = False
main()
"""

PRELOAD = "raylike._preload"  # raylike's plugins, installed as the processes start
WORKER_THREADS = 256  # tasks blocked in get() secede; this bounds only tasks running at once
WORKER_RESTARTS = 10  # a worker that dies is replaced, this many times per session


@dataclass
class EmbeddedCluster:
    """Processes of an embedded cluster; :meth:`close` stops them all. A worker that dies
    (killed, out of memory) is replaced by a new one, so that the tasks whose results were
    lost with it run again and later work has a node to run on (see ``docs/fault-tolerance.md``)."""

    address: str
    dashboard_address: str | None
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    log: IO[bytes] | None = None
    worker_args: list[str] = field(default_factory=list)
    restarts: int = 0
    _closing: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def watch(self) -> None:
        """Replace the worker when it dies, until :meth:`close` (in a daemon thread)."""
        threading.Thread(target=self._keep_worker, daemon=True,
                         name="raylike-worker-watch").start()

    def _keep_worker(self) -> None:
        while True:
            code = self.procs[-1].wait()
            with self._lock:
                if self._closing or self.restarts >= WORKER_RESTARTS or \
                        self.procs[0].poll() is not None:  # no scheduler: nothing to join
                    return
                self.restarts += 1
                self._note(f"the Dask worker exited with code {code}; starting a new one "
                           f"({self.restarts} of {WORKER_RESTARTS})")
                args = [*self.worker_args, "--name", f"raylike-head-{self.restarts}"]
                self.procs.append(_spawn("worker", args, self.log))

    def _note(self, text: str) -> None:
        if self.log is not None and not self.log.closed:
            self.log.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} raylike {text}\n".encode())
            self.log.flush()

    def close(self, grace: float = 5.0) -> None:
        """Stop the cluster: workers first (SIGTERM: a graceful close that runs the plugin's
        teardown), then the scheduler; whatever is left after ``grace`` is killed."""
        with self._lock:
            self._closing = True
        for group in (self.procs[1:], self.procs[:1]):
            for proc in group:
                if proc.poll() is None:
                    proc.terminate()
            deadline = time.monotonic() + grace
            for proc in group:
                try:
                    proc.wait(max(0.01, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    pass
        for proc in self.procs:  # stdin EOF (watchdog exits), then SIGKILL
            if proc.stdin is not None:
                proc.stdin.close()
            try:
                proc.wait(1)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if self.log is not None:
            self.log.close()


def listening(address: str, timeout: float = 1.0) -> bool:
    """True if something accepts TCP connections at ``address`` (``scheme://host:port``)."""
    host, _, port = address.split("://", 1)[-1].rpartition(":")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout):
            return True
    except (OSError, ValueError):
        return False


def wait_listening(address: str, timeout: float = 30.0) -> None:
    """Poll until the scheduler accepts connections (Dask's own connect backs off for up to a
    few hundred ms between tries; polling every 5 ms saves that at start-up)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not listening(address, timeout=0.5):
        time.sleep(0.005)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _env(log_file: str) -> dict[str, str]:
    env = dict(os.environ)
    env["RAYLIKE_LOG_FILE"] = log_file
    # Like Ray's workers, ours can import the modules next to the driver's script and in its
    # working directory (functions from them are pickled by reference).
    script_dir = os.path.abspath(sys.path[0]) if sys.path and sys.path[0] else os.getcwd()
    inherited = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    paths = [script_dir, os.getcwd(), *inherited]
    env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))
    # our workers own process pools: they must not be daemonic
    env["DASK_DISTRIBUTED__WORKER__DAEMON"] = "False"
    return env


def _spawn(role: str, args: list[str], log: Any) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", _BOOT, role, *args], stdin=subprocess.PIPE,
                            stdout=log, stderr=log, env=_env(log.name), start_new_session=True)


def format_resources(resources: dict[str, float]) -> str:
    """``{"CPU": 2, "GPU": 0.5}`` -> ``"CPU=2 GPU=0.5"`` (dask worker's --resources)."""
    return " ".join(f"{name}={_number(value)}" for name, value in resources.items())


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def start(resources: dict[str, float], *, dashboard: bool,
          dashboard_port: int | None) -> EmbeddedCluster:
    """Start a scheduler and one worker (the head node) on 127.0.0.1; return at once: the
    caller's ``Client`` waits for the worker."""
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    log = tempfile.NamedTemporaryFile(prefix="raylike-", suffix=".log", delete=False)
    sched_args = ["--host", "127.0.0.1", "--port", str(port), "--preload", PRELOAD]
    dash = None
    if dashboard:
        dash = f"127.0.0.1:{dashboard_port if dashboard_port is not None else 8265}"
        sched_args += ["--dashboard-address", dash]
    else:
        # --no-dashboard only drops the pages: the HTTP server (health, metrics) still starts,
        # on every interface unless told otherwise
        sched_args += ["--no-dashboard", "--dashboard-address", "127.0.0.1:0"]
    worker_args = [address, "--host", "127.0.0.1", "--nthreads", str(WORKER_THREADS),
                   "--no-dashboard", "--dashboard-address", "127.0.0.1:0",
                   "--no-nanny", "--death-timeout", "60",
                   "--resources", format_resources(resources), "--preload", PRELOAD]
    cluster = EmbeddedCluster(address=address, dashboard_address=dash, log=log,
                              worker_args=worker_args)
    cluster.procs.append(_spawn("scheduler", sched_args, log))
    cluster.procs.append(_spawn("worker", [*worker_args, "--name", "raylike-head"], log))
    cluster.watch()
    return cluster
