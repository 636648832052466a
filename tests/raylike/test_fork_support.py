"""Ray's ``support_fork``: a task's process runs user code with its main thread only, so it
can fork; the Ray API still works from it (gets, nested tasks, prints, cancels, actors) and
the process still ends when its worker dies (``raylike._process.fork_support``)."""
from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from typing import Any

import psutil
import pytest

import raylike as ray
from raylike.exceptions import TaskCancelledError

pytestmark = pytest.mark.timeout(180)


@pytest.fixture
def forkable() -> Iterator[None]:
    ray.init(num_cpus=2, include_dashboard=False, _system_config={"support_fork": True})
    yield
    ray.shutdown()


@ray.remote
def plus_one(x: int) -> int:
    return x + 1


@ray.remote
def forks() -> tuple[int, int, int]:
    print("a line from a forking task")
    threads = threading.active_count()
    total = sum(ray.get([plus_one.remote(i) for i in range(10)]))
    pid = os.fork()
    if pid == 0:
        os._exit(7)
    _, status = os.waitpid(pid, 0)
    return threads, total, os.waitstatus_to_exitcode(status)


def test_a_task_runs_alone_in_its_process_and_can_fork(forkable: None) -> None:
    assert ray.get(forks.remote(), timeout=60) == (1, 55, 7)


@ray.remote
def sleeps() -> None:
    time.sleep(300)


@ray.remote
def waits_on_a_sleeper() -> None:
    ray.get(sleeps.remote())


def test_a_task_blocked_in_get_is_cancelled(forkable: None) -> None:
    ref = waits_on_a_sleeper.remote()
    time.sleep(1.0)
    ray.cancel(ref)
    with pytest.raises(TaskCancelledError):
        ray.get(ref, timeout=60)


@ray.remote
class Asker:
    def ask(self, x: int) -> tuple[int, int]:
        return threading.active_count(), ray.get(plus_one.remote(x))


def test_an_actor_calls_tasks(forkable: None) -> None:
    asker = Asker.remote()
    assert ray.get([asker.ask.remote(i) for i in range(3)], timeout=60) == [
        (1, 1), (1, 2), (1, 3)]


def _running_pid(name: str) -> int:
    from raylike.util.state import list_tasks

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        rows = [t for t in list_tasks(filters=[("name", "=", name)]) if t.state == "RUNNING"]
        if rows and rows[0].worker_pid:
            return int(rows[0].worker_pid)
        time.sleep(0.2)
    raise AssertionError(f"{name} never ran")


def test_the_process_ends_when_its_worker_dies() -> None:
    ray.init(num_cpus=1, include_dashboard=False, _system_config={"support_fork": True})
    try:
        sleeps.remote()
        child = _running_pid("sleeps")
        client: Any = ray._runtime.driver().client
        [worker] = client.run(os.getpid).values()
        os.kill(int(worker), signal.SIGKILL)
        deadline = time.monotonic() + 30
        while psutil.pid_exists(child) and \
                psutil.Process(child).status() != psutil.STATUS_ZOMBIE:
            assert time.monotonic() < deadline, "the task's process outlived its worker"
            time.sleep(0.1)
    finally:
        ray.shutdown()
