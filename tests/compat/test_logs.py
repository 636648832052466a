"""Logs: what tasks and actors print reaches the driver, each line prefixed ``(name pid=N)``.

Each test runs a small driver program in a subprocess (``import <module> as ray``, a cluster
of its own) and reads that program's stdout and stderr as a user's terminal would. Not
pytest's ``capfd``: the driver prints forwarded lines from a background thread, and a line
printed just as pytest closes one test's capture file can end that thread (Ray's log thread
dies on the ``ValueError`` of writing to a closed file), after which a cluster shared between
tests shows no more output. A subprocess also sees exactly what a user sees.

Lines arrive asynchronously, so the reader waits for each expected line. Every line carries a
fresh token: Ray folds lines repeated by several processes into one.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from typing import Any

import pytest

pytestmark = pytest.mark.timeout(180)

WAIT_S = 60.0  # generous: the machine may be busy, and a line must only arrive, not be fast
_ANSI = re.compile(r"\x1b\[[0-9;]*m")

_PROGRAM = """
import json, sys
import {module} as ray
ray.init(num_cpus=2, include_dashboard=False{init})
token = sys.argv[1]
{body}
# one write (print writes the line's end apart): a worker's log line printed meanwhile by the
# driver's log thread cannot land inside it
sys.stdout.write("RESULT " + json.dumps(result) + "\\n")
sys.stdout.flush()
sys.stdin.read()  # the test closes stdin once it has read what it waits for
ray.shutdown()
"""


class Driver:
    """A driver program running in a subprocess, its output read as it comes."""

    def __init__(self, module: str, body: str, init: str = "",
                 env: dict[str, str] | None = None) -> None:
        self.token = f"tok-{uuid.uuid4().hex[:12]}"
        program = _PROGRAM.format(module=module, init=init, body=textwrap.dedent(body))
        env = dict(os.environ, PYTHONUNBUFFERED="1", **(env or {}))
        self.proc = subprocess.Popen(
            [sys.executable, "-c", program, self.token], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        self.text = {"out": "", "err": ""}
        self._lock = threading.Lock()
        self._readers = [threading.Thread(target=self._read, args=(name, stream), daemon=True)
                         for name, stream in (("out", self.proc.stdout),
                                              ("err", self.proc.stderr))]
        for reader in self._readers:
            reader.start()

    def _read(self, name: str, stream: Any) -> None:
        for line in stream:
            with self._lock:
                self.text[name] += _ANSI.sub("", line)

    def output(self, stream: str) -> str:
        with self._lock:
            return self.text[stream]

    def wait_for(self, pattern: str, stream: str = "out", timeout: float = WAIT_S) -> re.Match:
        """The first match of ``pattern`` (a line) on ``stream``; fails after ``timeout`` or
        when the program ended without printing it."""
        deadline = time.monotonic() + timeout
        while True:
            found = re.search(pattern, self.output(stream), re.MULTILINE)
            if found:
                return found
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise AssertionError(
                    f"no line matching {pattern!r} on {stream} within {timeout} s "
                    f"(exit code {self.proc.poll()}).\nstdout:\n{self.output('out')}\n"
                    f"stderr:\n{self.output('err')}")
            time.sleep(0.05)

    def result(self) -> Any:
        """What the program's body put in ``result``."""
        return json.loads(self.wait_for(r"^RESULT (.*)$").group(1))

    def close(self) -> None:
        """Let the program shut down and end; kill it if it does not."""
        try:
            self.proc.stdin.close()
            self.proc.wait(timeout=60)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait()
        for reader in self._readers:
            reader.join(timeout=5)


@pytest.fixture
def driver(ray_module: Any):
    """Start driver programs against the module under test; each is ended after the test."""
    started: list[Driver] = []

    def start(body: str, init: str = "", env: dict[str, str] | None = None) -> Driver:
        program = Driver(ray_module.__name__, body, init, env)
        started.append(program)
        return program

    yield start
    for program in started:
        program.close()


