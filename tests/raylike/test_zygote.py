"""Processes forked from a zygote (``raylike._process.zygote``): exit codes reach whoever follows
them,
the embedded cluster's processes all come from one zygote, and a node whose zygote is lost
starts another instead of failing its tasks."""
from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from multiprocessing.connection import Connection

import psutil
import pytest

import raylike as ray
from raylike._api import runtime as _runtime
from raylike._process import zygote as _zygote

pytestmark = pytest.mark.timeout(120)


def test_a_node_zygote_forks_task_processes_and_reports_their_exit_codes() -> None:
    forks = _zygote.node_forks()  # no zygote forked this process: it spawns one of its own
    try:
        first, [fd] = forks.fork("task-process", os.getpid())
        conn = Connection(fd)
        assert first.exitcode is None and first.is_alive()
        assert first.wait(0.2) is None
        assert psutil.Process(first.pid).ppid() == forks._server.pid  # type: ignore[union-attr]
        conn.close()  # EOF: a task process's loop ends, and it exits normally
        assert first.wait(30) == 0
        assert not first.is_alive()

        second, [fd2] = forks.fork("task-process", os.getpid())
        second.kill()
        assert second.wait(30) == -signal.SIGKILL
        second.terminate()  # no-op once it is known to have exited
        Connection(fd2).close()
        first.close()
        second.close()
        assert second.exitcode == -signal.SIGKILL  # still known after close()
    finally:
        forks.close()
    assert forks._server is not None and forks._server.wait(10) == 0  # EOF: the zygote exits


def test_a_zygote_reports_a_request_it_cannot_serve() -> None:
    forks = _zygote.node_forks()
    try:
        with pytest.raises(OSError, match="could not fork"):
            forks.fork("no-such-request")
        process, [fd] = forks.fork("task-process", os.getpid())  # still serving
        Connection(fd).close()
        assert process.wait(30) == 0
    finally:
        forks.close()


@ray.remote
def pid() -> int:
    return os.getpid()


@ray.remote
def nap(seconds: float) -> int:
    time.sleep(seconds)
    return os.getpid()


@ray.remote(max_retries=0)
def crash() -> None:
    os._exit(3)


def _embedded() -> tuple[psutil.Process, list[psutil.Process]]:
    cluster = _runtime.driver().cluster
    assert cluster is not None
    zygote = psutil.Process(cluster.zygote.pid)
    return zygote, zygote.children()


def test_the_embedded_cluster_forks_its_processes_from_one_zygote() -> None:
    ray.init(num_cpus=2, include_dashboard=False)
    task_pid = ray.get(pid.remote(), timeout=60)
    zygote, children = _embedded()
    assert zygote.ppid() == os.getpid()
    worker_pid = next(iter(_runtime.driver().client.run(os.getpid).values()))
    forked = {p.pid for p in children}
    assert {worker_pid, task_pid} <= forked  # and the scheduler: one zygote, no other interpreter
    assert len(forked) >= 3


def test_tasks_still_get_processes_after_the_zygote_is_lost(
        wait_gone: Callable[[list[int], float], list[int]]) -> None:
    ray.init(num_cpus=2, include_dashboard=False)
    ray.get(pid.remote(), timeout=60)
    zygote, children = _embedded()
    zygote.kill()
    zygote.wait(10)
    with pytest.raises(ray.exceptions.WorkerCrashedError):  # its process is gone for good
        ray.get(crash.remote(), timeout=60)
    # more processes than were idle: the node starts a zygote of its own for them
    pids = ray.get([nap.remote(0.5) for _ in range(4)], timeout=60)
    assert len(set(pids)) >= 2
    ray.shutdown()  # the scheduler and worker are stopped without their zygote
    assert wait_gone([p.pid for p in children], 10) == []
