"""The text of a task error: Ray's ``ray::f() (pid=..., ip=...)`` header, only the user's frames
(with their source lines), the error of a failed argument or nested ``get`` inside, and an
actor's repr in the header of its methods' errors."""

from __future__ import annotations

import re

import pytest


def _normalised(text: str) -> str:
    """``text`` with what differs between runs and implementations replaced: pids, addresses,
    file names, line numbers, colours, object addresses; caret lines dropped."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", text)
    text = re.sub(r"pid=\d+", "pid=PID", text)
    text = re.sub(r"ip=[^,)]+", "ip=IP", text)
    text = re.sub(r'File "[^"]+", line \d+', 'File "FILE", line N', text)
    text = re.sub(r"actor_id=\w+", "actor_id=ID", text)
    text = re.sub(r" at 0x[0-9a-f]+>", " at ADDRESS>", text)
    lines = [line for line in text.strip("\n").split("\n")
             if not (line.strip() and set(line.strip()) <= set("^~"))]
    return "\n".join(lines)


def _fail(a):
    raise ValueError(f"failed with {a}")


def test_task_error_text(ray_shared):
    ray = ray_shared

    def helper(a):
        raise ValueError(f"bad value {a}")

    @ray.remote
    def task():
        a = 3
        return helper(a + 4)

    with pytest.raises(ValueError) as info:
        ray.get(task.remote(), timeout=60)
    assert _normalised(str(info.value)) == "\n".join([
        "ray::task() (pid=PID, ip=IP)",
        '  File "FILE", line N, in task',
        "    return helper(a + 4)",
        '  File "FILE", line N, in helper',
        '    raise ValueError(f"bad value {a}")',
        "ValueError: bad value 7",
    ])


def test_nested_get_error_text(ray_shared):
    ray = ray_shared

    @ray.remote
    def inner():
        return 1 / 0

    @ray.remote
    def outer():
        return ray.get(inner.remote())

    with pytest.raises(ZeroDivisionError) as info:
        ray.get(outer.remote(), timeout=60)
    assert isinstance(info.value, ray.exceptions.RayTaskError)
    assert _normalised(str(info.value)) == "\n".join([
        "ray::outer() (pid=PID, ip=IP)",
        '  File "FILE", line N, in outer',
        "    return ray.get(inner.remote())",
        "ray.exceptions.RayTaskError(ZeroDivisionError): ray::inner() (pid=PID, ip=IP)",
        '  File "FILE", line N, in inner',
        "    return 1 / 0",
        "ZeroDivisionError: division by zero",
    ])


def test_failed_argument_error_text(ray_shared):
    ray = ray_shared

    @ray.remote
    def source():
        raise ValueError("source failed")

    @ray.remote
    def consumer(value):
        return value

    with pytest.raises(ValueError) as info:
        ray.get(consumer.remote(source.remote()), timeout=60)
    assert isinstance(info.value, ray.exceptions.RayTaskError)
    assert _normalised(str(info.value)) == "\n".join([
        "ray::consumer() (pid=PID, ip=IP)",
        "  At least one of the input arguments for this task could not be computed:",
        "ray.exceptions.RayTaskError: ray::source() (pid=PID, ip=IP)",
        '  File "FILE", line N, in source',
        '    raise ValueError("source failed")',
        "ValueError: source failed",
    ])


def test_failed_argument_in_a_list_of_refs(ray_shared):
    ray = ray_shared

    @ray.remote
    def source():
        raise KeyError("gone")

    @ray.remote
    def consumer(value):
        return value

    @ray.remote
    def fine():
        return 1

    with pytest.raises(KeyError) as info:
        ray.get([fine.remote(), consumer.remote(source.remote())], timeout=60)
    text = _normalised(str(info.value))
    assert text.startswith("ray::consumer() (")
    assert "ray::source() (" in text


def test_actor_method_error_text(ray_shared):
    ray = ray_shared

    @ray.remote
    class Labelled:
        def __repr__(self):
            return "Labelled(7)"

        def fail(self):
            raise RuntimeError("in the actor")

    actor = Labelled.remote()
    with pytest.raises(RuntimeError) as info:
        ray.get(actor.fail.remote(), timeout=60)
    assert _normalised(str(info.value)) == "\n".join([
        "ray::Labelled.fail() (pid=PID, ip=IP, actor_id=ID, repr=Labelled(7))",
        '  File "FILE", line N, in fail',
        '    raise RuntimeError("in the actor")',
        "RuntimeError: in the actor",
    ])


def test_actor_default_repr_in_header(ray_shared):
    ray = ray_shared

    @ray.remote
    class Plain:
        def fail(self):
            raise RuntimeError("plain")

        def own_repr(self):
            return repr(self)

    actor = Plain.remote()
    with pytest.raises(RuntimeError) as info:
        ray.get(actor.fail.remote(), timeout=60)
    header = str(info.value).split("\n")[0]
    assert header.endswith(f"repr={ray.get(actor.own_repr.remote(), timeout=60)})")


def test_actor_constructor_error_text(ray_shared):
    ray = ray_shared

    def check(value):
        raise ValueError(value)

    @ray.remote
    class Failing:
        def __init__(self):
            check(3)

        def ping(self):
            return "pong"

    actor = Failing.remote()
    with pytest.raises(ray.exceptions.RayActorError) as info:
        ray.get(actor.ping.remote(), timeout=60)
    assert _normalised(str(info.value)) == "\n".join([
        "The actor died because of an error raised in its creation task, "
        "ray::Failing.__init__() (pid=PID, ip=IP, actor_id=ID, "
        "repr=<test_tracebacks.Failing object at ADDRESS>)",
        '  File "FILE", line N, in __init__',
        "    check(3)",
        '  File "FILE", line N, in check',
        "    raise ValueError(value)",
        "ValueError: 3",
    ])


def test_task_error_args_and_repr(ray_shared):
    ray = ray_shared

    @ray.remote
    def task():
        raise ValueError("the message")

    with pytest.raises(ValueError) as info:
        ray.get(task.remote(), timeout=60)
    err = info.value
    assert type(err).__name__ == "RayTaskError(ValueError)"
    assert len(err.args) == 1 and isinstance(err.args[0], ValueError)
    assert str(err.args[0]) == "the message"
    assert isinstance(err.cause, ValueError)
