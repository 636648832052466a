"""The embedded cluster: a Dask scheduler and one Dask worker per node, forked from a zygote.

Why a subprocess started with ``python -c`` (see ``docs/design.md``, "Start-up"): Dask's default
``LocalCluster`` spawns its workers with ``multiprocessing``, which re-runs the user's main script
in every child and fails in scripts without an ``if __name__ == "__main__":`` guard, as every Ray
example is written. A ``python -c`` process has no main file to re-run, needs no monkeypatching,
keeps the scheduler's event loop out of the driver's GIL, and exits when the driver dies (it
watches its stdin; EOF means the driver is gone).

Why one zygote (``raylike._process.zygote``) rather than one interpreter per process: each would
import
``distributed`` (≈0.5 s of CPU) at the same time on the same cores. The zygote imports it once,
forks the scheduler, imports what a node needs, forks the worker, and then forks the worker's
task processes and any replacement worker, in milliseconds.
"""
from __future__ import annotations

import contextlib
import glob
import json
import logging
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import IO, Any

from raylike._api import config as _config
from raylike._api import state as _state
from raylike._process import zygote as _zygote

_BOOT = ("import sys; from raylike._dask.cluster.embedded import zygote_main; "
         "zygote_main(sys.argv[1:])")

PRELOAD = "raylike._dask.cluster.preload"  # raylike's plugins, installed as the processes start
DEFAULT_NODE_NAME = _state.HEAD_NODE_NAME
NODE_MODULES = ["raylike._dask.worker.node", "raylike._dask.worker.actor_host",
                "raylike._dask.client.local_objects"]
WORKER_THREADS = 256  # tasks blocked in get() secede; this bounds only tasks running at once
START_TIMEOUT = 60.0  # seconds for the scheduler to write its address
WORKER_RESTARTS = 10  # a worker that dies is replaced, this many times per session


@dataclass
class EmbeddedCluster:
    """Processes of an embedded cluster; :meth:`close` stops them all. A worker that dies
    (killed, out of memory) is replaced by a new one, so that the tasks whose results were
    lost with it run again and later work has a node to run on (see ``docs/fault-tolerance.md``)."""

    scheduler_file: str
    dashboard_address: str | None
    zygote: subprocess.Popen[bytes]
    forks: _zygote.ForkClient
    log: IO[bytes] | None = None
    worker_args: list[str] = field(default_factory=list)
    node_name: str = DEFAULT_NODE_NAME
    scheduler: _zygote.Forked | None = None
    workers: list[_zygote.Forked] = field(default_factory=list)
    restarts: int = 0
    address: str = ""
    _closing: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def wait_address(self, timeout: float = START_TIMEOUT) -> str:
        """The scheduler's address, once it accepts connections. The scheduler binds a port of
        its own choosing and writes its address to its scheduler file: a port picked here and
        handed over could be taken (by any process's outgoing connection) before it binds."""
        if not self.address:
            self.address = poll_address(self.scheduler_file,
                                        lambda: self.zygote.poll() is None, timeout)
            if self.address:
                record_embedded(self.scheduler_file, self.address)
        if not self.address:
            log = self.log.name if self.log is not None else "the cluster's log"
            raise RuntimeError(f"the Dask scheduler did not start within {timeout:.0f} s "
                               f"(see {log})")
        return self.address

    def watch(self) -> None:
        """Replace the worker when it dies, until :meth:`close` (in a daemon thread)."""
        threading.Thread(target=self._keep_worker, daemon=True,
                         name="raylike-worker-watch").start()

    def _keep_worker(self) -> None:
        try:
            scheduler, _ = self.forks.announced()
            worker, _ = self.forks.announced()
        except (EOFError, OSError):  # the zygote exited first (closed, or failed: see the log)
            return
        with self._lock:
            self.scheduler = scheduler
            self.workers.append(worker)
        while True:
            code = self.workers[-1].wait()
            with self._lock:
                if self._closing or self.restarts >= WORKER_RESTARTS or \
                        scheduler.exitcode is not None:  # no scheduler: nothing to join
                    return
                self.restarts += 1
                self._note(f"the Dask worker exited with code {code}; starting a new one "
                           f"({self.restarts} of {WORKER_RESTARTS})")
            args = [*self.worker_args, "--name", f"{self.node_name}-{self.restarts}"]
            try:
                worker, _ = self.forks.fork("worker", args)
            except (EOFError, OSError) as exc:
                self._note(f"could not start a new worker: {exc}")
                return
            with self._lock:
                self.workers.append(worker)

    def _note(self, text: str) -> None:
        if self.log is not None and not self.log.closed:
            self.log.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} raylike {text}\n".encode())
            self.log.flush()

    def close(self, grace: float = 5.0) -> None:
        """Stop the cluster: workers first (SIGTERM: a graceful close that runs the plugin's
        teardown), then the scheduler, then the zygote (its stdin closes); whatever is left
        after ``grace`` is killed."""
        with self._lock:
            self._closing = True
            workers = list(self.workers)
            scheduler = [self.scheduler] if self.scheduler is not None else []
        for group in (workers, scheduler):
            for proc in group:
                proc.terminate()
            deadline = time.monotonic() + grace
            for proc in group:
                proc.wait(max(0.01, deadline - time.monotonic()))
        if self.zygote.stdin is not None:  # EOF: the zygote, and anything left, exits
            self.zygote.stdin.close()
        for proc in [*workers, *scheduler]:
            if proc.wait(1) is None:
                proc.kill()
            proc.close()
        try:
            self.zygote.wait(1)
        except subprocess.TimeoutExpired:
            self.zygote.kill()
            self.zygote.wait()
        self.forks.close()
        with contextlib.suppress(OSError):
            os.remove(self.scheduler_file)
        with contextlib.suppress(OSError):
            os.remove(_embedded_record(self.scheduler_file))
        if self.log is not None:
            self.log.close()


