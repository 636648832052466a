"""Exceptions that are not ``Exception`` (``SystemExit``, ``KeyboardInterrupt``, a bare
``BaseException``, exception groups) raised by tasks and actor methods: what ``get`` raises,
whether the process survives, and that the cluster keeps working."""

from __future__ import annotations

import os
import sys

import pytest

needs_groups = pytest.mark.skipif(sys.version_info < (3, 11),
                                  reason="exception groups are Python 3.11+")


EXCEPT_STAR = """
def split(call):
    caught = []
    try:
        call()
    except* ValueError as values:
        caught.append(("value", len(values.exceptions)))
    except* TypeError as types:
        caught.append(("type", len(types.exceptions)))
    return caught
"""


def _pid_task(ray):
    @ray.remote
    def pid():
        return os.getpid()

    return pid


# ----------------------------------------------------------------------------------------------
# tasks
# ----------------------------------------------------------------------------------------------

def test_system_exit_in_task_is_a_worker_crash(ray_shared):
    ray = ray_shared

    @ray.remote(max_retries=0)
    def leave(code):
        sys.exit(code)

    for code in (0, 3):  # the task's process exits, whatever the code
        with pytest.raises(ray.exceptions.WorkerCrashedError):
            ray.get(leave.remote(code), timeout=60)
    assert ray.get(_pid_task(ray).remote(), timeout=60) > 0


def test_system_exit_in_task_is_retried(ray_shared):
    ray = ray_shared

    @ray.remote(num_cpus=0)
    class Counter:
        def __init__(self):
            self.n = 0

        def incr(self):
            self.n += 1
            return self.n

    @ray.remote(max_retries=2)
    def exit_once(counter):
        if ray.get(counter.incr.remote()) == 1:
            sys.exit(1)
        return "second try"

    counter = Counter.remote()
    assert ray.get(exit_once.remote(counter), timeout=60) == "second try"


def test_keyboard_interrupt_in_task_is_a_cancellation(ray_shared):
    ray = ray_shared

    @ray.remote
    def interrupted():
        raise KeyboardInterrupt

    with pytest.raises(ray.exceptions.TaskCancelledError):
        ray.get(interrupted.remote(), timeout=60)
    assert ray.get(_pid_task(ray).remote(), timeout=60) > 0


def test_bare_base_exception_in_task_is_a_plain_task_error(ray_shared):
    ray = ray_shared

    @ray.remote(max_retries=0)
    def bare():
        raise BaseException("bare-base")

    with pytest.raises(ray.exceptions.RayTaskError) as info:
        ray.get(bare.remote(), timeout=60)
    assert "bare-base" in str(info.value)
    assert ray.get(_pid_task(ray).remote(), timeout=60) > 0


@needs_groups
def test_exception_group_in_task(ray_shared):
    ray = ray_shared

    @ray.remote
    def group():
        raise ExceptionGroup("several", [ValueError("v1"), TypeError("t1")])  # noqa: F821

    with pytest.raises(ray.exceptions.RayTaskError) as info:
        ray.get(group.remote(), timeout=60)
    err = info.value
    assert isinstance(err, ExceptionGroup)  # noqa: F821
    assert [type(e) for e in err.exceptions] == [ValueError, TypeError]
    assert str(err.exceptions[0]) == "v1"

    # ``except*`` on the caller's side (compiled here: it is a syntax error before 3.11)
    namespace: dict = {}
    exec(EXCEPT_STAR, namespace)  # noqa: S102
    caught = namespace["split"](lambda: ray.get(group.remote(), timeout=60))
    assert sorted(caught) == [("type", 1), ("value", 1)]


@needs_groups
@pytest.mark.parametrize("inner", ["base", "interrupt", "exit"])
def test_base_exception_group_in_task(ray_shared, inner):
    ray = ray_shared

    @ray.remote(max_retries=0)
    def group(kind):
        member = {"base": BaseException("member"), "interrupt": KeyboardInterrupt(),
                  "exit": SystemExit(2)}[kind]
        raise BaseExceptionGroup("base-group", [ValueError("v"), member])  # noqa: F821

    with pytest.raises(ray.exceptions.RayTaskError) as info:
        ray.get(group.remote(inner), timeout=60)
    assert not isinstance(info.value, BaseExceptionGroup)  # noqa: F821
    assert "base-group" in str(info.value)
    assert ray.get(_pid_task(ray).remote(), timeout=60) > 0


# ----------------------------------------------------------------------------------------------
# actors (a plain one and a threaded one; async actors hang in Ray for some of these)
# ----------------------------------------------------------------------------------------------

def _raiser(ray):
    @ray.remote
    class Raiser:
        def pid(self):
            return os.getpid()

        def interrupt(self):
            raise KeyboardInterrupt

        def bare(self):
            raise BaseException("bare-in-actor")

        def leave(self, code):
            sys.exit(code)

        def group(self):
            raise ExceptionGroup("actor-group", [ValueError("v")])  # noqa: F821

        def base_group(self):
            raise BaseExceptionGroup("actor-base-group", [BaseException("b")])  # noqa: F821

    return Raiser


ACTOR_KINDS = [{}, {"max_concurrency": 2}]


