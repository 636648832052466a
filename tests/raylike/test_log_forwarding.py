"""Logs forwarded to the driver: on an existing Dask cluster, per job, promptly, and once."""
from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
import time
import uuid
from typing import Any

import pytest
from distributed import Client

import raylike as ray
from raylike._api import logs as _logs

pytestmark = pytest.mark.timeout(180)
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _token() -> str:
    return f"tok-{uuid.uuid4().hex[:12]}"


def _wait_for(capfd: Any, seen: dict[str, str], pattern: str, stream: str = "out",
              timeout: float = 15.0) -> None:
    """Poll the captured output until a line matches ``pattern`` (``seen`` accumulates it)."""
    deadline = time.monotonic() + timeout
    while True:
        out, err = capfd.readouterr()
        seen["out"] = seen.get("out", "") + _ANSI.sub("", out)
        seen["err"] = seen.get("err", "") + _ANSI.sub("", err)
        if re.search(pattern, seen[stream], re.MULTILINE):
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"no {pattern!r} on {stream}:\n{seen}")
        time.sleep(0.05)


@ray.remote
def shout(token):
    print("task", token)
    return os.getpid()


@ray.remote
def parent(token):
    print("parent", token)
    return os.getpid(), ray.get(shout.remote(token))


@ray.remote
def no_newline(token):
    print("partial", token, end="")
    return os.getpid()


@ray.remote
def configured_logging(token):
    import logging

    logging.basicConfig(format="%(levelname)s:%(name)s:%(message)s", level=logging.INFO)
    logging.getLogger("app").info("info %s", token)
    return os.getpid()


@ray.remote
def slow_talker(token):
    print("early", token, flush=False)
    time.sleep(6)
    return os.getpid()


@ray.remote
class Greeter:
    def __init__(self, token):
        print("built", token)

    def greet(self, token):
        print("greet", token, end="")  # a partial line, flushed when the call ends
        return os.getpid()


@ray.remote(max_concurrency=3)
class Threaded:
    def say(self, token, i):
        sys.stdout.write(f"threaded {token} {i}\n")  # print() may interleave across threads
        return os.getpid()


@ray.remote
class Async:
    async def say(self, token):
        print("async", token)
        return os.getpid()


def _line(name: str, pid: int, message: str) -> str:
    return rf"^\({re.escape(name)} pid={pid}\) {re.escape(message)}$"


def test_existing_cluster_forwards_tasks_and_actors(two_worker_cluster: Any,
                                                    capfd: Any) -> None:
    ray.init(address=two_worker_cluster.address)
    token, seen = _token(), {}
    parent_pid, child_pid = ray.get(parent.remote(token), timeout=60)
    greeter = Greeter.remote(token)
    greeter_pid = ray.get(greeter.greet.remote(token), timeout=60)
    threaded, async_actor = Threaded.remote(), Async.remote()
    threaded_pids = ray.get([threaded.say.remote(token, i) for i in range(3)], timeout=60)
    async_pid = ray.get(async_actor.say.remote(token), timeout=60)
    logging_pid = ray.get(configured_logging.remote(token), timeout=60)
    _wait_for(capfd, seen, _line("parent", parent_pid, f"parent {token}"))
    _wait_for(capfd, seen, _line("shout", child_pid, f"task {token}"))
    _wait_for(capfd, seen, _line("Greeter", greeter_pid, f"built {token}"))
    _wait_for(capfd, seen, _line("Greeter", greeter_pid, f"greet {token}"))
    for i, pid in enumerate(threaded_pids):
        _wait_for(capfd, seen, _line("Threaded", pid, f"threaded {token} {i}"))
    _wait_for(capfd, seen, _line("Async", async_pid, f"async {token}"))
    _wait_for(capfd, seen, _line("configured_logging", logging_pid, f"INFO:app:info {token}"),
              stream="err")


def test_partial_line_is_flushed_at_task_end(two_worker_cluster: Any, capfd: Any) -> None:
    ray.init(address=two_worker_cluster.address)
    token = _token()
    pid = ray.get(no_newline.remote(token), timeout=60)
    _wait_for(capfd, {}, _line("no_newline", pid, f"partial {token}"))


def test_line_arrives_while_the_task_runs(two_worker_cluster: Any, capfd: Any) -> None:
    ray.init(address=two_worker_cluster.address)
    token = _token()
    ray.get(shout.remote("warm-up"), timeout=60)  # a task process is ready
    started = time.monotonic()
    ref = slow_talker.remote(token)
    _wait_for(capfd, {}, rf"^\(slow_talker pid=\d+\) early {token}$", timeout=5.0)
    assert time.monotonic() - started < 3.0  # the task still sleeps: not flushed at its end
    assert ray.wait([ref], timeout=0)[0] == []