CURRENT_FILE = "current-cluster"  # in the session dir: the cluster started last here


PROFILER_ENV = "DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED"  # Dask's worker profiler

def record_current(address: str) -> None:
    """Remember ``address`` as the cluster started last on this machine (``raylike start``'s
    head, ``cluster_utils.Cluster``'s): what ``init()`` joins, as Ray's
    ``ray_current_cluster`` file."""
    directory = _config.session_dir()
    try:
        directory.mkdir(parents=True, exist_ok=True)
        tmp = directory / f"{CURRENT_FILE}.{os.getpid()}"
        tmp.write_text(address)
        os.replace(tmp, directory / CURRENT_FILE)
    except OSError:
        logging.getLogger("raylike").debug("could not record the current cluster", exc_info=True)


def forget_current(address: str | None) -> None:
    """The cluster at ``address`` stopped: forget it, unless another was recorded since
    (``None``: forget whichever is recorded)."""
    path = _config.session_dir() / CURRENT_FILE
    try:
        if address is None or path.read_text().strip() == address:
            path.unlink()
    except OSError:
        pass


def current_address() -> str | None:
    """The cluster started last on this machine, if it still accepts connections."""
    path = _config.session_dir() / CURRENT_FILE
    try:
        address = path.read_text().strip()
    except OSError:
        return None
    if address and listening(address, timeout=0.5):
        return address
    forget_current(address)  # it stopped without saying so (killed)
    return None


EMBEDDED_DIR = "embedded"  # in the session dir: a file per running embedded cluster


def _embedded_record(scheduler_file: str) -> str:
    return str(_config.session_dir() / EMBEDDED_DIR / os.path.basename(scheduler_file))


def record_embedded(scheduler_file: str, address: str) -> None:
    """Note a running embedded cluster (one a driver's ``init()`` started) for ``init("auto")``
    of other drivers (:func:`running_embedded_address`)."""
    path = _embedded_record(scheduler_file)
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(address)
    except OSError:
        logging.getLogger("raylike").debug("could not record the cluster", exc_info=True)


def running_embedded_address() -> str | None:
    """A running embedded cluster of this session directory (another driver's ``init()``),
    the newest first: where ``init("auto")`` goes when nothing else names a cluster, as Ray's
    "auto" joins any Ray instance it finds running on the machine."""
    files = []
    for path in glob.glob(os.path.join(str(_config.session_dir() / EMBEDDED_DIR), "*")):
        with contextlib.suppress(OSError):
            files.append((os.path.getmtime(path), path))
    for _, path in sorted(files, reverse=True):
        try:
            with open(path) as f:
                address = f.read().strip()
        except OSError:
            continue
        if address and listening(address, timeout=0.5):
            return address
        with contextlib.suppress(OSError):  # it stopped without saying so (killed)
            os.remove(path)
    return None


