"""Fixtures for raylike's own tests (behaviour that is raylike's, not Ray's API).

``dask_cluster`` starts a real ``dask scheduler`` and lets a test add real ``dask worker``
processes; every process it starts runs in a session of its own, and teardown terminates, waits
and then SIGKILLs that whole process group, so no worker child (zygote, task processes) can
outlive the test.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import cloudpickle
import psutil
import pytest

import raylike

STARTUP_TIMEOUT = 30.0


@pytest.fixture(scope="module")
def cluster() -> Iterator[None]:
    """An embedded cluster of 2 CPUs shared by the tests of one module."""
    raylike.init(num_cpus=2, include_dashboard=False)
    yield
    raylike.shutdown()


@pytest.fixture(scope="session", autouse=True)
def _own_session_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """``init()`` with no address joins the cluster ``raylike start`` or ``cluster_utils``
    started last on the machine (as Ray's does): these tests get a session directory of
    their own, so nothing else running here is joined."""
    saved = os.environ.get("RAYLIKE_SESSION_DIR")
    os.environ["RAYLIKE_SESSION_DIR"] = str(tmp_path_factory.mktemp("session"))
    yield
    if saved is None:
        os.environ.pop("RAYLIKE_SESSION_DIR", None)
    else:
        os.environ["RAYLIKE_SESSION_DIR"] = saved


def free_port() -> int:
    """A TCP port on 127.0.0.1 nothing listens on (right now)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    # GPU ids of a hand-started "GPU=1" worker must be 0, whatever this machine exposes
    env.pop("CUDA_VISIBLE_DEVICES", None)
    for name in ("RAY_ADDRESS", "DASK_SCHEDULER_ADDRESS"):
        env.pop(name, None)
    return env


def _stop(procs: list[subprocess.Popen[bytes]], grace: float = 5.0) -> None:
    """Terminate, wait, kill: each process and then its whole process group."""
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
    deadline = time.monotonic() + grace
    for proc in procs:
        try:
            proc.wait(max(0.01, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    for proc in procs:
        # each process leads its own session (start_new_session): its pgid is its pid. Whatever
        # it started and left behind (nanny's worker, zygote, task children) is killed here.
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


@dataclass
class DaskCluster:
    """A hand-started Dask cluster: a scheduler, plus the workers a test adds."""

    address: str
    scheduler: subprocess.Popen[bytes]
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)
    cli_args: list[str] = field(default_factory=list)  # for scheduler and workers (TLS files)
    security: Any = None  # a distributed.Security for the test's own clients

    def start_worker(self, nthreads: int = 2, resources: str | None = None,
                     nanny: bool = False, name: str | None = None,
                     wait: bool = True) -> subprocess.Popen[bytes]:
        """Start ``dask worker`` and (by default) wait until the scheduler has it."""
        cmd = [sys.executable, "-m", "distributed.cli.dask_worker", self.address,
               "--host", "127.0.0.1", "--nthreads", str(nthreads), "--no-dashboard",
               # Dask's HTTP server (health, metrics) runs even with --no-dashboard, on all
               # interfaces unless told otherwise
               "--dashboard-address", "127.0.0.1:0",
               "--nanny" if nanny else "--no-nanny", *self.cli_args]
        if resources:
            cmd += ["--resources", resources]
        if name:
            cmd += ["--name", name]
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, env=_child_env(),
                                start_new_session=True)
        self.workers.append(proc)
        if wait:
            self.wait_for_workers(len(self.workers))
        return proc

    def wait_for_workers(self, count: int) -> None:
        from distributed import Client

        with Client(self.address, timeout="20s", set_as_default=False,
                    security=self.security) as client:
            client.wait_for_workers(count, timeout=STARTUP_TIMEOUT)

    def worker_count(self) -> int:
        from distributed import Client

        with Client(self.address, timeout="20s", set_as_default=False,
                    security=self.security) as client:
            return len(client.scheduler_info(n_workers=-1)["workers"])

    def processes(self) -> list[subprocess.Popen[bytes]]:
        return [*self.workers, self.scheduler]

    def close(self) -> None:
        raylike.shutdown()  # disconnect first: a client of a dead scheduler logs errors
        _stop(self.workers)
        _stop([self.scheduler])


def start_dask_cluster(protocol: str = "tcp", cli_args: list[str] | None = None,
                       security: Any = None) -> DaskCluster:
    """A ``dask scheduler`` on 127.0.0.1; ``cli_args`` go to it and to every worker."""
    port = free_port()
    address = f"{protocol}://127.0.0.1:{port}"
    cli_args = list(cli_args or [])
    proc = subprocess.Popen(
        [sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
         "--protocol", protocol, "--port", str(port), "--no-dashboard",
         "--dashboard-address", "127.0.0.1:0", *cli_args],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env=_child_env(), start_new_session=True)
    cluster = DaskCluster(address=address, scheduler=proc, cli_args=cli_args,
                          security=security)
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while True:
        if proc.poll() is not None:
            cluster.close()
            raise RuntimeError(f"dask scheduler exited with code {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                break
        except OSError:
            if time.monotonic() > deadline:
                cluster.close()
                raise RuntimeError("dask scheduler did not start listening") from None
            time.sleep(0.1)
    return cluster


@pytest.fixture(scope="session")
def start_cluster() -> Callable[..., DaskCluster]:
    """``start_dask_cluster`` for tests that need other options (the caller closes it)."""
    return start_dask_cluster


@pytest.fixture
def dask_cluster() -> Iterator[DaskCluster]:
    """A fresh scheduler (no workers yet; add them with ``start_worker``)."""
    cluster = start_dask_cluster()
    try:
        yield cluster
    finally:
        cluster.close()


@pytest.fixture(scope="module")
def two_worker_cluster() -> Iterator[DaskCluster]:
    """One scheduler and two workers, shared by a module: ``cpu`` (2 threads, no resources)
    and ``gpu`` (2 threads, ``GPU=1``)."""
    cluster = start_dask_cluster()
    try:
        cluster.start_worker(nthreads=2, name="cpu", wait=False)
        cluster.start_worker(nthreads=2, resources="GPU=1", name="gpu", wait=False)
        cluster.wait_for_workers(2)
        yield cluster
    finally:
        cluster.close()


@pytest.fixture(autouse=True, scope="module")
def _test_code_by_value(request: pytest.FixtureRequest) -> None:
    """Functions and classes of test modules travel by value (cloudpickle), as a script's do:
    by reference, a worker would import the module from the directory pytest put first on
    ``sys.path``, which depends on which test files a run collected."""
    cloudpickle.register_pickle_by_value(request.module)


@pytest.fixture(autouse=True)
def _raylike_shutdown() -> Iterator[None]:
    """Every test starts and ends with no raylike runtime in this process."""
    if raylike.is_initialized():
        raylike.shutdown()
    try:
        yield
    finally:
        raylike.shutdown()


def _wait_gone(pids: list[int], timeout: float) -> list[int]:
    """Wait until none of ``pids`` runs (zombies count as gone); return those left."""
    deadline = time.monotonic() + timeout
    while True:
        left = []
        for pid in pids:
            try:
                if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                    left.append(pid)
            except psutil.NoSuchProcess:
                pass
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.1)


@pytest.fixture
def wait_gone() -> Callable[[list[int], float], list[int]]:
    """``wait_gone(pids, timeout)``: wait until none of ``pids`` runs; return those left."""
    return _wait_gone


@pytest.fixture
def unused_address() -> str:
    """A scheduler address where nothing listens."""
    return f"tcp://127.0.0.1:{free_port()}"
