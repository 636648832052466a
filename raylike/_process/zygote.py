"""Processes forked from a zygote: one process that has imported what they need, once.

Every Python process raylike starts would otherwise import its modules afresh: Dask's scheduler
and worker ``distributed`` (≈0.5 s of CPU each), a node's task processes raylike, cloudpickle and
numpy. A zygote imports them once and forks each process from itself, which takes milliseconds.
It stays single-threaded so that forking it is safe (forking a running Dask worker, with its
threads and event loop, is not), and it reaps what it forked: each process's exit code goes to
whoever asked for it through a status pipe (see :class:`Forked`).

- The embedded cluster's zygote (``raylike._dask.cluster.embedded``) forks the scheduler and the
worker, then
  serves that worker's requests for task processes.
- A worker raylike did not start (``dask worker`` run by hand) spawns a zygote of its own, which
  imports only what task processes need (:func:`node_forks`).

Requests are pickled tuples over a Unix socket (:class:`ForkClient`); the reply carries the pid,
then file descriptors (the status pipe first) as ``SCM_RIGHTS``.
"""
from __future__ import annotations

import atexit
import gc
import importlib
import importlib.util
import json
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
import traceback
import warnings
from collections.abc import Callable
from multiprocessing.connection import Connection
from multiprocessing.reduction import recvfds, sendfds
from typing import Any

from raylike._process import oom_score as _oom_score
from raylike._process import own_group as _own_group
from raylike._process import subreaper as _subreaper

# What a node's task processes import (``numpy`` too where installed): imported by the zygote
# before it forks them, so that a task process starts with them already loaded.
TASK_MODULES = ["raylike._process.child", "raylike._process.actor",
                "raylike._process.fork_support", "cloudpickle"]
PRELOAD_CONFIG = "RAY_preload_python_modules"  # Ray's system config, as the cluster's env

# This process's connection to the zygote that forked it (a Dask worker forked by the embedded
# cluster's zygote); taken by the first :func:`node_forks`.
_inherited: Connection | None = None

Handler = Callable[["Zygote", Connection, tuple[Any, ...]], tuple[int, list[int]]]