def listening(address: str, timeout: float = 1.0) -> bool:
    """True if something accepts TCP connections at ``address`` (``scheme://host:port``)."""
    host, _, port = address.split("://", 1)[-1].rpartition(":")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout):
            return True
    except (OSError, ValueError):
        return False


def read_address(scheduler_file: str) -> str:
    """The address in a Dask scheduler file, or "" while it is missing or being written."""
    try:
        with open(scheduler_file) as f:
            return str(json.load(f).get("address", ""))
    except (OSError, ValueError):
        return ""


def poll_address(scheduler_file: str, alive: Callable[[], bool], timeout: float) -> str:
    """The address the scheduler writes to ``scheduler_file``, polled every 5 ms; "" once
    ``alive()`` is false or ``timeout`` seconds have passed without it."""
    deadline = time.monotonic() + timeout
    while not (address := read_address(scheduler_file)):
        if not alive() or time.monotonic() > deadline:
            return ""
        time.sleep(0.005)
    return address


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port free now on ``host`` ("" for every interface)."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def python_command() -> list[str]:
    """The interpreter for the cluster's processes, with the driver's ``-S``/``-s`` flags (read
    where Ray reads them: ``ray._private.services``), so they see the same site-packages."""
    from raylike._private import services

    flags = [flag for flag, on in (("-S", services._no_site()), ("-s", services._no_user_site()))
             if on]
    return [sys.executable, *flags]


def _env(log_file: str, system_config: dict[str, Any] | None = None,
         labels: dict[str, str] | None = None) -> dict[str, str]:
    from raylike._api import labels as _labels

    env = dict(os.environ)
    env.pop(_config.SETTINGS["node_labels"].env, None)  # a node's own, never inherited
    env.update(_labels.env_for(labels))
    env[_config.SETTINGS["log_file"].env] = log_file
    for name, value in (system_config or {}).items():  # Ray reads each as ``RAY_<name>``
        env[f"RAY_{name}"] = str(value).lower() if isinstance(value, bool) else \
            json.dumps(value) if isinstance(value, (list, dict)) else str(value)
    # Like Ray's workers, ours can import the modules next to the driver's script and in its
    # working directory (functions from them are pickled by reference).
    script_dir = os.path.abspath(sys.path[0]) if sys.path and sys.path[0] else os.getcwd()
    inherited = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    paths = [script_dir, os.getcwd(), *inherited]
    env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))
    # our workers own process pools: they must not be daemonic
    env["DASK_DISTRIBUTED__WORKER__DAEMON"] = "False"
    # Dask's statistical profiler walks the stack of every thread running a task every 10 ms
    # (each running task and actor has one on its worker): nothing of Ray's reads it
    env.setdefault(PROFILER_ENV, "False")
    return env


def format_resources(resources: dict[str, float]) -> str:
    """``{"CPU": 2, "GPU": 0.5}`` -> ``"CPU=2 GPU=0.5"`` (dask worker's --resources), with
    the node's hidden resources (``_resources.with_hidden``)."""
    from raylike._api.resources import with_hidden

    return " ".join(f"{name}={_number(value)}" for name, value in with_hidden(resources).items())


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def start(resources: dict[str, float], *, dashboard: bool, dashboard_port: int | None,
          system_config: dict[str, Any] | None = None,
          node_name: str | None = None,
          labels: dict[str, str] | None = None) -> EmbeddedCluster:
    """Start a scheduler and one worker (the head node) on 127.0.0.1; return at once: the
    caller waits for the scheduler's address (:meth:`EmbeddedCluster.wait_address`), then its
    ``Client`` for the worker."""
    log = tempfile.NamedTemporaryFile(prefix="raylike-", suffix=".log", delete=False)
    scheduler_file = log.name[:-len(".log")] + ".scheduler.json"
    sched_args = ["--host", "127.0.0.1", "--port", "0", "--scheduler-file", scheduler_file,
                  "--preload", PRELOAD]
    dash = None
    if dashboard:
        dash = f"127.0.0.1:{dashboard_port if dashboard_port is not None else 8265}"
        sched_args += ["--dashboard-address", dash]
    else:
        # --no-dashboard only drops the pages: the HTTP server (health, metrics) still starts,
        # on every interface unless told otherwise
        sched_args += ["--no-dashboard", "--dashboard-address", "127.0.0.1:0"]
    worker_args = ["--scheduler-file", scheduler_file, "--host", "127.0.0.1",
                   "--nthreads", str(WORKER_THREADS),
                   "--no-dashboard", "--dashboard-address", "127.0.0.1:0",
                   "--no-nanny", "--death-timeout", "60",
                   "--resources", format_resources(resources), "--preload", PRELOAD]
    mine, theirs = socket.socketpair()
    with mine, theirs:
        argv = [str(theirs.fileno()), json.dumps(sched_args),
                json.dumps([*worker_args, "--name", node_name or DEFAULT_NODE_NAME])]
        zygote = subprocess.Popen([*python_command(), "-c", _BOOT, *argv], stdin=subprocess.PIPE,
                                  stdout=log, stderr=log,
                                  env=_env(log.name, system_config, labels),
                                  start_new_session=True, pass_fds=[theirs.fileno()])
        forks = _zygote.ForkClient(Connection(mine.detach()))
    cluster = EmbeddedCluster(scheduler_file=scheduler_file, dashboard_address=dash, zygote=zygote,
                              forks=forks, log=log, worker_args=worker_args,
                              node_name=node_name or DEFAULT_NODE_NAME)
    cluster.watch()
    return cluster