@pytest.mark.parametrize("options", ACTOR_KINDS, ids=["plain", "threaded"])
def test_keyboard_interrupt_in_actor_method(ray_shared, options):
    ray = ray_shared
    actor = _raiser(ray).options(**options).remote()
    pid = ray.get(actor.pid.remote(), timeout=60)
    with pytest.raises(ray.exceptions.TaskCancelledError):
        ray.get(actor.interrupt.remote(), timeout=60)
    assert ray.get(actor.pid.remote(), timeout=60) == pid  # the actor lives on


@pytest.mark.parametrize("options", ACTOR_KINDS, ids=["plain", "threaded"])
def test_bare_base_exception_in_actor_method(ray_shared, options):
    ray = ray_shared
    actor = _raiser(ray).options(**options).remote()
    pid = ray.get(actor.pid.remote(), timeout=60)
    with pytest.raises(ray.exceptions.RayTaskError, match="bare-in-actor"):
        ray.get(actor.bare.remote(), timeout=60)
    assert ray.get(actor.pid.remote(), timeout=60) == pid


@pytest.mark.parametrize("options", ACTOR_KINDS, ids=["plain", "threaded"])
@pytest.mark.parametrize("code", [0, 2])
def test_system_exit_in_actor_method_kills_it(ray_shared, options, code):
    ray = ray_shared
    actor = _raiser(ray).options(**options).remote()
    ray.get(actor.pid.remote(), timeout=60)
    with pytest.raises(ray.exceptions.ActorDiedError):
        ray.get(actor.leave.remote(code), timeout=60)
    with pytest.raises(ray.exceptions.ActorDiedError):
        ray.get(actor.pid.remote(), timeout=60)
    assert ray.get(_pid_task(ray).remote(), timeout=60) > 0


@needs_groups
@pytest.mark.parametrize("options", ACTOR_KINDS, ids=["plain", "threaded"])
def test_exception_groups_in_actor_method(ray_shared, options):
    ray = ray_shared
    actor = _raiser(ray).options(**options).remote()
    pid = ray.get(actor.pid.remote(), timeout=60)
    with pytest.raises(ray.exceptions.RayTaskError) as info:
        ray.get(actor.group.remote(), timeout=60)
    assert isinstance(info.value, ExceptionGroup)  # noqa: F821
    assert isinstance(info.value.exceptions[0], ValueError)
    with pytest.raises(ray.exceptions.RayTaskError, match="actor-base-group"):
        ray.get(actor.base_group.remote(), timeout=60)
    assert ray.get(actor.pid.remote(), timeout=60) == pid


@needs_groups
def test_exception_group_in_async_actor_method(ray_shared):
    ray = ray_shared

    @ray.remote
    class AsyncRaiser:
        async def group(self):
            raise ExceptionGroup("async-group", [KeyError("k")])  # noqa: F821

        async def ping(self):
            return "pong"

    actor = AsyncRaiser.remote()
    with pytest.raises(ray.exceptions.RayTaskError) as info:
        ray.get(actor.group.remote(), timeout=60)
    assert isinstance(info.value, ExceptionGroup)  # noqa: F821
    assert ray.get(actor.ping.remote(), timeout=60) == "pong"


# ----------------------------------------------------------------------------------------------
# a user's subclass of BaseException, and a user's class whose ``args`` is read-only
# ----------------------------------------------------------------------------------------------

def _user_classes():
    """Made in a function, so that they travel by value (the test module is not importable
    in a worker of real Ray)."""

    class UserBaseError(BaseException):
        """Derives from BaseException only, as a library's control-flow signal may."""

    class ReadOnlyArgsError(Exception):
        def __init__(self, text):
            self._text = text

        @property
        def args(self):
            return (self._text,)

        def __str__(self):
            return self._text

    return UserBaseError, ReadOnlyArgsError


def test_base_exception_subclass_keeps_its_type(ray_shared):
    ray = ray_shared
    UserBaseError, _ = _user_classes()  # noqa: N806

    @ray.remote(max_retries=0)
    def task():
        raise UserBaseError("from-task")

    @ray.remote
    def stream():
        yield 1
        raise UserBaseError("from-generator")

    @ray.remote
    class Actor:
        def call(self):
            raise UserBaseError("from-method")

        async def acall(self):
            raise UserBaseError("from-async-method")

    for ref, text in [(task.remote(), "from-task")]:
        with pytest.raises(UserBaseError) as info:
            ray.get(ref, timeout=60)
        assert isinstance(info.value, ray.exceptions.RayTaskError)
        assert text in str(info.value)
    gen = stream.remote()
    assert ray.get(next(gen), timeout=60) == 1
    with pytest.raises(UserBaseError):
        ray.get(next(gen), timeout=60)
    actor = Actor.remote()
    with pytest.raises(UserBaseError, match="from-method"):
        ray.get(actor.call.remote(), timeout=60)
    with pytest.raises(UserBaseError, match="from-async-method"):
        ray.get(actor.acall.remote(), timeout=60)
    assert ray.get(_pid_task(ray).remote(), timeout=60) > 0


def test_exception_with_read_only_args(ray_shared):
    ray = ray_shared
    _, ReadOnlyArgsError = _user_classes()  # noqa: N806

    @ray.remote(max_retries=0)
    def task():
        raise ReadOnlyArgsError("read-only")

    with pytest.raises(ReadOnlyArgsError) as info:
        ray.get(task.remote(), timeout=60)
    err = info.value
    assert isinstance(err, ray.exceptions.RayTaskError)
    assert "read-only" in str(err)
    assert isinstance(err.cause, ReadOnlyArgsError)
    assert err.args == (err.cause,)
