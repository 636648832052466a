"""Concurrency groups and out-of-order execution, as Ray 2.60's "Limiting Concurrency Per-Method
with Concurrency Groups" and "Actor Task Execution Order" pages state them:

* ``@ray.remote(concurrency_groups={"io": 2, ...})`` gives each group its own limit (its own
  threads, or its own event loop for an async actor); ``@ray.method(concurrency_group=...)``
  puts a method in a group, ``.options(concurrency_group=...)`` one call; other methods are in
  the default group, limited by ``max_concurrency``; a full or blocked group never holds up
  another;
* ``concurrency_groups`` cannot be set in ``.options()``;
* ``allow_out_of_order_execution=True`` lets a sync actor run a call whose arguments are ready
  before an earlier one whose arguments are not; async and threaded actors may not set it to
  ``False`` (``ValueError`` when the actor is created).
"""
from __future__ import annotations

import asyncio
import threading

import pytest
from compat_helpers import make_signal, poll

pytestmark = pytest.mark.timeout(180)


def test_threaded_groups_have_their_own_limits(ray_shared):
    ray = ray_shared

    @ray.remote(concurrency_groups={"io": 2, "compute": 1})
    class Service:
        def __init__(self):
            self.release = threading.Event()
            self.lock = threading.Lock()
            self.running = {"io": 0, "compute": 0, "default": 0}
            self.peak = dict(self.running)

        def _enter(self, group):
            with self.lock:
                self.running[group] += 1
                self.peak[group] = max(self.peak[group], self.running[group])

        def _leave(self, group):
            with self.lock:
                self.running[group] -= 1

        @ray.method(concurrency_group="io")
        def io(self):
            self._enter("io")
            try:
                return self.release.wait(60)  # blocked until released
            finally:
                self._leave("io")

        @ray.method(concurrency_group="compute")
        def compute(self, x):
            return x * 2

        def default(self, x):
            return x + 1

        def running_io(self):
            return self.running["io"]

        def let_go(self):
            self.release.set()

        def peaks(self):
            return self.peak

    service = Service.remote()
    blocked = [service.io.remote() for _ in range(4)]
    poll(lambda: ray.get(service.running_io.remote(), timeout=30), 2)
    # io is full (2 running, 2 waiting): the default and compute groups still answer
    assert ray.get(service.default.remote(1), timeout=30) == 2
    assert ray.get(service.compute.remote(3), timeout=30) == 6
    assert ray.get(service.default.options(concurrency_group="compute").remote(5),
                   timeout=30) == 6
    ready, _ = ray.wait(blocked, num_returns=1, timeout=0.5)
    assert ready == []
    ray.get(service.let_go.remote(), timeout=30)
    assert ray.get(blocked, timeout=60) == [True] * 4
    assert ray.get(service.peaks.remote(), timeout=30)["io"] == 2


def test_a_call_put_in_a_full_group_waits_for_room(ray_shared):
    ray = ray_shared
    signal, started = make_signal(ray), make_signal(ray)

    @ray.remote(concurrency_groups={"one": 1})
    class Service:
        @ray.method(concurrency_group="one")
        def hold(self, sig, started):
            ray.get(started.send.remote())
            ray.get(sig.wait.remote())
            return "held"

        def echo(self, value):
            return value

    service = Service.remote()
    holder = service.hold.remote(signal, started)
    ray.get(started.wait.remote(), timeout=60)  # the group's only slot is now taken
    second = service.echo.options(concurrency_group="one").remote("second")
    ready, _ = ray.wait([second], timeout=1.0)
    assert ready == []  # the group's only slot is taken
    assert ray.get(service.echo.remote("default"), timeout=30) == "default"
    ray.get(signal.send.remote())
    assert ray.get([holder, second], timeout=60) == ["held", "second"]


def test_async_groups_run_on_their_own_loops(ray_shared):
    ray = ray_shared

    @ray.remote(concurrency_groups={"io": 1})
    class Service:
        def __init__(self):
            self.release = threading.Event()
            self.started = threading.Event()

        @ray.method(concurrency_group="io")
        async def blocking_io(self):
            self.started.set()
            return self.release.wait(60)  # blocks its loop's thread, not the default group's

        async def default(self, x):
            await asyncio.sleep(0)
            return x

        def io_started(self):
            return self.started.wait(30)

        def let_go(self):
            self.release.set()

    service = Service.remote()
    blocked = service.blocking_io.remote()
    assert ray.get(service.io_started.remote(), timeout=60)
    assert ray.get(service.default.remote("free"), timeout=30) == "free"
    ray.get(service.let_go.remote(), timeout=30)
    assert ray.get(blocked, timeout=60) is True