def zygote_main(argv: list[str]) -> None:
    """The zygote's program: ``<control fd> <scheduler args> <worker args>`` (JSON lists)."""
    driver = Connection(int(argv[0]))
    scheduler_args, worker_args = json.loads(argv[1]), json.loads(argv[2])
    _log_to_file(_config.raw("log_file"))
    warnings.filterwarnings("ignore", category=FutureWarning,
                            module="distributed.diagnostics.nvml")
    _zygote.preload(["distributed.cli.dask_scheduler", "distributed.cli.dask_worker", PRELOAD])
    zygote = _zygote.Zygote({"worker": _fork_worker}, watch_stdin=True)
    zygote.add(driver)
    pid, status = zygote.fork(lambda: _run("scheduler", scheduler_args))
    zygote.send(driver, pid, [status])
    _zygote.preload([*NODE_MODULES, *_zygote.TASK_MODULES])  # while the scheduler starts
    _zygote.preload_configured()
    # the worker then reads the file at once (Dask's own wait for it polls every 0.1 s)
    poll_address(scheduler_args[scheduler_args.index("--scheduler-file") + 1],
                 lambda: True, START_TIMEOUT)
    zygote.send(driver, *_fork_worker(zygote, driver, ("worker", worker_args)))
    zygote.serve()


def _fork_worker(zygote: _zygote.Zygote, _conn: Connection,
                 request: tuple[Any, ...]) -> tuple[int, list[int]]:
    """A Dask worker with arguments ``request[1]``; it asks this zygote for its task processes,
    over a connection of its own."""
    mine, theirs = socket.socketpair()

    def run() -> None:
        _zygote._inherited = Connection(theirs.detach())
        _run("worker", request[1])

    pid, status = zygote.fork(run, close=(mine,))
    theirs.close()
    zygote.add(Connection(mine.detach()))
    return pid, [status]


def _run(role: str, args: list[str]) -> None:
    """Run ``dask scheduler`` or ``dask worker`` with ``args`` in this (forked) process, which
    exits when the driver does (EOF on stdin). os.read, not sys.stdin.read: a buffered read
    would hold a lock that blocks interpreter exit."""

    def watch() -> None:
        try:
            while os.read(0, 1):
                pass
        finally:
            os._exit(0)

    threading.Thread(target=watch, daemon=True, name="raylike-driver-watch").start()
    sys.argv = [f"dask {role}", *args]
    from distributed.cli import dask_scheduler, dask_worker

    (dask_scheduler.main if role == "scheduler" else dask_worker.main)()


def _log_to_file(path: str) -> None:
    """Dask's own logs go to the session's log file, as does the processes' output (what tasks
    print reaches the driver as Dask events: raylike._api.logs)."""
    import distributed  # noqa: F401  (configures its loggers, which are replaced here)

    handler = logging.FileHandler(path)
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    for name in ("distributed", "raylike", "tornado", "asyncio"):
        logger = logging.getLogger(name)
        for old in list(logger.handlers):
            logger.removeHandler(old)
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False