_OTHER_DRIVER = textwrap.dedent("""
    import sys, time
    import raylike as ray
    ray.init(address=sys.argv[1])

    @ray.remote
    def other_job(token):
        print("other", token)

    ray.get(other_job.remote(sys.argv[2]))
    time.sleep(3)
    ray.shutdown()
""")


def test_a_driver_sees_only_its_own_job(two_worker_cluster: Any, capfd: Any) -> None:
    ray.init(address=two_worker_cluster.address)
    token, mine = _token(), _token()
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    other = subprocess.run([sys.executable, "-c", _OTHER_DRIVER, two_worker_cluster.address,
                            token], capture_output=True, text=True, timeout=120, env=env)
    assert other.returncode == 0, other.stderr
    assert re.search(rf"^\(other_job pid=\d+\) other {token}$", _ANSI.sub("", other.stdout),
                     re.MULTILINE), other.stdout
    pid = ray.get(shout.remote(mine), timeout=60)
    seen: dict[str, str] = {}
    _wait_for(capfd, seen, _line("shout", pid, f"task {mine}"))
    assert token not in seen["out"] + seen["err"]


def test_the_scheduler_keeps_no_log_lines(two_worker_cluster: Any, capfd: Any) -> None:
    ray.init(address=two_worker_cluster.address)
    topic = _logs.topic(ray.get_runtime_context().get_job_id())
    token = _token()
    pid = ray.get(shout.remote(token), timeout=60)
    _wait_for(capfd, {}, _line("shout", pid, f"task {token}"))
    with Client(two_worker_cluster.address, set_as_default=False) as client:
        # Dask keeps the last 1,000 events of each topic: every job's for the cluster's life
        assert client.get_events(topic) == ()


_EMBEDDED = textwrap.dedent("""
    import raylike as ray

    @ray.remote
    def f(token):
        print("once", token)

    ray.init(num_cpus=1, include_dashboard=False)
    ray.get(f.remote(TOKEN))
    import time; time.sleep(1)
""")


def test_embedded_cluster_prints_each_line_once(tmp_path: Any) -> None:
    token = _token()
    script = tmp_path / "once.py"
    script.write_text(_EMBEDDED.replace("TOKEN", repr(token)))
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=120, env=env)
    assert done.returncode == 0, done.stderr
    lines = [line for line in (done.stdout + done.stderr).splitlines() if token in line]
    assert len(lines) == 1, done.stdout + done.stderr
    assert re.fullmatch(rf"\(f pid=\d+\) once {token}", _ANSI.sub("", lines[0]))


class _FakeBackend:
    def __init__(self) -> None:
        self.handler: Any = None

    def local_host(self) -> str:
        return "10.0.0.1"

    def subscribe(self, topic: str, handler: Any) -> None:
        self.handler = handler


def test_prefix_names_the_host_of_a_remote_node(capsys: Any) -> None:
    backend = _FakeBackend()
    _logs.Forwarder(backend, "job")
    # distinct lines: the same line from several sources would be folded (deduplication)
    for ip, word in (("10.0.0.1", "one"), ("127.0.0.1", "two"), ("203.0.113.7", "three")):
        # 203.0.113.7 is TEST-NET-3: not this host
        backend.handler((0.0, {"pid": 5, "name": "f", "err": False, "lines": [word], "ip": ip}))
    backend.handler((0.0, {"pid": 6, "name": "A", "err": True, "lines": ["a", "b"],
                           "ip": "10.0.0.1"}))
    out, err = capsys.readouterr()
    assert out.splitlines() == ["(f pid=5) one", "(f pid=5) two",
                                "(f pid=5, ip=203.0.113.7) three"]
    assert err.splitlines() == ["(A pid=6) a", "(A pid=6) b"]


def test_sink_splits_lines_across_writes_and_keeps_utf8_whole() -> None:
    import io

    sent: list[Any] = []
    outbox = _logs._Outbox(sent.append)
    outbox.name, outbox.job_id = "f", "job"
    original = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    sink = _logs.LineSink(outbox, False, original)
    data = b"one\ntw" + "o ✓".encode()[:-1]
    sink.write(data)
    sink.write("✓".encode()[-1:] + b"\nthree")
    sink.end_line()
    outbox.flush()
    lines = [line for message in sent for group in message[2] for line in group[3]]
    assert lines == ["one", "two ✓", "three"]
    assert {group[:3] for message in sent for group in message[2]} == {("job", "f", False)}
    original.flush()
    assert original.buffer.getvalue() == "one\ntwo ✓\nthree".encode()
