"""``ray.actor.exit_actor()``, an actor's intended exit against a crash, restarts, and killing an
actor that is busy."""

from __future__ import annotations

import json
import os
import sys
import time

import pytest
from compat_helpers import make_signal


def _until_alive(ray, method, *args, deadline=60.0):
    """Call ``method`` until the restarted actor answers (calls during a restart may fail)."""
    end = time.time() + deadline
    while True:
        try:
            return ray.get(method.remote(*args), timeout=30)
        except ray.exceptions.RayActorError:
            if time.time() > end:
                raise
            time.sleep(0.2)


# ----------------------------------------------------------------------------------------------
# exit_actor from the constructor
# ----------------------------------------------------------------------------------------------

def test_exit_actor_in_constructor(ray_shared):
    ray = ray_shared

    @ray.remote
    class LeavesAtOnce:
        def __init__(self):
            ray.actor.exit_actor()

        def ping(self):
            return "pong"

    actor = LeavesAtOnce.remote()
    for _ in range(2):
        with pytest.raises(ray.exceptions.ActorDiedError):
            ray.get(actor.ping.remote(), timeout=60)


def test_exit_actor_in_constructor_of_async_actor(ray_shared):
    ray = ray_shared

    @ray.remote
    class AsyncLeavesAtOnce:
        def __init__(self):
            ray.actor.exit_actor()

        async def ping(self):
            return "pong"

    actor = AsyncLeavesAtOnce.remote()
    with pytest.raises(ray.exceptions.ActorDiedError):
        ray.get(actor.ping.remote(), timeout=60)


def test_exit_actor_in_async_constructor(ray_shared):
    ray = ray_shared

    @ray.remote
    class AsyncInitLeaves:
        async def __init__(self):
            ray.actor.exit_actor()

        async def ping(self):
            return "pong"

    actor = AsyncInitLeaves.remote()
    with pytest.raises(ray.exceptions.ActorDiedError):
        ray.get(actor.ping.remote(), timeout=60)


def test_async_constructor_runs(ray_shared):
    ray = ray_shared

    @ray.remote
    class AsyncInit:
        async def __init__(self, value):
            import asyncio

            await asyncio.sleep(0.01)
            self.value = value

        async def get(self):
            return self.value

    assert ray.get(AsyncInit.remote(7).get.remote(), timeout=60) == 7


def test_exit_actor_in_task_started_by_constructor(ray_shared):
    ray = ray_shared

    @ray.remote
    def not_an_actor():
        ray.actor.exit_actor()

    @ray.remote
    class StartsTask:
        def __init__(self):
            ray.get(not_an_actor.remote())

        def ping(self):
            return "pong"

    # the task is no actor: exit_actor raises TypeError there, and the constructor fails
    actor = StartsTask.remote()
    with pytest.raises(ray.exceptions.ActorDiedError, match="exit_actor"):
        ray.get(actor.ping.remote(), timeout=60)


def test_exit_actor_in_task_is_type_error(ray_shared):
    ray = ray_shared

    @ray.remote
    def not_an_actor():
        ray.actor.exit_actor()

    with pytest.raises(TypeError, match="exit_actor"):
        ray.get(not_an_actor.remote(), timeout=60)


# ----------------------------------------------------------------------------------------------
# exit_actor from methods
# ----------------------------------------------------------------------------------------------

def test_calls_queued_behind_exit_actor_fail(ray_shared):
    ray = ray_shared

    @ray.remote
    class Leaver:
        def ping(self):
            return "pong"

        def leave_later(self):
            time.sleep(0.5)
            ray.actor.exit_actor()

    actor = Leaver.remote()
    assert ray.get(actor.ping.remote(), timeout=60) == "pong"
    leaving = actor.leave_later.remote()
    queued = [actor.ping.remote() for _ in range(3)]
    with pytest.raises(ray.exceptions.RayActorError):
        ray.get(leaving, timeout=60)
    for ref in queued:
        with pytest.raises(ray.exceptions.RayActorError):
            ray.get(ref, timeout=60)