def _line(name: str, pid: int | str, message: str) -> str:
    """A forwarded line as Ray prints it (an ``, ip=...`` part only for another host)."""
    return rf"^\({re.escape(name)} pid={pid}(, ip=[^)]*)?\) {re.escape(message)}$"


def test_task_print_reaches_driver_stdout_with_prefix(driver: Any) -> None:
    run = driver("""
        @ray.remote
        def f(token):
            import os
            print("hello", token)
            return os.getpid()

        result = ray.get(f.remote(token), timeout=60)
    """)
    pid = run.result()
    run.wait_for(_line("f", pid, f"hello {run.token}"))
    assert run.token not in run.output("err")


def test_task_name_option_is_the_prefix(driver: Any) -> None:
    run = driver("""
        @ray.remote
        def f(token):
            import os
            print(token)
            return os.getpid()

        result = ray.get(f.options(name="custom_name").remote(token), timeout=60)
    """)
    run.wait_for(_line("custom_name", run.result(), run.token))


def test_many_lines_arrive_in_order(driver: Any) -> None:
    run = driver("""
        @ray.remote
        def f(token):
            import os
            for i in range(50):
                print(f"{token} {i}")
            return os.getpid()

        result = ray.get(f.remote(token), timeout=60)
    """)
    run.wait_for(_line("f", run.result(), f"{run.token} 49"))
    numbers = [int(n) for n in re.findall(rf"{run.token} (\d+)$", run.output("out"),
                                          re.MULTILINE)]
    assert numbers == list(range(50))


def test_nested_task_prints_under_its_own_name(driver: Any) -> None:
    run = driver("""
        @ray.remote
        def inner(token):
            import os
            print("inner", token)
            return os.getpid()

        @ray.remote
        def outer(token):
            import os
            print("outer", token)
            return os.getpid(), ray.get(inner.remote(token))

        result = ray.get(outer.remote(token), timeout=60)
    """)
    outer_pid, inner_pid = run.result()
    run.wait_for(_line("outer", outer_pid, f"outer {run.token}"))
    run.wait_for(_line("inner", inner_pid, f"inner {run.token}"))


def test_stderr_and_logging_go_to_stderr(driver: Any) -> None:
    run = driver("""
        @ray.remote
        def f(token):
            import logging, os, sys
            print("to-stderr", token, file=sys.stderr)
            logging.getLogger("compat.logs").warning("logged %s", token)
            return os.getpid()

        result = ray.get(f.remote(token), timeout=60)
    """)
    pid = run.result()
    run.wait_for(_line("f", pid, f"to-stderr {run.token}"), stream="err")
    run.wait_for(rf"^\(f pid={pid}(, ip=[^)]*)?\) .*logged {run.token}", stream="err")
    assert run.token not in run.output("out")


def test_actor_print_has_class_name_prefix(driver: Any) -> None:
    run = driver("""
        @ray.remote
        class Speaker:
            def say(self, token):
                import os
                print("said", token)
                return os.getpid()

        actor = Speaker.remote()
        result = ray.get(actor.say.remote(token), timeout=60)
    """)
    run.wait_for(_line("Speaker", run.result(), f"said {run.token}"))


def test_actor_with_repr_uses_it_as_prefix(driver: Any) -> None:
    run = driver("""
        @ray.remote
        class Named:
            def __init__(self, label):
                self.label = label

            def __repr__(self):
                return f"Named({self.label})"

            def say(self, token):
                import os
                print(token)
                return os.getpid()

        actor = Named.remote("seven")
        result = ray.get(actor.say.remote(token), timeout=60)
    """)
    run.wait_for(_line("Named(seven)", run.result(), run.token))