class Forked:
    """A process forked by a zygote. The zygote is its parent and reaps it, then writes its exit
    code (negative: killed by that signal) to the status pipe read here."""

    def __init__(self, pid: int, status_fd: int) -> None:
        self.pid = pid
        self._fd = status_fd
        self._code: int | None = None
        self._orphaned = False  # the zygote died first: fall back to asking the kernel
        self._lock = threading.Lock()

    @property
    def exitcode(self) -> int | None:
        """The exit code, or ``None`` while the process runs."""
        return self.wait(0)

    def is_alive(self) -> bool:
        return self.exitcode is None

    def wait(self, timeout: float | None = None) -> int | None:
        """The exit code once the process has exited, or ``None`` if it still runs after
        ``timeout`` seconds (``None``: wait as long as it takes)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while self._code is None:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            if self._orphaned:
                if not _exists(self.pid):
                    self._code = 1  # its exit code was lost with the zygote
                elif left == 0:
                    return None
                else:
                    time.sleep(min(0.05, left if left is not None else 0.05))
                continue
            try:
                ready = select.select([self._fd], [], [], left)[0]
            except (OSError, ValueError):  # closed by close()
                return self._code
            if not ready:
                return None
            self._collect()
        return self._code

    def _collect(self) -> None:
        with self._lock:
            if self._code is not None or self._orphaned or self._fd < 0:
                return
            data = os.read(self._fd, 32)
            if data.strip():
                self._code = int(data)
            else:  # EOF without a code: the zygote is gone
                self._orphaned = True

    def terminate(self) -> None:
        self.signal(signal.SIGTERM)

    def kill(self) -> None:
        self.signal(signal.SIGKILL)

    def signal(self, signum: int) -> None:
        """Send ``signum`` unless the process is known to have exited."""
        if self.exitcode is None:
            try:
                os.kill(self.pid, signum)
            except ProcessLookupError:
                pass

    def close(self) -> None:
        """Stop following the process (its exit code stays known if it was)."""
        with self._lock:
            fd, self._fd = self._fd, -1
        if fd >= 0:
            os.close(fd)


def _exists(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, whose parent has not reaped it, does not), as the
    ``raylike`` command line judges its processes (psutil: /proc on Linux, and macOS too)."""
    import psutil

    try:
        return bool(psutil.Process(pid).status() != psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return False
    except psutil.Error:  # not ours to inspect: it exists
        return True


class ForkClient:
    """Asks a zygote for processes, over one connection (thread-safe)."""

    def __init__(self, conn: Connection, server: subprocess.Popen[bytes] | None = None) -> None:
        self._conn = conn
        self._server = server  # a zygote this process spawned (closed with the client)
        self._lock = threading.Lock()

    def fork(self, *request: Any) -> tuple[Forked, list[int]]:
        """A process forked for ``request``, and the descriptors that came with it."""
        with self._lock:
            self._conn.send(request)
            return self._reply()

    def announced(self) -> tuple[Forked, list[int]]:
        """The next process the zygote forked without being asked (its first ones)."""
        with self._lock:
            return self._reply()

    def _reply(self) -> tuple[Forked, list[int]]:
        kind, value, count = self._conn.recv()
        if kind == "error":
            raise OSError(f"the zygote could not fork: {value}")
        with socket.socket(fileno=os.dup(self._conn.fileno())) as sock:
            fds = recvfds(sock, count)
        return Forked(value, fds[0]), fds[1:]

    def close(self) -> None:
        self._conn.close()
        if self._server is not None:
            try:
                self._server.wait(1)
            except subprocess.TimeoutExpired:
                self._server.kill()


def node_forks() -> ForkClient:
    """Where this worker's task processes come from: the zygote that forked this process, or
    else a new one of its own (it exits when this process closes the connection or dies)."""
    global _inherited
    if _inherited is not None:
        conn, _inherited = _inherited, None
        return ForkClient(conn)
    mine, theirs = socket.socketpair()
    with mine, theirs:
        code = "import sys; from raylike._process.zygote import main; main(sys.argv[1:])"
        server = subprocess.Popen(
            [sys.executable, *_site_flags(), "-c", code, "node", str(theirs.fileno()),
             json.dumps(sys.path)],
            pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL)
        return ForkClient(Connection(mine.detach()), server)


def _site_flags() -> list[str]:
    """This process's ``-S``/``-s`` flags, for the zygote it starts."""
    return [flag for flag, on in (("-S", sys.flags.no_site), ("-s", sys.flags.no_user_site))
            if on]


def preload(modules: list[str]) -> None:
    """Import ``modules`` (and numpy where installed), as forked processes will need them."""
    for name in modules:
        importlib.import_module(name)
    if importlib.util.find_spec("numpy") is not None:
        importlib.import_module("numpy")


def preload_configured() -> None:
    """Import the modules of Ray's ``preload_python_modules`` system config (``RAY_<name>``,
    a JSON list) for the task processes this zygote forks; one that fails to import is
    logged and skipped, as in Ray."""
    raw = os.environ.get(PRELOAD_CONFIG)
    if not raw:
        return
    try:
        names = json.loads(raw)
    except ValueError:
        names = [n.strip() for n in raw.split(",")]
    for name in names if isinstance(names, list) else [names]:
        try:
            importlib.import_module(str(name))
        except Exception as exc:
            print(f"raylike: could not preload module {name!r}: {exc!r}", file=sys.stderr)


class Zygote:
    """The zygote's side: forks on request, reaps, and reports exit codes."""

    def __init__(self, handlers: dict[str, Handler], watch_stdin: bool) -> None:
        self.handlers = {"task-process": _fork_task_process, **handlers}
        self.conns: dict[int, Connection] = {}
        self.status: dict[int, int] = {}  # pid -> write end of its status pipe
        self.groups: set[int] = set()  # task processes, each leading its own process group
        self.watch_stdin = watch_stdin  # exit once stdin closes (the embedded cluster's driver)
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)
        signal.signal(signal.SIGCHLD, lambda *_: None)  # a handler, for the wake-up fd
        signal.set_wakeup_fd(self._wake_w)
        # a subreaper in any case: what a dead task process leaves (its killed group) is
        # reaped here at once, not whenever init gets to it; orphans are killed only with
        # Ray's flag on
        adopts = _subreaper.become(always=True)
        self.sweeper = _subreaper.Sweeper() if adopts and _subreaper.wanted() else None

    def add(self, conn: Connection) -> None:
        self.conns[conn.fileno()] = conn

    def fork(self, run: Callable[[], int | None], close: tuple[Any, ...] = ()) -> tuple[int, int]:
        """Fork a process that runs ``run`` (its return value is the exit code), closing
        ``close`` (sockets or descriptors) in it; return its pid and its status pipe's read
        end, for the caller to send and close."""
        status_r, status_w = os.pipe()
        gc.freeze()  # the collector of a forked process leaves what it inherited shared
        with warnings.catch_warnings():
            # Python 3.12+ warns of any thread: numpy's BLAS starts one, and handles fork
            warnings.simplefilter("ignore", DeprecationWarning)
            pid = os.fork()
        if pid == 0:
            self._become_child([status_r, status_w, *close])
            _run_and_exit(run)
        gc.unfreeze()  # the zygote's own garbage stays collectable
        self.status[pid] = status_w
        return pid, status_r

    def _become_child(self, close: list[Any]) -> None:
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        for item in [*close, *self.conns.values(), *self.status.values(),
                     self._wake_r, self._wake_w]:
            try:
                item.close() if hasattr(item, "close") else os.close(item)
            except OSError:
                pass

    def send(self, conn: Connection, pid: int, fds: list[int]) -> None:
        """Tell ``conn`` about process ``pid``; pass (then close here) ``fds``."""
        try:
            conn.send(("forked", pid, len(fds)))
            with socket.socket(fileno=os.dup(conn.fileno())) as sock:
                sendfds(sock, fds)
        finally:
            for fd in fds:
                os.close(fd)

    def serve(self) -> None:
        """Answer requests until the last connection closes (or stdin, if watched)."""
        while self.conns:
            watched = [self._wake_r, *self.conns] + ([0] if self.watch_stdin else [])
            if self.sweeper is not None:  # a subreaper: kills the orphans it adopted
                self.sweeper.sweep(self.status)
            wait = self.sweeper.due() + 0.05 if self.sweeper is not None else None
            for fd in select.select(watched, [], [], wait)[0]:
                if fd == self._wake_r:
                    while _drain(self._wake_r):
                        pass
                    self._reap()
                elif fd == 0:
                    if not os.read(0, 4096):
                        return
                elif fd in self.conns:
                    self._handle(self.conns[fd])
        self._reap()
        for pgid in self.groups:  # nobody asks for them any more: they, and what they started
            _own_group.kill(pgid)

    def _handle(self, conn: Connection) -> None:
        try:
            request = conn.recv()
        except (EOFError, OSError):
            del self.conns[conn.fileno()]
            conn.close()
            return
        try:
            try:
                pid, fds = self.handlers[request[0]](self, conn, request)
            except Exception as exc:  # a failed fork (no memory, too many processes)
                conn.send(("error", f"{type(exc).__name__}: {exc}", 0))
                return
            self.send(conn, pid, fds)
        except OSError:  # whoever asked is gone; what was forked for it ends on its own
            del self.conns[conn.fileno()]
            conn.close()

    def _reap(self) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            if pid in self.groups:  # what the task process started dies with it
                self.groups.discard(pid)
                _own_group.kill(pid)
            fd = self.status.pop(pid, None)
            if fd is not None:
                try:
                    os.write(fd, str(os.waitstatus_to_exitcode(status)).encode())
                except OSError:  # nobody follows it any more
                    pass
                os.close(fd)


