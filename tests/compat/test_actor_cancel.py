"""``ray.cancel`` of actor method calls, as Ray 2.60's ``ray.cancel`` docs and "Cancelling Actor
Tasks" page state it:

* a call that has not started is cancelled and its ref raises ``TaskCancelledError``;
* a running call of a sync or threaded actor is not interrupted: Ray sets a flag that
  ``ray.get_runtime_context().is_canceled()`` reads inside the call; its ref still raises
  ``TaskCancelledError``;
* a running call of an async actor has its asyncio task cancelled (the method sees
  ``asyncio.CancelledError``); ``is_canceled()`` is a ``RuntimeError`` in an async actor;
* ``force=True`` is a ``ValueError`` for an actor call; ``recursive`` decides whether the
  tasks the call submitted are cancelled too; a finished call is left alone.
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import time

import pytest
from compat_helpers import make_signal

pytestmark = pytest.mark.timeout(180)


def _checker(ray, **options):
    class Checker:
        """Its calls wait (at most 30 s) for ``ray.cancel`` to reach them."""

        def __init__(self):
            self.seen = []

        def wait_for_cancel(self, name, started, patience=30):
            ray.get(started.send.remote())
            deadline = time.monotonic() + patience
            while time.monotonic() < deadline:
                if ray.get_runtime_context().is_canceled():
                    self.seen.append(name)
                    return "saw the cancel"
                time.sleep(0.02)
            return "no cancel"

        def wait_for(self, name, signal, started):
            ray.get(started.send.remote())
            ray.get(signal.wait.remote())
            if ray.get_runtime_context().is_canceled():
                self.seen.append(name)
            return name

        def canceled_calls(self):
            return sorted(self.seen)

        def echo(self, value):
            return value

    return (ray.remote(**options)(Checker) if options else ray.remote(Checker)).remote()


def _sleeper(ray):
    @ray.remote
    class Sleeper:
        def __init__(self):
            self.started = asyncio.Event()
            self.log = []

        async def sleep(self, swallow=False):
            self.started.set()
            try:
                await asyncio.sleep(60)
            except asyncio.CancelledError:
                self.log.append("cancelled")
                if swallow:
                    return "swallowed"
                raise
            return "slept"

        async def wait_started(self):
            await self.started.wait()
            self.started.clear()

        async def wait_on(self, signal):
            await signal.wait.remote()
            return "async"

        async def history(self):
            return self.log

        async def is_canceled(self):
            return ray.get_runtime_context().is_canceled()

        async def echo(self, value):
            return value

    return Sleeper.remote()


# -- input checks -------------------------------------------------------------------------------
def test_force_is_a_value_error_for_actor_calls(ray_shared):
    ray = ray_shared
    sync_actor, async_actor = _checker(ray), _sleeper(ray)
    signal, started = make_signal(ray), make_signal(ray)
    refs = [sync_actor.wait_for.remote("sync", signal, started),
            async_actor.wait_on.remote(signal)]
    for ref in refs:
        with pytest.raises(ValueError, match="force=True is not supported"):
            ray.cancel(ref, force=True)
    ray.get(signal.send.remote())
    assert ray.get(refs, timeout=60) == ["sync", "async"]  # the refused cancel did nothing
    done = sync_actor.echo.remote(2)
    assert ray.get(done, timeout=30) == 2
    # Once the call has finished, Ray refuses force=True only while its owner still holds the
    # call's spec (racy: seen both ways on Ray 2.60); either way the value stays readable.
    try:
        ray.cancel(done, force=True)
    except ValueError as error:
        assert "force=True is not supported" in str(error)
    assert ray.get(done) == 2


def test_cancel_needs_an_object_ref(ray_shared):
    ray = ray_shared
    actor = _checker(ray)
    with pytest.raises(TypeError):
        ray.cancel(actor)
    with pytest.raises(TypeError):
        ray.cancel(actor.echo)


def test_cancelling_a_finished_call_does_nothing(ray_shared):
    ray = ray_shared
    actor = _sleeper(ray)
    refs = [actor.echo.remote(i) for i in range(2)]
    assert ray.get(refs, timeout=30) == [0, 1]
    for ref in refs:
        ray.cancel(ref)
    assert ray.get(refs) == [0, 1]
    assert ray.get(actor.echo.remote("still serving"), timeout=30) == "still serving"


# -- calls that have not started ----------------------------------------------------------------
def test_cancel_a_call_queued_behind_a_running_one(ray_shared):
    ray = ray_shared
    for actor in (_checker(ray), _checker(ray, max_concurrency=1)):
        started, signal = make_signal(ray), make_signal(ray)
        running = actor.wait_for.remote("running", signal, started)
        ray.get(started.wait.remote(), timeout=60)
        queued = actor.echo.remote("queued")
        ray.cancel(queued)
        ray.get(signal.send.remote())
        with pytest.raises(ray.exceptions.TaskCancelledError):
            ray.get(queued, timeout=30)
        assert ray.get(running, timeout=30) == "running"


def test_cancel_a_call_whose_argument_is_not_ready(ray_shared):
    ray = ray_shared
    signal = make_signal(ray)

    @ray.remote(num_cpus=0)
    def gated(sig):
        ray.get(sig.wait.remote())
        return "value"

    actor = _sleeper(ray)
    ref = actor.echo.remote(gated.remote(signal))
    ray.cancel(ref)
    with pytest.raises(ray.exceptions.TaskCancelledError):
        ray.get(ref, timeout=30)
    ray.get(signal.send.remote())
    assert ray.get(actor.echo.remote("next"), timeout=30) == "next"


# -- running calls --------------------------------------------------------------------------------
def test_running_sync_call_sees_is_canceled(ray_shared):
    ray = ray_shared
    actor, started = _checker(ray), make_signal(ray)
    ref = actor.wait_for_cancel.remote("only", started)
    ray.get(started.wait.remote(), timeout=60)
    ray.cancel(ref, recursive=False)
    with pytest.raises(ray.exceptions.TaskCancelledError):
        ray.get(ref, timeout=60)
    assert ray.get(actor.canceled_calls.remote(), timeout=30) == ["only"]  # it ran to its end
    assert ray.get(actor.echo.remote("later"), timeout=30) == "later"


def test_running_threaded_calls_only_the_cancelled_one_sees_it(ray_shared):
    ray = ray_shared
    actor = _checker(ray, max_concurrency=3)
    starts = [make_signal(ray) for _ in range(3)]
    # the others give up waiting after 3 s; the cancelled one has 30 s to see its cancel
    refs = [actor.wait_for_cancel.remote(i, starts[i], 30 if i == 1 else 3) for i in range(3)]
    ray.get([s.wait.remote() for s in starts], timeout=60)
    ray.cancel(refs[1], recursive=False)
    with pytest.raises(ray.exceptions.TaskCancelledError):
        ray.get(refs[1], timeout=60)
    assert ray.get([refs[0], refs[2]], timeout=60) == ["no cancel"] * 2
    assert ray.get(actor.canceled_calls.remote(), timeout=30) == [1]


def test_running_async_call_gets_cancelled_error(ray_shared):
    ray = ray_shared
    actor = _sleeper(ray)
    ray.get(actor.echo.remote("ready"), timeout=60)
    for swallow in (False, True):  # even a method that returns after the cancel: Ray raises
        ref = actor.sleep.remote(swallow)
        ray.get(actor.wait_started.remote(), timeout=30)
        start = time.monotonic()
        ray.cancel(ref)
        with pytest.raises(ray.exceptions.TaskCancelledError):
            ray.get(ref, timeout=30)
        assert time.monotonic() - start < 30  # well before its 60 s sleep
    assert ray.get(actor.history.remote(), timeout=30) == ["cancelled", "cancelled"]
    assert ray.get(actor.echo.remote("still serving"), timeout=30) == "still serving"


def test_cancelled_async_call_error_is_a_task_error_too(ray_shared):
    """A running async call's cancel fails it as a task error (``except RayTaskError`` catches
    it) whose cause is the cancel; a call cancelled before it ran gets the bare cancel error."""
    ray = ray_shared
    actor = _sleeper(ray)
    ray.get(actor.echo.remote("ready"), timeout=60)
    for swallow in (False, True):
        ref = actor.sleep.remote(swallow)
        ray.get(actor.wait_started.remote(), timeout=30)
        ray.cancel(ref)
        with pytest.raises(ray.exceptions.RayTaskError) as info:
            ray.get(ref, timeout=30)
        assert isinstance(info.value, ray.exceptions.TaskCancelledError)
        assert isinstance(info.value.cause, ray.exceptions.TaskCancelledError)

    checker = _checker(ray)
    started, signal = make_signal(ray), make_signal(ray)
    running = checker.wait_for.remote("running", signal, started)
    ray.get(started.wait.remote(), timeout=30)
    queued = checker.echo.remote("queued")
    ray.cancel(queued)
    # Ray may settle a queued call's cancel only once the call before it ends: free that one
    # first, then the queued call's error is the bare cancel error
    ray.get(signal.send.remote())
    assert ray.get(running, timeout=30) == "running"
    with pytest.raises(ray.exceptions.TaskCancelledError) as info:
        ray.get(queued, timeout=30)
    assert not isinstance(info.value, ray.exceptions.RayTaskError)


def test_is_canceled_is_refused_in_an_async_actor(ray_shared):
    ray = ray_shared
    actor = _sleeper(ray)
    with pytest.raises(RuntimeError, match="not supported in an async actor"):
        ray.get(actor.is_canceled.remote(), timeout=30)


# -- recursive ------------------------------------------------------------------------------------
@pytest.mark.parametrize("recursive", [True, False])
def test_recursive_reaches_what_the_call_submitted(ray_shared, recursive):
    ray = ray_shared
    signal = make_signal(ray)

    @ray.remote(num_cpus=0)
    def child(sig):
        ray.get(sig.wait.remote())
        return "child done"

    @ray.remote
    class Parent:
        def __init__(self):
            self.children = []
            self.started = asyncio.Event()

        async def run(self, sig):
            self.children.append(child.remote(sig))
            self.started.set()
            await sig.wait.remote()
            return await self.children[-1]

        async def wait_started(self):
            await self.started.wait()
            return [self.children[-1]]  # in a list: the ref itself, not its value

    parent = Parent.remote()
    ref = parent.run.remote(signal)
    [child_ref] = ray.get(parent.wait_started.remote(), timeout=60)
    ray.cancel(ref, recursive=recursive)
    with pytest.raises(ray.exceptions.TaskCancelledError):
        ray.get(ref, timeout=60)
    if recursive:  # the cancel reaches the child after its parent: wait for it, then free it
        ready, _ = ray.wait([child_ref], timeout=60)
        assert ready == [child_ref]
        ray.get(signal.send.remote())
        with pytest.raises(ray.exceptions.TaskCancelledError):
            ray.get(child_ref, timeout=60)
    else:
        ready, _ = ray.wait([child_ref], timeout=1.0)
        assert ready == []  # not cancelled: it waits for the signal
        ray.get(signal.send.remote())
        assert ray.get(child_ref, timeout=60) == "child done"



def test_recursive_cancel_of_a_chain_of_actor_calls_reaches_every_level(ray_shared):
    # each actor's call awaits a call to the next; a recursive cancel of the first reaches
    # the last before a signal sent right after ray.cancel lets it finish (Ray's own test)
    ray = ray_shared
    signal = make_signal(ray)

    @ray.remote
    class Link:
        def __init__(self, next_link=None):
            self.next_link = next_link
            self.next_ref = None

        async def run(self, sig):
            if self.next_link is None:
                await sig.wait.remote()
                return "end reached"
            self.next_ref = self.next_link.run.remote(sig)
            return await self.next_ref

        def next_call(self):
            return [self.next_ref]  # in a list: the ref itself, not its value

    last = Link.remote()
    middle = Link.remote(last)
    first = Link.remote(middle)
    ref = first.run.remote(signal)
    deadline = time.monotonic() + 60
    while ray.get(middle.next_call.remote(), timeout=60) == [None]:  # the chain is built
        assert time.monotonic() < deadline, "the chain of calls was not built"
        time.sleep(0.1)
    ray.cancel(ref, recursive=True)
    ray.get(signal.send.remote())
    [first_child] = ray.get(first.next_call.remote(), timeout=60)
    [middle_child] = ray.get(middle.next_call.remote(), timeout=60)
    for each in (ref, first_child, middle_child):
        with pytest.raises(ray.exceptions.TaskCancelledError):
            ray.get(each, timeout=60)

# -- cancelling while calls keep coming --------------------------------------------------------
def test_cancel_while_calls_are_submitted(ray_shared):
    ray = ray_shared

    @ray.remote(num_cpus=0)
    class Worker:
        async def sleep(self, i):
            await asyncio.sleep(60)  # every call is cancelled long before this ends
            return i

        async def echo(self, value):
            return value

    worker = Worker.remote()
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        futures = [pool.submit(worker.sleep.remote, i) for i in range(300)]
        refs = [f.result() for f in concurrent.futures.as_completed(futures)]
    start = time.monotonic()
    for ref in reversed(refs):
        ray.cancel(ref)
    for ref in refs:
        with pytest.raises(ray.exceptions.TaskCancelledError):
            ray.get(ref, timeout=60)
    assert time.monotonic() - start < 55  # none waited for its sleep to end
    assert ray.get(worker.echo.remote("later calls run"), timeout=30) == "later calls run"


def test_cancel_a_call_to_an_actor_not_placed_yet(ray_shared):
    """A call to an actor that cannot be placed waits on the caller's side; cancelling it
    makes its ``get`` raise ``TaskCancelledError`` at once (nothing was sent yet)."""
    ray = ray_shared

    @ray.remote(num_cpus=0, resources={"compat_nowhere": 1})
    class Unplaced:
        async def f(self):
            return "ran"

    actor = Unplaced.remote()
    ref = actor.f.remote()
    ray.cancel(ref)
    with pytest.raises(ray.exceptions.TaskCancelledError):
        ray.get(ref, timeout=60)
    ray.kill(actor)


def test_the_error_of_a_cancelled_queued_call_names_its_task_id(ray_shared):
    """``TaskCancelledError`` of a call cancelled while it waited names the call's task id,
    the one ``ref.task_id()`` gives."""
    ray = ray_shared
    signal = make_signal(ray)

    @ray.remote
    class Busy:
        async def hold(self, sig):
            await sig.wait.remote()

        async def quick(self):
            return "ran"

    busy = Busy.options(max_concurrency=1).remote()
    holding = busy.hold.remote(signal)
    queued = busy.quick.remote()
    ray.cancel(queued)
    with pytest.raises(ray.exceptions.TaskCancelledError, match=queued.task_id().hex()):
        ray.get(queued, timeout=60)
    ray.get(signal.send.remote())
    ray.get(holding, timeout=60)


def test_cancel_of_the_first_call_to_a_new_actor_while_it_runs(ray_shared, tmp_path):
    """The first call to an actor is cancelled while it runs (its caller has had no answer
    from the actor yet): the running coroutine is cancelled and the ref raises the task error
    of a running call, not the bare error of a call never sent."""
    ray = ray_shared
    started = tmp_path / "started"

    @ray.remote(num_cpus=0)
    class Fresh:
        async def run(self, path):
            import asyncio

            with open(path, "w"):
                pass
            try:
                await asyncio.sleep(60)
            except asyncio.CancelledError:
                return "swallowed"

    ref = Fresh.remote().run.remote(str(started))
    deadline = time.monotonic() + 60
    while not started.exists():
        assert time.monotonic() < deadline, "the call never started"
        time.sleep(0.05)
    ray.cancel(ref)
    with pytest.raises(ray.exceptions.RayTaskError) as info:
        ray.get(ref, timeout=30)
    assert isinstance(info.value, ray.exceptions.TaskCancelledError)