def test_threaded_and_async_actors_print_with_their_names(driver: Any) -> None:
    run = driver("""
        @ray.remote(max_concurrency=4)
        class Threaded:
            def say(self, token, i):
                import os, sys
                # one write per line: print() writes the text and the newline apart, so
                # lines printed by concurrent threads may interleave (in Ray as anywhere)
                sys.stdout.write(f"threaded {token} {i}\\n")
                return os.getpid()

        @ray.remote
        class Async:
            async def say(self, token):
                import os, sys
                print("async", token)
                print("async-err", token, file=sys.stderr)
                return os.getpid()

        threaded, async_actor = Threaded.remote(), Async.remote()
        pids = ray.get([threaded.say.remote(token, i) for i in range(4)], timeout=60)
        result = [pids, ray.get(async_actor.say.remote(token), timeout=60)]
    """)
    pids, async_pid = run.result()
    for i in range(4):
        run.wait_for(_line("Threaded", pids[i], f"threaded {run.token} {i}"))
    run.wait_for(_line("Async", async_pid, f"async {run.token}"))
    run.wait_for(_line("Async", async_pid, f"async-err {run.token}"), stream="err")


def test_log_to_driver_false_shows_nothing(driver: Any) -> None:
    run = driver("""
        @ray.remote
        def f(token):
            import sys
            print("out", token)
            print("err", token, file=sys.stderr)

        @ray.remote
        class Quiet:
            def say(self, token):
                print("actor", token)

        ray.get(f.remote(token), timeout=60)
        ray.get(Quiet.remote().say.remote(token), timeout=60)
        result = "done"
    """, init=", log_to_driver=False")
    assert run.result() == "done"
    time.sleep(3)  # time enough for forwarded lines to arrive
    run.close()
    assert run.token not in run.output("out")
    assert run.token not in run.output("err")


def test_log_to_driver_defaults_to_the_environment_variable(driver: Any) -> None:
    run = driver("""
        @ray.remote
        def f(token):
            import sys
            print("out", token)
            print("err", token, file=sys.stderr)

        ray.get(f.remote(token), timeout=60)
        result = "done"
    """, env={"RAY_LOG_TO_DRIVER": "0"})
    assert run.result() == "done"
    time.sleep(3)  # time enough for forwarded lines to arrive
    run.close()
    assert run.token not in run.output("out")
    assert run.token not in run.output("err")


_SAME_LINE_FROM_FOUR_ACTORS = """
    @ray.remote(num_cpus=0)
    class Talker:
        def say(self, token, index):
            import os
            print("same words", token, f"n={index}")
            return os.getpid()

    talkers = [Talker.remote() for _ in range(4)]
    ray.get([t.__ray_ready__.remote() for t in talkers], timeout=60)
    result = ray.get([t.say.remote(token, i) for i, t in enumerate(talkers)], timeout=60)
"""


def test_a_line_printed_by_several_processes_is_shown_once_then_counted(driver: Any) -> None:
    """Ray's log deduplication: the first line at once, the rest folded into one line with
    ``[repeated 3x across cluster]`` (at the latest when the driver ends), and a note on how
    to turn it off."""
    run = driver(_SAME_LINE_FROM_FOUR_ACTORS, env={"RAY_DEDUP_LOGS_AGG_WINDOW_S": "60"})
    assert len(set(run.result())) == 4
    run.close()
    out = run.output("out")
    assert out.count("same words") == 2, out
    assert re.search(rf"same words {run.token} n=\d \[repeated 3x across cluster\]", out), out
    assert out.count("RAY_DEDUP_LOGS=0") == 1, out


def test_dedup_logs_0_shows_every_line(driver: Any) -> None:
    run = driver(_SAME_LINE_FROM_FOUR_ACTORS, env={"RAY_DEDUP_LOGS": "0"})
    pids = run.result()
    for index, pid in enumerate(pids):
        run.wait_for(_line("Talker", pid, f"same words {run.token} n={index}"))
    run.close()
    assert "repeated" not in run.output("out")