def _drain(fd: int) -> bool:
    try:
        return bool(os.read(fd, 512))
    except BlockingIOError:
        return False


def _run_and_exit(run: Callable[[], int | None]) -> None:
    """In a forked process: run, then exit with its code, never returning to the zygote's loop
    (``atexit`` handlers run, as at a normal exit)."""
    code = 1
    try:
        result = run()
        code = 0 if result is None else int(result)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:
        traceback.print_exc()
    finally:
        try:
            atexit._run_exitfuncs()
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def _fork_task_process(zygote: Zygote, conn: Connection,
                       request: tuple[Any, ...]) -> tuple[int, list[int]]:
    """A task process for the worker ``request[1]`` (its pid); the worker gets its end of the
    process's pipe."""
    worker_pid = int(request[1])
    theirs, child_end = socket.socketpair()

    def run() -> None:
        from raylike._process import child as _child

        _own_group.enter()
        _oom_score.adjust()
        # Ray's variable naming a worker's raylet: here the Dask worker process of its node
        os.environ["RAY_RAYLET_PID"] = str(worker_pid)
        devnull = os.open(os.devnull, os.O_RDONLY)  # as multiprocessing does for its children
        os.dup2(devnull, 0)
        os.close(devnull)
        _child.main(Connection(child_end.detach()), worker_pid)

    pid, status = zygote.fork(run, close=(theirs,))
    zygote.groups.add(pid)
    child_end.close()
    return pid, [status, theirs.detach()]


def main(argv: list[str]) -> None:
    """A node's own zygote: ``node <fd> <sys.path as JSON>`` (see :func:`node_forks`)."""
    mode, fd, path = argv
    if mode != "node":
        raise SystemExit(f"unknown zygote mode {mode!r}")
    sys.path[:] = json.loads(path)
    preload(TASK_MODULES)
    preload_configured()
    zygote = Zygote({}, watch_stdin=False)
    zygote.add(Connection(int(fd)))
    zygote.serve()
