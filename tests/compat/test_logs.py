"""Logs: what tasks and actors print reaches the driver, each line prefixed ``(name pid=N)``.

Lines arrive asynchronously, so each test polls the captured output for a few seconds. Every
line carries a fresh token: the cluster is shared by the module's tests, and Ray folds lines
repeated by several processes into one.
"""
from __future__ import annotations

import re
import time
import uuid
from typing import Any

import pytest

pytestmark = pytest.mark.timeout(120)

WAIT_S = 15.0
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


class Output:
    """Everything captured so far on stdout and stderr, without colour codes."""

    def __init__(self, capfd: Any) -> None:
        self.capfd = capfd
        self.out = ""
        self.err = ""

    def read(self) -> None:
        out, err = self.capfd.readouterr()
        self.out += _ANSI.sub("", out)
        self.err += _ANSI.sub("", err)

    def wait_for(self, pattern: str, stream: str = "out", timeout: float = WAIT_S) -> re.Match:
        """The first match of ``pattern`` (a line) on ``stream``; fails after ``timeout``."""
        deadline = time.monotonic() + timeout
        while True:
            self.read()
            found = re.search(pattern, getattr(self, stream), re.MULTILINE)
            if found:
                return found
            if time.monotonic() > deadline:
                raise AssertionError(f"no line matching {pattern!r} on {stream} within "
                                     f"{timeout} s.\nstdout:\n{self.out}\nstderr:\n{self.err}")
            time.sleep(0.05)


def _token() -> str:
    return f"tok-{uuid.uuid4().hex[:12]}"


def _line(name: str, pid: int | str, message: str) -> str:
    """A forwarded line as Ray prints it (an ``, ip=...`` part only for another host)."""
    return rf"^\({re.escape(name)} pid={pid}(, ip=[^)]*)?\) {re.escape(message)}$"


def test_task_print_reaches_driver_stdout_with_prefix(ray_shared: Any, capfd: Any) -> None:
    ray = ray_shared
    token = _token()

    @ray.remote
    def f(token):
        import os

        print("hello", token)
        return os.getpid()

    pid = ray.get(f.remote(token), timeout=60)
    out = Output(capfd)
    out.wait_for(_line("f", pid, f"hello {token}"))
    assert token not in out.err


def test_task_name_option_is_the_prefix(ray_shared: Any, capfd: Any) -> None:
    ray = ray_shared
    token = _token()

    @ray.remote
    def f(token):
        import os

        print(token)
        return os.getpid()

    pid = ray.get(f.options(name="custom_name").remote(token), timeout=60)
    Output(capfd).wait_for(_line("custom_name", pid, token))


def test_many_lines_arrive_in_order(ray_shared: Any, capfd: Any) -> None:
    ray = ray_shared
    token = _token()

    @ray.remote
    def f(token):
        import os

        for i in range(50):
            print(f"{token} {i}")
        return os.getpid()

    pid = ray.get(f.remote(token), timeout=60)
    out = Output(capfd)
    out.wait_for(_line("f", pid, f"{token} 49"))
    numbers = [int(n) for n in re.findall(rf"{token} (\d+)$", out.out, re.MULTILINE)]
    assert numbers == list(range(50))


def test_nested_task_prints_under_its_own_name(ray_shared: Any, capfd: Any) -> None:
    ray = ray_shared
    token = _token()

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

    outer_pid, inner_pid = ray.get(outer.remote(token), timeout=60)
    out = Output(capfd)
    out.wait_for(_line("outer", outer_pid, f"outer {token}"))
    out.wait_for(_line("inner", inner_pid, f"inner {token}"))


def test_stderr_and_logging_go_to_stderr(ray_shared: Any, capfd: Any) -> None:
    ray = ray_shared
    token = _token()

    @ray.remote
    def f(token):
        import logging
        import os
        import sys

        print("to-stderr", token, file=sys.stderr)
        logging.getLogger("compat.logs").warning("logged %s", token)
        return os.getpid()

    pid = ray.get(f.remote(token), timeout=60)
    out = Output(capfd)
    out.wait_for(_line("f", pid, f"to-stderr {token}"), stream="err")
    out.wait_for(rf"^\(f pid={pid}(, ip=[^)]*)?\) .*logged {token}", stream="err")
    assert token not in out.out


def test_actor_print_has_class_name_prefix(ray_shared: Any, capfd: Any) -> None:
    ray = ray_shared
    token = _token()

    @ray.remote
    class Speaker:
        def say(self, token):
            import os

            print("said", token)
            return os.getpid()

    actor = Speaker.remote()
    pid = ray.get(actor.say.remote(token), timeout=60)
    Output(capfd).wait_for(_line("Speaker", pid, f"said {token}"))


def test_actor_with_repr_uses_it_as_prefix(ray_shared: Any, capfd: Any) -> None:
    ray = ray_shared
    token = _token()

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
    pid = ray.get(actor.say.remote(token), timeout=60)
    Output(capfd).wait_for(_line("Named(seven)", pid, token))


def test_threaded_and_async_actors_print_with_their_names(ray_shared: Any,
                                                          capfd: Any) -> None:
    ray = ray_shared
    token = _token()

    @ray.remote(max_concurrency=4)
    class Threaded:
        def say(self, token, i):
            import os
            import sys

            # one write per line: print() writes the text and the newline apart, so lines
            # printed by concurrent threads may interleave (in Ray as in any process)
            sys.stdout.write(f"threaded {token} {i}\n")
            return os.getpid()

    @ray.remote
    class Async:
        async def say(self, token):
            import os
            import sys

            print("async", token)
            print("async-err", token, file=sys.stderr)
            return os.getpid()

    threaded, async_actor = Threaded.remote(), Async.remote()
    pids = ray.get([threaded.say.remote(token, i) for i in range(4)], timeout=60)
    async_pid = ray.get(async_actor.say.remote(token), timeout=60)
    out = Output(capfd)
    for i in range(4):
        out.wait_for(_line("Threaded", pids[i], f"threaded {token} {i}"))
    out.wait_for(_line("Async", async_pid, f"async {token}"))
    out.wait_for(_line("Async", async_pid, f"async-err {token}"), stream="err")


@pytest.mark.parametrize("ray_start", [{"log_to_driver": False}], indirect=True)
def test_log_to_driver_false_shows_nothing(ray_start: Any, capfd: Any) -> None:
    ray = ray_start
    token = _token()

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
    time.sleep(3)  # time enough for forwarded lines to arrive
    out = Output(capfd)
    out.read()
    assert token not in out.out
    assert token not in out.err
