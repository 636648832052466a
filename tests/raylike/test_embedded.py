"""The embedded cluster ``ray.init()`` starts: scripts without a main guard, process clean-up,
loopback-only sockets, CPU accounting, re-init."""
from __future__ import annotations

import importlib.util
import json
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil
import pytest

import raylike as ray

pytestmark = pytest.mark.timeout(120)

SCRIPT_TIMEOUT = 60


def _env() -> dict[str, str]:
    env = dict(os.environ)
    for name in ("RAY_ADDRESS", "DASK_SCHEDULER_ADDRESS"):
        env.pop(name, None)
    return env


def _run(cmd: list[str], cwd: Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, input=stdin, capture_output=True, text=True, cwd=cwd, env=_env(),
                          timeout=SCRIPT_TIMEOUT)


# Module-level code, no ``if __name__ == "__main__":`` guard: how every Ray example is written.
NO_GUARD = """\
import raylike as ray
{init}
@ray.remote
def f(x):
    return x * 2

print(ray.get([f.remote(i) for i in range(4)]))
"""


@pytest.mark.parametrize("init", ["ray.init(num_cpus=2, include_dashboard=False)", ""],
                         ids=["init", "auto-init"])
def test_script_without_main_guard(tmp_path: Path, init: str) -> None:
    script = tmp_path / "script.py"
    script.write_text(NO_GUARD.format(init=init))
    done = _run([sys.executable, str(script)], tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[0, 2, 4, 6]"


def test_python_c(tmp_path: Path) -> None:
    code = NO_GUARD.format(init="ray.init(num_cpus=2, include_dashboard=False)")
    done = _run([sys.executable, "-c", code], tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[0, 2, 4, 6]"


def test_script_from_stdin(tmp_path: Path) -> None:
    code = NO_GUARD.format(init="ray.init(num_cpus=2, include_dashboard=False)")
    done = _run([sys.executable, "-"], tmp_path, stdin=code)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[0, 2, 4, 6]"


def test_interactive_session(tmp_path: Path) -> None:
    # the interactive interpreter needs a blank line to end the function's block
    code = ("import raylike as ray\n"
            "_ = ray.init(num_cpus=2, include_dashboard=False)\n"
            "@ray.remote\n"
            "def f(x):\n"
            "    return x * 2\n"
            "\n"
            "print(ray.get([f.remote(i) for i in range(4)]))\n")
    done = _run([sys.executable, "-i"], tmp_path, stdin=code)
    assert done.returncode == 0, done.stderr
    assert "[0, 2, 4, 6]" in done.stdout.splitlines()


DRIVER_SHUTDOWN = """\
import json, os, time
import psutil
import raylike as ray

ray.init(num_cpus=2, include_dashboard=False)

@ray.remote
def f():
    return os.getpid()

task_pid = ray.get(f.remote())
me = psutil.Process()
started = [(p.pid, p.create_time()) for p in me.children(recursive=True)]
print("STARTED", json.dumps({"task_pid": task_pid, "procs": started}), flush=True)
ray.shutdown()
deadline = time.monotonic() + 5
while me.children(recursive=True) and time.monotonic() < deadline:
    time.sleep(0.1)
print("LEFT", len(me.children(recursive=True)), flush=True)
"""


def _line(stdout: str, tag: str) -> str:
    for line in stdout.splitlines():
        if line.startswith(tag + " "):
            return line[len(tag) + 1:]
    raise AssertionError(f"no {tag} line in the output:\n{stdout}")


def _kill_leftovers(procs: list[tuple[int, float]]) -> None:
    """SIGKILL those of ``procs`` (pid, create time) that still run: the test's clean-up."""
    for pid, created in procs:
        try:
            proc = psutil.Process(pid)
            if abs(proc.create_time() - created) < 0.01:
                proc.kill()
        except psutil.Error:
            pass


def test_shutdown_leaves_no_process(tmp_path: Path,
                                    wait_gone: Callable[[list[int], float], list[int]]) -> None:
    script = tmp_path / "driver.py"
    script.write_text(DRIVER_SHUTDOWN)
    done = _run([sys.executable, str(script)], tmp_path)
    assert done.returncode == 0, done.stderr
    started = json.loads(_line(done.stdout, "STARTED"))
    procs = [tuple(p) for p in started["procs"]]
    try:
        pids = [pid for pid, _ in procs]
        # the listing saw the whole tree: scheduler, worker, and the worker's task process
        assert len(pids) >= 3
        assert started["task_pid"] in pids
        assert int(_line(done.stdout, "LEFT")) == 0
        # and nothing escaped the tree (an orphan is re-parented, so not a child any more)
        assert wait_gone(pids, 5) == []
    finally:
        _kill_leftovers(procs)


DRIVER_KILLED = """\
import json, os, sys, time
import psutil
import raylike as ray

out = sys.argv[1]
ray.init(num_cpus=2, include_dashboard=False)

@ray.remote
def sleeper(path):
    with open(path + ".tmp", "w") as fh:
        fh.write(str(os.getpid()))
    os.replace(path + ".tmp", path)
    time.sleep(300)

ref = sleeper.remote(out + ".task")
deadline = time.monotonic() + 30
while not os.path.exists(out + ".task") and time.monotonic() < deadline:
    time.sleep(0.05)
task_pid = int(open(out + ".task").read())
procs = [(p.pid, p.create_time()) for p in psutil.Process().children(recursive=True)]
with open(out + ".tmp", "w") as fh:
    json.dump({"task_pid": task_pid, "procs": procs}, fh)
os.replace(out + ".tmp", out)
time.sleep(300)
"""


def test_killed_driver_leaves_no_orphan(tmp_path: Path,
                                        wait_gone: Callable[[list[int], float], list[int]]) -> None:
    script = tmp_path / "driver.py"
    script.write_text(DRIVER_KILLED)
    out = tmp_path / "pids.json"
    errors = tmp_path / "stderr.txt"
    with open(errors, "wb") as err:
        driver = subprocess.Popen([sys.executable, str(script), str(out)], cwd=tmp_path,
                                  env=_env(), stdin=subprocess.DEVNULL,
                                  stdout=subprocess.DEVNULL, stderr=err)
    procs: list[tuple[int, float]] = []
    try:
        deadline = time.monotonic() + SCRIPT_TIMEOUT
        while not out.exists():
            assert driver.poll() is None, errors.read_text()
            assert time.monotonic() < deadline, "the driver never started its task"
            time.sleep(0.1)
        started = json.loads(out.read_text())
        procs = [tuple(p) for p in started["procs"]]
        pids = [pid for pid, _ in procs]
        assert started["task_pid"] in pids  # a task is running when the driver dies
        assert len(pids) >= 3
        driver.send_signal(signal.SIGKILL)
        driver.wait(10)
        assert wait_gone(pids, 10) == [], "processes outlived their SIGKILLed driver"
    finally:
        if driver.poll() is None:
            driver.kill()
            driver.wait()
        _kill_leftovers(procs)


@ray.remote
def getpid() -> int:
    return os.getpid()


def test_listens_on_loopback_only(unused_address: str) -> None:
    """Every socket of the embedded cluster is bound to 127.0.0.1 (the dashboard's too:
    ``tests/raylike/test_dashboard.py``, run by ``tox -e dashboard`` where bokeh is installed)."""
    listening, ctx = loopback_sockets(include_dashboard=False)
    address = ctx.address_info["address"]
    assert ("127.0.0.1", int(address.rsplit(":", 1)[1])) in listening
    exposed = {addr: pid for addr, pid in listening.items() if addr[0] != "127.0.0.1"}
    assert exposed == {}, f"sockets not bound to 127.0.0.1 (address: pid): {exposed}"


def loopback_sockets(**init_kwargs: Any) -> tuple[dict[tuple[str, int], int], Any]:
    """Start the embedded cluster and a task; the listening sockets of its processes, and what
    ``init`` returned."""
    me = psutil.Process()
    before = {p.pid for p in me.children(recursive=True)}
    ctx = ray.init(num_cpus=2, **init_kwargs)
    address = ctx.address_info["address"]
    assert address.startswith("tcp://127.0.0.1:")
    task_pid = ray.get(getpid.remote(), timeout=30)  # every kind of process exists now
    cluster = [p for p in me.children(recursive=True) if p.pid not in before]
    assert task_pid in {p.pid for p in cluster}
    listening: dict[tuple[str, int], int] = {}
    for proc in cluster:
        for conn in proc.net_connections(kind="inet"):
            if conn.status == psutil.CONN_LISTEN:
                listening[(conn.laddr.ip, conn.laddr.port)] = proc.pid
    return listening, ctx


def test_init_is_quick() -> None:
    start = time.monotonic()
    ray.init(num_cpus=2, include_dashboard=False)
    assert time.monotonic() - start < 10
    assert ray.get(getpid.remote(), timeout=30) != os.getpid()


@ray.remote
def fib(n: int) -> int:
    if n < 2:
        return n
    return sum(ray.get([fib.remote(n - 1), fib.remote(n - 2)]))


@ray.remote
def spin(flag: str) -> int:
    while not os.path.exists(flag):
        time.sleep(0.01)
    return 1


def _poll(predicate: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def _available_cpu() -> float:
    return float(ray.available_resources().get("CPU", 0.0))


def test_cpu_accounting(tmp_path: Path) -> None:
    ray.init(num_cpus=2, include_dashboard=False)
    assert ray.cluster_resources()["CPU"] == 2.0
    # 41 tasks, most blocked in get: a blocked task's CPU goes back to the node, then is taken
    # again; at the end every CPU is free
    assert ray.get(fib.remote(7), timeout=90) == 13
    assert _poll(lambda: _available_cpu() == 2.0, 5), ray.available_resources()

    flag = str(tmp_path / "stop")
    spinning = [spin.remote(flag) for _ in range(2)]
    assert _poll(lambda: _available_cpu() == 0.0, 20), ray.available_resources()
    queued = getpid.remote()
    ready, _ = ray.wait([queued], timeout=1.0)
    assert ready == []  # no CPU left: the third task waits
    assert _available_cpu() == 0.0
    Path(flag).touch()
    assert ray.get(spinning, timeout=30) == [1, 1]
    assert isinstance(ray.get(queued, timeout=30), int)
    assert _poll(lambda: _available_cpu() == 2.0, 5), ray.available_resources()


def test_init_twice() -> None:
    ctx = ray.init(num_cpus=2, include_dashboard=False)
    with pytest.raises(RuntimeError, match="ignore_reinit_error"):
        ray.init(num_cpus=2, include_dashboard=False)
    assert ray.init(num_cpus=2, ignore_reinit_error=True) is ctx
    assert ray.is_initialized()
    assert isinstance(ray.get(getpid.remote(), timeout=30), int)  # the first cluster still works
    assert ray.cluster_resources()["CPU"] == 2.0


def test_no_dashboard() -> None:
    ctx: Any = ray.init(num_cpus=2, include_dashboard=False)
    assert ctx.dashboard_url is None
    assert ctx.address_info["webui_url"] is None



@pytest.mark.skipif(importlib.util.find_spec("bokeh") is not None,
                    reason="bokeh is installed: the dashboard's pages are served")
def test_dashboard_without_bokeh_starts_with_one_warning(caplog: pytest.LogCaptureFixture
                                                          ) -> None:
    """``include_dashboard=True`` where bokeh is missing: the cluster starts without the web
    pages (the state API needs none) and one warning says why."""
    # logging left as it is: caplog reaches the raylike logger however an earlier init left it
    with caplog.at_level(logging.WARNING, logger="raylike"):
        ctx: Any = ray.init(num_cpus=2, include_dashboard=True, configure_logging=False)
    said = [r.getMessage() for r in caplog.records if "bokeh" in r.getMessage()]
    assert len(said) == 1 and "pip install" in said[0], said
    assert ctx.dashboard_url is None
    assert ctx.address_info["webui_url"] is None
    assert isinstance(ray.get(getpid.remote(), timeout=30), int)

# refs still held by module globals when the interpreter exits (ray.shutdown() first, or not)
REFS_AT_EXIT = """\
import raylike as ray
ray.init(num_cpus=2, include_dashboard=False)

@ray.remote
def f():
    return 1

refs = [f.remote() for _ in range(3)]
assert ray.get(refs) == [1, 1, 1]
{shutdown}
print("done")
"""


@pytest.mark.parametrize("shutdown", ["ray.shutdown()", ""])
def test_exit_with_refs_still_held(tmp_path: Path, shutdown: str) -> None:
    script = tmp_path / "refs_at_exit.py"
    script.write_text(REFS_AT_EXIT.format(shutdown=shutdown))
    result = _run([sys.executable, str(script)], tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("done")


@pytest.mark.timeout(180)
def test_auto_joins_an_embedded_cluster_of_another_driver(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    """As Ray's legacy ``"auto"``: a second driver's ``init("auto")`` joins a cluster another
    driver's ``init()`` started (in the same session directory); the job table counts both
    jobs and marks the second ended once its driver left."""
    monkeypatch.setenv("RAYLIKE_SESSION_DIR", str(tmp_path))
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    monkeypatch.delenv("DASK_SCHEDULER_ADDRESS", raising=False)
    ray.init(num_cpus=1, include_dashboard=False)
    try:
        mine = ray.get_runtime_context().get_job_id()
        second = subprocess.run(
            [sys.executable, "-c", "import raylike as ray; ray.init('auto'); "
             "print('JOB', ray.get_runtime_context().get_job_id())"],
            capture_output=True, text=True, timeout=150, env=dict(os.environ))
        assert second.returncode == 0, second.stderr[-2000:]
        theirs = second.stdout.split("JOB ")[-1].strip()
        assert int.from_bytes(bytes.fromhex(theirs), "little") == \
            int.from_bytes(bytes.fromhex(mine), "little") + 1
        deadline = time.monotonic() + 30
        while True:
            jobs = {job["JobID"]: job for job in ray._private.state.jobs()}
            if jobs.get(theirs, {}).get("IsDead"):
                break
            assert time.monotonic() < deadline, jobs
            time.sleep(0.1)
        assert not jobs[mine]["IsDead"] and jobs[theirs]["EndTime"] >= jobs[theirs]["StartTime"]
    finally:
        ray.shutdown()
    assert not list((tmp_path / "embedded").glob("*"))  # the cluster's record went with it