def test_async_exit_actor_lets_running_calls_finish(ray_shared):
    ray = ray_shared

    @ray.remote
    class AsyncLeaver:
        async def slow(self):
            import asyncio

            await asyncio.sleep(1.0)
            return "finished"

        async def leave(self):
            ray.actor.exit_actor()

        async def ping(self):
            return "pong"

    actor = AsyncLeaver.remote()
    assert ray.get(actor.ping.remote(), timeout=60) == "pong"
    slow = actor.slow.remote()
    time.sleep(0.3)
    with pytest.raises(ray.exceptions.RayActorError):
        ray.get(actor.leave.remote(), timeout=60)
    assert ray.get(slow, timeout=60) == "finished"
    with pytest.raises(ray.exceptions.RayActorError):
        ray.get(actor.ping.remote(), timeout=60)


@pytest.mark.parametrize("how", ["exit_actor", "sys_exit_0"])
def test_intended_exit_is_not_restarted(ray_shared, how):
    ray = ray_shared

    @ray.remote(max_restarts=3)
    class Restartable:
        def ping(self):
            return os.getpid()

        def leave(self, how):
            if how == "exit_actor":
                ray.actor.exit_actor()
            sys.exit(0)

    actor = Restartable.remote()
    ray.get(actor.ping.remote(), timeout=60)
    with pytest.raises(ray.exceptions.RayActorError):
        ray.get(actor.leave.remote(how), timeout=60)
    time.sleep(1.0)  # a restart would have begun by now
    with pytest.raises(ray.exceptions.ActorDiedError):
        ray.get(actor.ping.remote(), timeout=60)


@pytest.mark.parametrize("how", ["os_exit", "sys_exit_1", "sys_exit_none"])
def test_crash_is_restarted_up_to_max_restarts(ray_shared, how):
    ray = ray_shared

    @ray.remote(max_restarts=2)
    class Crashy:
        def pid(self):
            return os.getpid()

        def crash(self, how):
            if how == "os_exit":
                os._exit(1)
            sys.exit(None if how == "sys_exit_none" else 1)  # only a code of 0 is intended

    actor = Crashy.remote()
    pids = [ray.get(actor.pid.remote(), timeout=60)]
    for _ in range(2):  # two restarts allowed: each brings a new process
        with pytest.raises(ray.exceptions.RayActorError):
            ray.get(actor.crash.remote(how), timeout=60)
        pids.append(_until_alive(ray, actor.pid))
    assert len(set(pids)) == 3
    with pytest.raises(ray.exceptions.RayActorError):
        ray.get(actor.crash.remote(how), timeout=60)
    with pytest.raises(ray.exceptions.ActorDiedError):
        ray.get(actor.pid.remote(), timeout=60)


def test_checkpointed_actor_restores_state_after_crash(ray_shared, tmp_path):
    """The pattern of Ray's actor fault-tolerance guide: the actor saves its state to a file
    after each change and reloads it when it is restarted."""
    ray = ray_shared
    checkpoint = str(tmp_path / "state.json")

    @ray.remote(max_restarts=-1, max_task_retries=-1)
    class Durable:
        def __init__(self, path):
            self.path = path
            self.state = {}
            if os.path.exists(path):
                with open(path) as f:
                    self.state = json.load(f)

        def update(self, key, value):
            self.state[key] = value
            with open(self.path, "w") as f:
                json.dump(self.state, f)

        def crash_once(self, marker):
            if not os.path.exists(marker):
                open(marker, "w").close()
                os._exit(1)
            return "retried"

        def get(self):
            return self.state

    actor = Durable.remote(checkpoint)
    ray.get([actor.update.remote("a", 1), actor.update.remote("b", 2)], timeout=60)
    # the call that crashed the actor is retried once it is back (max_task_retries)
    assert ray.get(actor.crash_once.remote(str(tmp_path / "crashed")), timeout=60) == "retried"
    assert ray.get(actor.get.remote(), timeout=60) == {"a": 1, "b": 2}
    ray.get(actor.update.remote("c", 3), timeout=60)
    assert ray.get(actor.get.remote(), timeout=60) == {"a": 1, "b": 2, "c": 3}