def test_async_group_limit(ray_shared):
    ray = ray_shared

    @ray.remote(concurrency_groups={"narrow": 2})
    class Service:
        def __init__(self):
            self.running = 0
            self.peak = 0

        @ray.method(concurrency_group="narrow")
        async def step(self):
            self.running += 1
            self.peak = max(self.peak, self.running)
            await asyncio.sleep(0.2)
            self.running -= 1

        async def peak_seen(self):
            return self.peak

    service = Service.remote()
    ray.get([service.step.remote() for _ in range(8)], timeout=60)
    # the group's own loop: ask it there (its counters are not shared with other loops' calls)
    assert ray.get(service.peak_seen.options(concurrency_group="narrow").remote(),
                   timeout=30) == 2


def test_concurrency_groups_are_refused_in_options(ray_shared):
    ray = ray_shared

    @ray.remote(concurrency_groups={"io": 1})
    class Service:
        def f(self):
            return 1

    with pytest.raises(ValueError, match="concurrency_groups"):
        Service.options(concurrency_groups={"other": 2})
    assert ray.get(Service.options(max_concurrency=2).remote().f.remote(), timeout=60) == 1


# -- allow_out_of_order_execution ------------------------------------------------------------------
def test_out_of_order_false_is_refused_for_async_and_threaded_actors(ray_shared):
    ray = ray_shared

    @ray.remote
    class AsyncActor:
        async def f(self):
            return 1

    @ray.remote
    class SyncActor:
        def f(self):
            return 1

    with pytest.raises(ValueError, match="allow_out_of_order_execution"):
        AsyncActor.options(allow_out_of_order_execution=False).remote()
    with pytest.raises(ValueError, match="allow_out_of_order_execution"):
        SyncActor.options(max_concurrency=2, allow_out_of_order_execution=False).remote()
    with pytest.raises(TypeError):
        SyncActor.options(allow_out_of_order_execution=1).remote()
    for handle in (AsyncActor.options(allow_out_of_order_execution=True).remote(),
                   SyncActor.options(allow_out_of_order_execution=False).remote(),
                   SyncActor.options(max_concurrency=2,
                                     allow_out_of_order_execution=True).remote()):
        assert ray.get(handle.f.remote(), timeout=60) == 1


def test_out_of_order_sync_actor_runs_calls_as_their_arguments_are_ready(ray_shared):
    ray = ray_shared
    signal = make_signal(ray)

    @ray.remote(num_cpus=0)
    def gated(sig):
        ray.get(sig.wait.remote())
        return "late"

    @ray.remote(allow_out_of_order_execution=True)
    class Recorder:
        def __init__(self):
            self.order = []

        def record(self, value):
            self.order.append(value)
            return value

        def history(self):
            return self.order

    recorder = Recorder.remote()
    first = recorder.record.remote(gated.remote(signal))
    second = recorder.record.remote("ready")
    assert ray.get(second, timeout=60) == "ready"  # it did not wait for the first's argument
    ready, _ = ray.wait([first], timeout=0.3)
    assert ready == []
    ray.get(signal.send.remote())
    assert ray.get(first, timeout=60) == "late"
    assert ray.get(recorder.history.remote(), timeout=30) == ["ready", "late"]


def test_a_group_of_zero_is_no_error_at_creation_but_the_actor_dies(ray_shared):
    """``concurrency_groups={"io": 0}``: creating the actor raises nothing in the caller (Ray
    reports "max_concurrency must be greater than 0" from the actor's process); the actor
    never starts, so its calls raise ``RayActorError``."""
    ray = ray_shared

    @ray.remote(concurrency_groups={"io": 0})
    class Never:
        def ping(self):
            return "pong"

    actor = Never.remote()
    with pytest.raises(ray.exceptions.RayActorError):
        ray.get(actor.ping.remote(), timeout=60)



def test_the_system_group_needs_no_declaration_and_runs_apart(ray_shared):
    # Ray's core worker gives every actor the group "_ray_system" (a thread of its own): a
    # call may name it in .options() without declaring it, and one blocked there holds up no
    # call of the default group
    ray = ray_shared
    signal, started = make_signal(ray), make_signal(ray)

    @ray.remote
    class Service:
        def hold(self, sig, started):
            ray.get(started.send.remote())
            ray.get(sig.wait.remote())
            return "held"

        def ping(self):
            return "pong"

    service = Service.remote()
    held = service.hold.options(concurrency_group="_ray_system").remote(signal, started)
    ray.get(started.wait.remote(), timeout=60)
    assert ray.get(service.ping.remote(), timeout=60) == "pong"
    ray.get(signal.send.remote())
    assert ray.get(held, timeout=60) == "held"