# ----------------------------------------------------------------------------------------------
# ray.kill of a busy actor
# ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["sync", "async", "threaded"])
def test_kill_actor_blocked_in_long_call(ray_shared, kind):
    ray = ray_shared

    @ray.remote
    class Busy:
        def ping(self):
            return "pong"

        def block(self):
            time.sleep(600)

    @ray.remote
    class AsyncBusy:
        async def ping(self):
            return "pong"

        async def block(self):
            time.sleep(600)  # blocks the actor's event loop too

    cls = AsyncBusy if kind == "async" else Busy
    actor = cls.options(max_concurrency=2).remote() if kind == "threaded" else cls.remote()
    assert ray.get(actor.ping.remote(), timeout=60) == "pong"
    blocked = actor.block.remote()
    time.sleep(0.5)
    start = time.time()
    ray.kill(actor)
    with pytest.raises(ray.exceptions.RayActorError):
        ray.get(blocked, timeout=60)
    with pytest.raises(ray.exceptions.RayActorError):
        ray.get(actor.ping.remote(), timeout=60)
    assert time.time() - start < 20


def _written(path, timeout=60.0):
    """The text of ``path`` once something was written there ("" if nothing was in time)."""
    end = time.time() + timeout
    while time.time() < end:
        if os.path.exists(path) and os.path.getsize(path) > 0:
            with open(path) as f:
                return f.read()
        time.sleep(0.05)
    return ""


def _shutdown_actor_class(ray):
    @ray.remote
    class Tidy:
        def __init__(self, path):
            import atexit

            self.path = path
            atexit.register(self.note, "atexit")

        def note(self, what):
            with open(self.path, "a") as f:
                f.write(what + "\n")

        def __ray_shutdown__(self):
            self.note("shutdown")

        def pid(self):
            return os.getpid()

    return Tidy


@pytest.mark.parametrize("how", ["terminate", "out_of_scope"])
def test_graceful_end_runs_ray_shutdown_then_atexit(ray_shared, tmp_path, how):
    ray = ray_shared
    path = str(tmp_path / "notes")
    actor = _shutdown_actor_class(ray).remote(path)
    ray.get(actor.pid.remote(), timeout=60)
    if how == "terminate":
        actor.__ray_terminate__.remote()
    else:
        del actor
    end = time.time() + 60
    while _written(path).split() != ["shutdown", "atexit"] and time.time() < end:
        time.sleep(0.05)
    assert _written(path).split() == ["shutdown", "atexit"]


def test_kill_runs_no_shutdown_hook(ray_shared, tmp_path):
    ray = ray_shared
    path = str(tmp_path / "notes")
    actor = _shutdown_actor_class(ray).remote(path)
    ray.get(actor.pid.remote(), timeout=60)
    ray.kill(actor)
    # Ray sends the kill asynchronously: a call made at once may still be answered.
    deadline = time.time() + 60
    with pytest.raises(ray.exceptions.RayActorError):
        while time.time() < deadline:
            ray.get(actor.pid.remote(), timeout=60)
            time.sleep(0.1)
    time.sleep(1)  # nothing may come late either
    assert not os.path.exists(path)


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_exit_actor_ends_the_actor_even_if_its_exit_is_caught(ray_shared, tmp_path, kind):
    """A method that catches what ``exit_actor()`` raises still ends the actor: its call
    raises ``RayActorError``, and later calls never run."""
    ray = ray_shared
    marker = str(tmp_path / "ran")

    @ray.remote
    class Catcher:
        def leave(self):
            try:
                ray.actor.exit_actor()
            except BaseException:  # SystemExit (sync) or AsyncioActorExit (async)
                pass
            return "stayed"

        def later(self):
            open(marker, "w").close()

    @ray.remote
    class AsyncCatcher:
        async def leave(self):
            try:
                ray.actor.exit_actor()
            except BaseException:
                pass
            return "stayed"

        async def later(self):
            open(marker, "w").close()

    actor = (Catcher if kind == "sync" else AsyncCatcher).remote()
    ray.get(actor.__ray_ready__.remote(), timeout=60)
    with pytest.raises(ray.exceptions.RayActorError):
        ray.get(actor.leave.remote(), timeout=60)
    with pytest.raises(ray.exceptions.RayActorError):
        ray.get(actor.later.remote(), timeout=60)
    assert not os.path.exists(marker)


def test_exit_actor_in_constructor_runs_atexit_handlers(ray_shared, tmp_path):
    """``exit_actor()`` in ``__init__`` ends the actor's process, so the ``atexit``
    handlers registered before it run; what follows it in ``__init__`` does not."""
    ray = ray_shared
    path = str(tmp_path / "atexit")
    after = str(tmp_path / "after")

    @ray.remote
    class Leaver:
        def __init__(self):
            import atexit

            atexit.register(lambda: open(path, "w").write("ran"))
            ray.actor.exit_actor()
            open(after, "w").close()

    actor = Leaver.remote()  # noqa: F841 - kept while the process ends
    assert _written(path) == "ran"
    assert not os.path.exists(after)


def test_exit_actor_in_an_asyncio_task_the_actor_started_ends_it(ray_shared, tmp_path):
    """``exit_actor()`` in an asyncio task an async actor started (outliving the call that
    started it) ends the actor: its ``atexit`` handlers run, what follows the call does not,
    and later calls fail."""
    ray = ray_shared
    path = str(tmp_path / "atexit")
    after = str(tmp_path / "after")

    @ray.remote
    class Leaver:
        def __init__(self):
            import atexit

            atexit.register(lambda: open(path, "w").write("ran"))

        async def start_exit(self, sig):
            import asyncio

            self.task = asyncio.create_task(self._exit(sig))

        async def _exit(self, sig):
            await sig.wait.remote()
            ray.actor.exit_actor()
            open(after, "w").close()

        def ping(self):
            return "pong"

    signal = make_signal(ray)
    actor = Leaver.remote()
    ray.get(actor.start_exit.remote(signal), timeout=60)
    assert ray.get(actor.ping.remote(), timeout=60) == "pong"
    ray.get(signal.send.remote(), timeout=60)
    assert _written(path) == "ran"
    deadline = time.monotonic() + 60
    with pytest.raises(ray.exceptions.RayActorError):
        while time.monotonic() < deadline:  # the actor's end reaches the caller soon after
            ray.get(actor.ping.remote(), timeout=60)
            time.sleep(0.1)
    assert not os.path.exists(after)


# ----------------------------------------------------------------------------------------------
# SIGTERM to a concurrent actor's process drains it
# ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["threaded", "asyncio"])
def test_sigterm_drains_a_concurrent_actor(ray_shared, kind):
    """The calls a threaded or async actor runs when its process gets SIGTERM finish (``get``
    still works in them); then the actor dies."""
    ray = ray_shared
    gate, started = make_signal(ray), make_signal(ray)
    value = ray.put("kept")

    class Base:
        def terminate(self):
            import signal

            os.kill(os.getpid(), signal.SIGTERM)

        def pid(self):
            return os.getpid()

    if kind == "threaded":
        class Drained(Base):
            def slow(self, nested):
                ray.get(started.send.remote())
                ray.get(gate.wait.remote())
                return ray.get(nested[0])

        actor = ray.remote(max_concurrency=2)(Drained).remote()
    else:
        class Drained(Base):
            async def slow(self, nested):
                await started.send.remote()
                await gate.wait.remote()
                return await nested[0]

        actor = ray.remote(Drained).remote()
    ray.get(actor.pid.remote(), timeout=60)
    running = actor.slow.remote([value])
    ray.get(started.wait.remote(), timeout=60)  # the call runs (it waits for the gate)
    ray.get(actor.terminate.remote(), timeout=60)
    ray.get(gate.send.remote(), timeout=60)
    assert ray.get(running, timeout=60) == "kept"
    deadline = time.monotonic() + 60
    with pytest.raises(ray.exceptions.RayActorError):
        while time.monotonic() < deadline:  # the process ends once the call is done
            ray.get(actor.pid.remote(), timeout=60)
            time.sleep(0.1)
