"""Actors: creation, method calls, ordering, handles, naming, lifetime, concurrency, failures."""

from __future__ import annotations

import asyncio
import gc
import os
import threading
import time
import uuid

import numpy as np
import pytest
from compat_helpers import make_signal

# Anything that runs remotely (actor classes, functions) is defined inside the tests: module level
# objects are pickled by reference and the test module is not importable on workers.


def _make_counter_class(ray, **options):
    class Counter:
        def __init__(self, start=0):
            self.value = start

        def incr(self, by=1):
            self.value += by
            return self.value

        def get(self):
            return self.value

    return ray.remote(**options)(Counter) if options else ray.remote(Counter)




def _unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _call_until_alive(ray, method, *args, timeout=40.0):
    """Call ``method.remote(*args)`` until it stops raising RayActorError (actor restarting)."""
    deadline = time.time() + timeout
    while True:
        try:
            return ray.get(method.remote(*args), timeout=timeout)
        except ray.exceptions.RayActorError:
            if time.time() > deadline:
                raise
            time.sleep(0.1)


# ----------------------------------------------------------------------------------------------
# basics
# ----------------------------------------------------------------------------------------------


def test_create_actor_and_call_methods(ray_shared):
    ray = ray_shared

    @ray.remote
    class Counter:
        def __init__(self, start, *, step=1):
            self.value = start
            self.step = step

        def incr(self):
            self.value += self.step
            return self.value

        def add(self, a, b=0, *rest, **kw):
            self.value += a + b + sum(rest) + sum(kw.values())
            return self.value

    c = Counter.remote(10, step=5)
    ref = c.incr.remote()
    assert isinstance(ref, ray.ObjectRef)
    assert ray.get(ref) == 15
    assert ray.get(c.incr.remote()) == 20
    assert ray.get(c.add.remote(1, 2, 3, x=4)) == 30


def test_state_is_kept_between_calls(ray_shared):
    ray = ray_shared
    Counter = _make_counter_class(ray)
    a, b = Counter.remote(), Counter.remote(100)
    for _ in range(5):
        a.incr.remote()
    b.incr.remote(by=10)
    assert ray.get(a.get.remote()) == 5
    assert ray.get(b.get.remote()) == 110  # separate instances have separate state


def test_instantiating_actor_class_directly_raises_type_error(ray_shared):
    ray = ray_shared
    Counter = _make_counter_class(ray)
    with pytest.raises(TypeError):
        Counter()


def test_calling_method_directly_raises_type_error(ray_shared):
    ray = ray_shared
    Counter = _make_counter_class(ray)
    c = Counter.remote()
    with pytest.raises(TypeError):
        c.incr()


def test_unknown_method_raises_attribute_error(ray_shared):
    ray = ray_shared
    Counter = _make_counter_class(ray)
    c = Counter.remote()
    with pytest.raises(AttributeError):
        c.no_such_method.remote()


def test_wrong_constructor_or_method_arguments_raise_type_error(ray_shared):
    ray = ray_shared
    Counter = _make_counter_class(ray)
    with pytest.raises(TypeError):
        Counter.remote(1, 2, 3)
    c = Counter.remote()
    with pytest.raises(TypeError):
        c.get.remote(1)
    assert ray.get(c.get.remote()) == 0


def test_unknown_actor_option_raises_value_error(ray_shared):
    ray = ray_shared
    Counter = _make_counter_class(ray)
    with pytest.raises(ValueError):
        Counter.options(not_an_option=1)

    class Plain:
        pass

    with pytest.raises(ValueError):
        ray.remote(not_an_option=1)(Plain)


def test_method_refs_work_with_get_wait_and_as_task_arguments(ray_shared):
    ray = ray_shared
    Counter = _make_counter_class(ray)
    c = Counter.remote(1)
    refs = [c.incr.remote() for _ in range(3)]
    ready, not_ready = ray.wait(refs, num_returns=3, timeout=30)
    assert ready == refs and not_ready == []
    assert ray.get(refs) == [2, 3, 4]

    @ray.remote
    def double(x):
        return 2 * x

    assert ray.get(double.remote(c.get.remote())) == 8
    # and as arguments of other actor methods
    d = Counter.remote()
    assert ray.get(d.incr.remote(c.get.remote())) == 4


def test_ref_arguments_to_actor_methods(ray_shared):
    ray = ray_shared

    @ray.remote
    class Inspector:
        def __init__(self, base):
            self.base = base  # a top-level ref passed to the constructor arrives as its value

        def look(self, top, nested):
            return (
                self.base + top,
                isinstance(nested[0], ray.ObjectRef),
                ray.get(nested[0]),
            )

    insp = Inspector.remote(ray.put(100))
    assert ray.get(insp.look.remote(ray.put(1), [ray.put("n")])) == (101, True, "n")


def test_async_actor_awaits_refs(ray_shared):
    ray = ray_shared

    @ray.remote
    def slow_double(x):
        time.sleep(0.1)
        return 2 * x

    @ray.remote
    class Gatherer:
        async def total(self, n):
            values = await asyncio.gather(*[slow_double.remote(i) for i in range(n)])
            return sum(values)

        async def first(self, refs):
            return await refs[0]

    g = Gatherer.remote()
    assert ray.get(g.total.remote(5), timeout=30) == 20
    assert ray.get(g.first.remote([ray.put("awaited")]), timeout=30) == "awaited"


def test_calls_run_in_submission_order(ray_shared):
    ray = ray_shared

    @ray.remote
    class Log:
        def __init__(self):
            self.items = []

        def append(self, x):
            self.items.append(x)

        def items_(self):
            return self.items

    log = Log.remote()
    for i in range(2000):
        log.append.remote(i)
    assert ray.get(log.items_.remote(), timeout=50) == list(range(2000))


def test_method_num_returns(ray_shared):
    ray = ray_shared

    @ray.remote
    class Splitter:
        @ray.method(num_returns=2)
        def split(self, s):
            head, _, tail = s.partition(",")
            return head, tail

        def whole(self, s):
            return s.partition(",")

    sp = Splitter.remote()
    refs = sp.split.remote("a,b")
    assert isinstance(refs, list) and len(refs) == 2
    assert ray.get(refs) == ["a", "b"]
    assert ray.get(sp.whole.remote("a,b")) == ("a", ",", "b")
    # options on a method call can override num_returns too
    three = sp.whole.options(num_returns=3).remote("x,y")
    assert ray.get(three) == ["x", ",", "y"]


def test_low_level_remote_of_actor_class_and_method(ray_shared):
    ray = ray_shared

    @ray.remote
    class Pair:
        def __init__(self, x, y=0):
            self.x, self.y = x, y

        def parts(self, a, b=None):
            return self.x, self.y, a, b

    pair = Pair._remote(args=[1], kwargs={"y": 2})
    # ``_remote`` takes the arguments as a list and a dict, and options as ``.options()`` does
    refs = pair.parts._remote(args=["a"], kwargs={"b": "b"}, num_returns=4)
    assert ray.get(refs, timeout=60) == [1, 2, "a", "b"]
    assert ray.get(pair.parts._remote(args=["c"]), timeout=60) == (1, 2, "c", None)


def test_actor_method_retries_the_exceptions_it_lists(ray_shared):
    ray = ray_shared

    @ray.remote
    class Flaky:
        def __init__(self):
            self.calls = 0

        @ray.method(max_task_retries=3, retry_exceptions=[KeyError])
        def fail_first(self, n):
            self.calls += 1
            if self.calls <= n:
                raise KeyError(self.calls)
            return self.calls

        def fail_always(self):
            self.calls += 1
            raise ValueError(self.calls)

        def count(self):
            return self.calls

    flaky = Flaky.remote()
    assert ray.get(flaky.fail_first.remote(3), timeout=60) == 4  # three failures, retried
    flaky = Flaky.remote()
    with pytest.raises(KeyError):
        ray.get(flaky.fail_first.remote(10), timeout=60)
    assert ray.get(flaky.count.remote(), timeout=60) == 4  # one try and three retries
    flaky = Flaky.remote()
    with pytest.raises(ValueError):  # an error it does not list is not retried
        ray.get(flaky.fail_always.remote(), timeout=60)
    assert ray.get(flaky.count.remote(), timeout=60) == 1
    retried = flaky.fail_always.options(max_task_retries=2, retry_exceptions=True)
    with pytest.raises(ValueError):
        ray.get(retried.remote(), timeout=60)
    assert ray.get(flaky.count.remote(), timeout=60) == 4


def test_tasks_depending_on_an_unfinished_actor_call_are_submitted_at_once(ray_shared):
    ray = ray_shared
    signal = make_signal(ray)

    @ray.remote
    def echo(value):
        return value

    @ray.remote
    class Slow:
        def fail(self):
            raise ValueError("no")

    pending = signal.wait.remote()
    started = time.monotonic()
    # the call ends only once the signal is sent, after these submissions: none may wait for it
    refs = [echo.remote(pending) for _ in range(50)]
    assert time.monotonic() - started < 20
    ready, _ = ray.wait(refs, num_returns=len(refs), timeout=0.5)
    assert ready == []
    signal.send.remote()
    assert ray.get(refs, timeout=60) == [None] * 50
    # the call's error becomes the task's
    failed = echo.remote(Slow.remote().fail.remote())
    with pytest.raises(ValueError, match="no"):
        ray.get(failed, timeout=60)


# ----------------------------------------------------------------------------------------------
# handles
# ----------------------------------------------------------------------------------------------


def test_handle_passed_to_tasks(ray_shared):
    ray = ray_shared
    Counter = _make_counter_class(ray)
    c = Counter.remote()

    @ray.remote
    def bump(counter, n):
        for _ in range(n):
            ray.get(counter.incr.remote())
        return "bumped"

    assert ray.get([bump.remote(c, 3), bump.remote(c, 4)]) == ["bumped", "bumped"]
    assert ray.get(c.get.remote()) == 7


def test_tasks_in_turn_each_get_one_call_through_a_handle_in_their_arguments(ray_shared):
    ray = ray_shared
    Counter = _make_counter_class(ray)
    c = Counter.remote()

    @ray.remote
    def bump_top(counter):
        return ray.get(counter.incr.remote())

    @ray.remote
    def bump_nested(holder):
        return ray.get(holder[0].incr.remote())

    # many short tasks in a row, each waiting at once for the one call it made (the answer
    # may be in before or after the task asks for it: every one must reach the task)
    expected = 0
    for _ in range(60):
        expected += 2
        assert ray.get(bump_top.remote(c), timeout=60) == expected - 1
        assert ray.get(bump_nested.remote([c]), timeout=60) == expected
    assert ray.get(c.get.remote()) == expected


def test_method_invocation_decorator_wraps_each_submission(ray_shared):
    ray = ray_shared

    def wrap_submission(submit):
        def submit_reversed(args, kwargs):
            return submit(args[::-1], kwargs), "wrapped"

        return submit_reversed

    class Joiner:
        def join(self, *parts, sep="-"):
            return sep.join(parts)

        def plain(self, x):
            return x

    Joiner.join.__ray_invocation_decorator__ = wrap_submission
    j = ray.remote(Joiner).remote()
    ref, tag = j.join.remote("a", "b", "c", sep="+")
    assert tag == "wrapped"
    assert ray.get(ref, timeout=60) == "c+b+a"
    assert ray.get(j.plain.remote(5), timeout=60) == 5  # other methods are not wrapped

    @ray.remote
    def through_task(handle):  # the decorator travels with the handle
        ref, tag = handle.join.remote("x", "y")
        return ray.get(ref), tag

    assert ray.get(through_task.remote(j), timeout=60) == ("y-x", "wrapped")


def test_processes_are_titled_after_what_they_run(ray_shared):
    import psutil

    ray = ray_shared

    def title():
        return psutil.Process().cmdline()[0]

    @ray.remote
    class Titled:
        def __init__(self):
            self.at_init = title()

        def titles(self):
            return self.at_init, title()

        def later(self):
            return title()

    @ray.remote
    def plain():
        return title()

    t = Titled.remote()
    assert ray.get(t.titles.remote(), timeout=60) == ("ray::Titled.__init__", "ray::Titled.titles")
    assert ray.get(t.later.options(name="renamed").remote(), timeout=60) == "ray::renamed"
    assert ray.get(plain.remote(), timeout=60) == "ray::plain"
    assert ray.get(plain.options(name="other").remote(), timeout=60) == "ray::other"

    @ray.remote
    def short_name():  # the process's name (``comm``, 15 bytes) too, as setproctitle sets it
        return psutil.Process().name()

    assert ray.get(short_name.options(name="shrt").remote(), timeout=60) == "ray::shrt"


def test_handle_passed_to_other_actor(ray_shared):
    ray = ray_shared
    Counter = _make_counter_class(ray)
    c = Counter.remote()

    @ray.remote
    class User:
        def __init__(self, counter):
            self.counter = counter

        def use(self, n):
            return ray.get([self.counter.incr.remote() for _ in range(n)])[-1]

    u1, u2 = User.remote(c), User.remote(c)
    ray.get([u1.use.remote(2), u2.use.remote(3)])
    assert ray.get(c.get.remote()) == 5


def test_actor_created_in_task_and_returned(ray_shared):
    ray = ray_shared
    Counter = _make_counter_class(ray)

    @ray.remote
    def make_and_use():
        c = Counter.remote(40)
        ray.get(c.incr.remote())
        return c

    c = ray.get(make_and_use.remote())
    assert ray.get(c.incr.remote(by=1)) == 42


def test_actor_chain_blocking_calls(ray_shared):
    ray = ray_shared

    @ray.remote
    class Link:
        def __init__(self, name, nxt=None):
            self.name, self.nxt = name, nxt

        def path(self):
            if self.nxt is None:
                return [self.name]
            return [self.name] + ray.get(self.nxt.path.remote())

    c = Link.remote("C")
    b = Link.remote("B", c)
    a = Link.remote("A", b)
    assert ray.get(a.path.remote(), timeout=50) == ["A", "B", "C"]


# ----------------------------------------------------------------------------------------------
# concurrency
# ----------------------------------------------------------------------------------------------


def test_two_actors_run_in_parallel(ray_shared, tmp_path):
    """Two actors spin in pure Python at the same time, each until it sees the other running,
    in two processes (no shared GIL). No timing is asserted: a busy machine cannot fail it."""
    ray = ray_shared

    @ray.remote
    class Spinner:
        def spin_until_met(self, folder, me, other):
            open(os.path.join(folder, me), "w").close()
            deadline, spins = time.time() + 120, 0
            while not os.path.exists(os.path.join(folder, other)):
                spins += 1
                if spins % 10_000 == 0 and time.time() > deadline:
                    return None
            return os.getpid()

    a, b = Spinner.remote(), Spinner.remote()
    pids = ray.get([a.spin_until_met.remote(str(tmp_path), "a", "b"),
                    b.spin_until_met.remote(str(tmp_path), "b", "a")], timeout=150)
    assert None not in pids, "the two actors never ran at the same time"
    assert pids[0] != pids[1]


def test_sync_actor_runs_one_call_at_a_time(ray_shared):
    ray = ray_shared

    @ray.remote
    class Serial:
        def __init__(self):
            self.active = 0
            self.max_active = 0

        def work(self):
            self.active += 1
            self.max_active = max(self.max_active, self.active)
            time.sleep(0.02)
            self.active -= 1

        def peak(self):
            return self.max_active

    s = Serial.remote()
    ray.get([s.work.remote() for _ in range(10)])
    assert ray.get(s.peak.remote()) == 1


def test_async_actor_methods_run_concurrently(ray_shared):
    ray = ray_shared

    @ray.remote
    class Sleeper:
        async def nap(self, seconds):
            await asyncio.sleep(seconds)
            return seconds

    s = Sleeper.remote()
    ray.get(s.nap.remote(0))  # the actor is up
    t0 = time.time()
    assert ray.get([s.nap.remote(1) for _ in range(5)], timeout=30) == [1] * 5
    # one after the other this would take 5 s
    assert time.time() - t0 < 3


def test_async_actor_calls_can_wait_for_each_other(ray_shared):
    ray = ray_shared

    @ray.remote
    class Rendezvous:
        def __init__(self, n):
            self.n = n
            self.arrived = 0
            self.all_here = asyncio.Event()

        async def arrive(self):
            self.arrived += 1
            if self.arrived == self.n:
                self.all_here.set()
            try:
                await asyncio.wait_for(self.all_here.wait(), timeout=20)
            except asyncio.TimeoutError:
                return False
            return True

    r = Rendezvous.remote(5)
    # only possible if all five calls are in flight inside the actor at the same time
    assert ray.get([r.arrive.remote() for _ in range(5)], timeout=50) == [True] * 5


def test_async_actor_starts_a_call_only_when_a_slot_is_free(ray_shared):
    # max_concurrency=2: calls pair up, the second of a pair wakes the first, which then
    # resets the pair; the next call must start only after a call of the pair has ended and
    # what it woke has run (all eight calls sent at once)
    ray = ray_shared

    @ray.remote
    class Pairs:
        def __init__(self):
            self.in_pair = 0
            self.second_came = asyncio.Event()
            self.running = 0
            self.peak = 0

        async def join(self):
            self.running += 1
            self.peak = max(self.peak, self.running)
            try:
                self.in_pair += 1
                if self.in_pair == 2:
                    self.second_came.set()
                    return True
                try:
                    async with asyncio.timeout(20):
                        await self.second_came.wait()
                except TimeoutError:
                    return False
                self.second_came.clear()
                self.in_pair = 0
                return True
            finally:
                self.running -= 1

        def peak_seen(self):
            return self.peak

    pairs = Pairs.options(max_concurrency=2).remote()
    assert ray.get([pairs.join.remote() for _ in range(8)], timeout=120) == [True] * 8
    assert ray.get(pairs.peak_seen.remote(), timeout=30) == 2


def test_threaded_actor_max_concurrency(ray_shared):
    ray = ray_shared

    @ray.remote(max_concurrency=4)
    class Pool:
        def __init__(self):
            self.barrier = threading.Barrier(4, timeout=20)

        def meet(self):
            # a blocking call: returns only once four calls are waiting at the same time
            try:
                self.barrier.wait()
            except threading.BrokenBarrierError:
                return False
            return True

    p = Pool.remote()
    assert ray.get([p.meet.remote() for _ in range(4)], timeout=50) == [True] * 4


def test_threaded_actor_concurrency_via_options(ray_shared):
    ray = ray_shared

    @ray.remote
    class Sleeper:
        def nap(self, seconds):
            time.sleep(seconds)
            return seconds

    s = Sleeper.options(max_concurrency=4).remote()
    ray.get(s.nap.remote(0))
    t0 = time.time()
    assert ray.get([s.nap.remote(1) for _ in range(4)], timeout=30) == [1] * 4
    assert time.time() - t0 < 2.5  # one at a time this would take 4 s


def test_many_default_actors_fit_on_small_cluster(ray_shared):
    ray = ray_shared
    Counter = _make_counter_class(ray)
    # default actors need a CPU only to be placed, not while they live: six fit on two CPUs
    actors = [Counter.remote(i) for i in range(6)]
    assert ray.get([a.incr.remote() for a in actors], timeout=50) == [1, 2, 3, 4, 5, 6]
    for a in actors:
        ray.kill(a)


def test_actor_with_cpus_holds_them(ray_shared):
    ray = ray_shared
    Counter = _make_counter_class(ray, num_cpus=1)
    a, b = Counter.remote(), Counter.remote()
    ray.get([a.incr.remote(), b.incr.remote()])

    @ray.remote(num_cpus=1)
    def needs_cpu():
        return "ran"

    ref = needs_cpu.remote()
    ready, _ = ray.wait([ref], timeout=1.0)
    assert ready == []  # both CPUs are held by the actors
    ray.kill(a)
    assert ray.get(ref, timeout=30) == "ran"
    ray.kill(b)


# ----------------------------------------------------------------------------------------------
# named actors and namespaces
# ----------------------------------------------------------------------------------------------


def test_named_actor_and_get_actor(ray_shared):
    ray = ray_shared
    Counter = _make_counter_class(ray)
    name = _unique("counter")
    c = Counter.options(name=name).remote()
    ray.get(c.incr.remote())
    found = ray.get_actor(name)
    assert ray.get(found.incr.remote()) == 2  # same actor, same state
    assert ray.get(c.get.remote()) == 2
    ray.kill(c)


def test_get_actor_missing_name_raises_value_error(ray_shared):
    ray = ray_shared
    with pytest.raises(ValueError):
        ray.get_actor(_unique("missing"))


def test_duplicate_actor_name_raises_value_error(ray_shared):
    ray = ray_shared
    Counter = _make_counter_class(ray)
    name = _unique("dup")
    c = Counter.options(name=name).remote()
    with pytest.raises(ValueError):
        Counter.options(name=name).remote()
    assert ray.get(c.incr.remote()) == 1
    ray.kill(c)


def test_get_if_exists_returns_existing_actor(ray_shared):
    ray = ray_shared
    Counter = _make_counter_class(ray)
    name = _unique("singleton")
    first = Counter.options(name=name, get_if_exists=True).remote(10)
    ray.get(first.incr.remote())
    second = Counter.options(name=name, get_if_exists=True).remote(500)  # args ignored
    assert ray.get(second.incr.remote()) == 12
    assert ray.get(first.get.remote()) == 12
    ray.kill(first)


def test_namespaces_separate_names(ray_shared):
    ray = ray_shared
    Counter = _make_counter_class(ray)
    name = _unique("shared-name")
    ns_a, ns_b = _unique("ns-a"), _unique("ns-b")
    a = Counter.options(name=name, namespace=ns_a).remote(1)
    b = Counter.options(name=name, namespace=ns_b).remote(100)
    assert ray.get(ray.get_actor(name, namespace=ns_a).get.remote()) == 1
    assert ray.get(ray.get_actor(name, namespace=ns_b).get.remote()) == 100
    # not visible from the driver's own namespace
    with pytest.raises(ValueError):
        ray.get_actor(name)
    ray.kill(a)
    ray.kill(b)


def test_named_actor_reachable_from_task(ray_shared):
    ray = ray_shared
    Counter = _make_counter_class(ray)
    name = _unique("from-task")
    c = Counter.options(name=name).remote()

    @ray.remote
    def use(actor_name):
        return ray.get(ray.get_actor(actor_name).incr.remote(by=5))

    assert ray.get(use.remote(name)) == 5
    assert ray.get(c.get.remote()) == 5
    ray.kill(c)


def test_killed_actor_name_is_released(ray_shared):
    ray = ray_shared
    Counter = _make_counter_class(ray)
    name = _unique("reuse")
    c = Counter.options(name=name).remote()
    ray.get(c.incr.remote())
    ray.kill(c)
    deadline = time.time() + 30
    while True:
        try:
            ray.get_actor(name)
        except ValueError:
            break
        assert time.time() < deadline, "killed actor is still registered under its name"
        time.sleep(0.05)
    c2 = Counter.options(name=name).remote(7)
    assert ray.get(c2.get.remote()) == 7
    ray.kill(c2)


def test_handle_from_get_actor_does_not_keep_actor_alive(ray_shared):
    # a handle got by name is weak: the actor ends once its creator's handles are gone
    ray = ray_shared
    Counter = _make_counter_class(ray)
    name = _unique("weak")
    created = Counter.options(name=name).remote()
    assert ray.get(created.incr.remote()) == 1
    by_name = ray.get_actor(name)
    assert ray.get(by_name.incr.remote()) == 2
    del created
    deadline = time.time() + 60
    while True:
        try:
            ray.get_actor(name)
        except ValueError:
            break
        assert time.time() < deadline, "the actor outlived its creator's handle"
        time.sleep(0.1)
    assert by_name is not None  # still held while the actor went away


def _wait_until_gone(pid, timeout=60.0):
    deadline = time.time() + timeout
    while _pid_alive(pid):
        assert time.time() < deadline, f"the actor's process {pid} is still alive"
        time.sleep(0.1)


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie (ended, not yet reaped) is gone too
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_the_runtime_contexts_handle_to_an_actor_is_weak(ray_shared):
    # Ray: the handle an actor gets to itself from its runtime context does not keep it
    # alive, nor does it where the actor hands it on; the actor ends once the handles its
    # creator got are gone
    ray = ray_shared

    @ray.remote
    class Keeper:
        def keep(self, handle):
            self.handle = handle

    @ray.remote
    class Holder:
        def keep_self(self, keeper):
            self.me = ray.get_runtime_context().current_actor
            ray.get(keeper.keep.remote(self.me))
            return os.getpid()

    keeper, holder = Keeper.remote(), Holder.remote()
    pid = ray.get(holder.keep_self.remote(keeper))
    del holder
    _wait_until_gone(pid)
    assert keeper is not None


def test_a_handle_in_a_calls_arguments_is_let_go_when_the_call_ends(ray_shared):
    # an actor given another actor's handle for one call does not keep that actor alive once
    # the call has ended, even if no other call comes
    ray = ray_shared

    @ray.remote
    class User:
        def use(self, other):
            return ray.get(other.pid.remote())

    @ray.remote
    class Used:
        def pid(self):
            return os.getpid()

    user, used = User.remote(), Used.remote()
    pid = ray.get(user.use.remote(used))
    del used
    _wait_until_gone(pid)
    assert ray.get(user.use.remote(Used.remote())) != pid


def test_a_crashed_actors_name_stays_taken_while_a_handle_exists(ray_shared):
    # Ray 2.60: the name of a (non-detached) actor that died of itself is free again once its
    # handles are gone, or once it is killed with ray.kill; until then, creating another actor
    # with that name raises ValueError
    ray = ray_shared
    name = _unique("crashed")

    @ray.remote(max_restarts=0)
    class Fragile:
        def pid(self):
            return os.getpid()

        def crash(self):
            os._exit(1)

    first = Fragile.options(name=name).remote()
    pid = ray.get(first.pid.remote())
    first.crash.remote()
    _wait_until_gone(pid)
    with pytest.raises(ray.exceptions.RayActorError):
        ray.get(first.pid.remote(), timeout=60)
    with pytest.raises(ValueError):
        Fragile.options(name=name).remote()
    del first
    deadline = time.time() + 60
    while True:
        try:
            second = Fragile.options(name=name).remote()
            break
        except ValueError:
            assert time.time() < deadline, "the name stayed taken after the handle went"
            time.sleep(0.1)
    pid = ray.get(second.pid.remote())
    second.crash.remote()
    _wait_until_gone(pid)
    with pytest.raises(ray.exceptions.RayActorError):
        ray.get(second.pid.remote(), timeout=60)
    ray.kill(second)  # frees the name at once, the handle still held
    deadline = time.time() + 60
    while True:
        try:
            third = Fragile.options(name=name).remote()
            break
        except ValueError:
            assert time.time() < deadline, "ray.kill did not free the dead actor's name"
            time.sleep(0.1)
    assert ray.get(third.pid.remote(), timeout=60) != pid
    assert second is not None
    ray.kill(third)


# ----------------------------------------------------------------------------------------------
# lifetime and failures
# ----------------------------------------------------------------------------------------------


def test_kill_makes_later_calls_raise(ray_shared):
    ray = ray_shared
    Counter = _make_counter_class(ray)
    c = Counter.remote()
    assert ray.get(c.incr.remote()) == 1
    ray.kill(c)
    # ray.kill is asynchronous: a call racing with it may still be served, but the actor is
    # gone shortly after and from then on every call fails
    deadline = time.time() + 30
    while True:
        try:
            ray.get(c.incr.remote(), timeout=30)
        except ray.exceptions.RayActorError:
            break
        assert time.time() < deadline, "killed actor keeps answering"
        time.sleep(0.05)
    for _ in range(3):
        with pytest.raises(ray.exceptions.ActorDiedError):
            ray.get(c.get.remote(), timeout=30)


@pytest.mark.parametrize("ray_start", [{"num_cpus": 1}], indirect=True)
def test_kill_allowing_restart_spends_a_restart_even_before_the_actor_started(ray_start):
    ray = ray_start

    @ray.remote(num_cpus=1)
    class Holder:
        def ping(self):
            return "pong"

    # killed at once, maybe before its process exists: the kill still costs its one restart
    h = Holder.options(max_restarts=1, max_task_retries=-1).remote()
    ray.kill(h, no_restart=False)
    assert ray.get(h.ping.remote(), timeout=60) == "pong"
    ray.kill(h, no_restart=False)  # no restart left: this one is for good
    deadline = time.time() + 60
    while True:
        try:
            ray.get(h.ping.remote(), timeout=60)
        except ray.exceptions.ActorDiedError:
            break
        assert time.time() < deadline, "actor out of restarts keeps answering"
        time.sleep(0.05)
    # and it gave its CPU back: another 1-CPU actor runs on the 1-CPU cluster
    other = Holder.remote()
    assert ray.get(other.ping.remote(), timeout=60) == "pong"


def test_kill_fails_in_flight_call(ray_shared):
    ray = ray_shared
    signal = make_signal(ray)

    @ray.remote
    class Waiter:
        def block(self, sig):
            ray.get(sig.wait.remote())
            return "unblocked"

        def ping(self):
            return "pong"

    w = Waiter.remote()
    assert ray.get(w.ping.remote()) == "pong"
    ref = w.block.remote(signal)
    ready, _ = ray.wait([ref], timeout=0.3)
    assert ready == []
    ray.kill(w)
    with pytest.raises(ray.exceptions.RayActorError):
        ray.get(ref, timeout=30)
    ray.get(signal.send.remote())


def test_cancel_queued_actor_call(ray_shared):
    ray = ray_shared
    signal = make_signal(ray)

    @ray.remote
    class Worker:
        def __init__(self):
            self.done = []

        def block(self, sig):
            ray.get(sig.wait.remote())
            self.done.append("block")

        def record(self, name):
            self.done.append(name)
            return name

        def history(self):
            return self.done

    w = Worker.remote()
    assert ray.get(w.record.remote("first")) == "first"
    blocker = w.block.remote(signal)
    queued = [w.record.remote(f"q{i}") for i in range(3)]
    ready, _ = ray.wait([blocker], timeout=0.3)
    assert ready == []
    ray.cancel(queued[1])  # not started: its ref raises (Ray may still run the method)
    ray.get(signal.send.remote())
    ray.get(blocker, timeout=30)
    with pytest.raises(ray.exceptions.TaskCancelledError):
        ray.get(queued[1], timeout=30)
    assert ray.get([queued[0], queued[2]], timeout=30) == ["q0", "q2"]
    history = ray.get(w.history.remote())
    assert [h for h in history if h != "q1"] == ["first", "block", "q0", "q2"]


def test_kill_non_actor_raises_value_error(ray_shared):
    ray = ray_shared
    with pytest.raises(ValueError):
        ray.kill(ray.put(1))


def test_exit_actor_from_inside(ray_shared):
    ray = ray_shared

    @ray.remote
    class Quitter:
        def ping(self):
            return "pong"

        def quit(self):
            ray.actor.exit_actor()

    q = Quitter.remote()
    assert ray.get(q.ping.remote()) == "pong"
    with pytest.raises(ray.exceptions.RayActorError):
        ray.get(q.quit.remote(), timeout=30)
    with pytest.raises(ray.exceptions.RayActorError):
        ray.get(q.ping.remote(), timeout=30)


def test_exit_actor_outside_actor_raises_type_error(ray_shared):
    ray = ray_shared
    with pytest.raises(TypeError):
        ray.actor.exit_actor()


def test_exception_in_method_keeps_actor_alive(ray_shared):
    ray = ray_shared

    @ray.remote
    class Fragile:
        def __init__(self):
            self.calls = 0

        def risky(self, fail):
            self.calls += 1
            if fail:
                raise ValueError(f"call {self.calls} failed")
            return self.calls

    f = Fragile.remote()
    assert ray.get(f.risky.remote(False)) == 1
    with pytest.raises(ValueError, match="call 2 failed") as info:
        ray.get(f.risky.remote(True))
    assert isinstance(info.value, ray.exceptions.RayTaskError)
    assert not isinstance(info.value, ray.exceptions.RayActorError)
    # the actor keeps serving, with its state intact
    assert ray.get(f.risky.remote(False)) == 3


def test_exception_in_constructor(ray_shared):
    ray = ray_shared

    @ray.remote
    class Broken:
        def __init__(self):
            raise ValueError("constructor-exploded")

        def ping(self):
            return "pong"

    b = Broken.remote()  # creating the handle itself does not raise
    with pytest.raises(ray.exceptions.ActorDiedError) as info:
        ray.get(b.ping.remote(), timeout=30)
    assert isinstance(info.value, ray.exceptions.RayActorError)
    assert "constructor-exploded" in str(info.value)
    with pytest.raises(ray.exceptions.RayActorError):
        ray.get(b.ping.remote(), timeout=30)


def test_actor_process_crash_without_restart(ray_shared):
    ray = ray_shared

    @ray.remote
    class Crashy:
        def ping(self):
            return "pong"

        def crash(self):
            os._exit(1)

    c = Crashy.remote()
    assert ray.get(c.ping.remote()) == "pong"
    with pytest.raises(ray.exceptions.RayActorError):
        ray.get(c.crash.remote(), timeout=30)
    with pytest.raises(ray.exceptions.ActorDiedError):
        ray.get(c.ping.remote(), timeout=30)


def test_actor_restarts_with_fresh_state(ray_shared):
    ray = ray_shared

    @ray.remote(max_restarts=1)
    class Phoenix:
        def __init__(self):
            self.count = 0
            self.pid = os.getpid()

        def incr(self):
            self.count += 1
            return self.count, self.pid

        def crash(self):
            os._exit(1)

    p = Phoenix.remote()
    ray.get(p.incr.remote())
    assert ray.get(p.incr.remote())[0] == 2
    old_pid = ray.get(p.incr.remote())[1]

    with pytest.raises(ray.exceptions.RayActorError):
        ray.get(p.crash.remote(), timeout=30)

    # after the restart the constructor has run again: state starts over in a new process
    count, pid = _call_until_alive(ray, p.incr)
    assert count == 1
    assert pid != old_pid
    assert ray.get(p.incr.remote())[0] == 2

    # the single restart is used up: a second crash is final
    with pytest.raises(ray.exceptions.RayActorError):
        ray.get(p.crash.remote(), timeout=30)
    with pytest.raises(ray.exceptions.ActorDiedError):
        ray.get(p.incr.remote(), timeout=30)


@pytest.mark.parametrize("ray_start", [{"num_cpus": 2, "num_gpus": 1}], indirect=True)
def test_gpu_actor_holds_gpu(ray_start):
    ray = ray_start

    @ray.remote(num_gpus=1)
    class GpuHolder:
        def ids(self):
            return ray.get_gpu_ids()

    @ray.remote(num_gpus=1)
    def gpu_task():
        return ray.get_gpu_ids()

    holder = GpuHolder.remote()
    assert len(ray.get(holder.ids.remote(), timeout=30)) == 1
    ref = gpu_task.remote()
    ready, _ = ray.wait([ref], timeout=1.0)
    assert ready == []  # the only GPU belongs to the actor
    ray.kill(holder)
    assert len(ray.get(ref, timeout=30)) == 1


def test_handle_actor_id_is_an_actor_id_object(ray_shared):
    ray = ray_shared

    @ray.remote(num_cpus=0)
    class Who:
        def me(self):
            return ray.get_runtime_context().get_actor_id()

    actor = Who.remote()
    actor_id = actor._actor_id
    assert isinstance(actor_id, ray.ActorID)
    assert actor_id.hex() == ray.get(actor.me.remote())
    assert len(actor_id.binary()) == 16
    assert actor_id.job_id.hex() == ray.get_runtime_context().get_job_id()
    ray.kill(actor)


def test_actor_class_metadata_names_the_class(ray_module):
    ray = ray_module

    @ray.remote(max_restarts=2)
    class Named:
        pass

    meta = Named.__ray_metadata__
    assert meta.class_name == "test_actor_class_metadata_names_the_class.<locals>.Named"
    assert meta.max_restarts == 2


def test_label_selector_and_fallback_strategy_are_validated(ray_module):
    ray = ray_module
    for selector in ({"r!a!y.io/kind": "x"}, {"??": "x"}, {"key": "in(a,, b)"},
                     {"key": "matches(x)"}, {"key": "in(a, b"}):
        with pytest.raises(ValueError):
            ray.remote(label_selector=selector)(type("A", (), {}))
    with pytest.raises(TypeError):
        ray.remote(label_selector="key=value")(type("A", (), {}))
    for strategy in ([{"memory": "1Gi"}], ["not-a-dict"], [{"label_selector": {"-k-": "v"}}],
                     [{"label_selector": {"key": "-v-"}}]):
        with pytest.raises(ValueError):
            ray.remote(fallback_strategy=strategy)(type("A", (), {}))
    with pytest.raises(TypeError):
        ray.remote(fallback_strategy={"label_selector": {"k": "v"}})(type("A", (), {}))
    ray.remote(label_selector={"ray.io/accelerator-type": "!in(H100, B200)"},
               fallback_strategy=[{"label_selector": {"region": "in(us-west-1, eu)"}}])(
        type("A", (), {}))


def test_object_store_memory_for_actors_is_deprecated(ray_module):
    ray = ray_module
    with pytest.warns(DeprecationWarning, match="'object_store_memory' for actors is deprecated"):
        ray.remote(object_store_memory=1)(type("A", (), {}))


def test_actor_method_returns_refs_of_actor_calls(ray_shared):
    """A ref an actor method makes (a call to another actor, or to itself through
    ``current_actor``) and returns reaches the caller, which gets its value."""
    ray = ray_shared

    @ray.remote
    class Echo:
        def echo(self, s):
            return s

    @ray.remote
    class Relay:
        def __init__(self, other):
            self.other = other

        def via_other(self, s):
            return self.other.echo.remote(s)

        def via_self(self, s):
            return [ray.get_runtime_context().current_actor.again.remote(s)]

        def again(self, s):
            return s * 2

    @ray.remote
    def from_task(other, s):
        return other.echo.remote(s)

    echo = Echo.remote()
    relay = Relay.remote(echo)
    inner = ray.get(relay.via_other.remote("a"), timeout=60)
    assert ray.get(inner, timeout=60) == "a"
    [inner] = ray.get(relay.via_self.remote("b"), timeout=60)
    assert ray.get(inner, timeout=60) == "bb"
    assert ray.get(ray.get(from_task.remote(echo, "c"), timeout=60), timeout=60) == "c"


def test_sync_method_of_an_async_actor_returns_a_ref_as_it_is(ray_shared):
    """A plain method of an async actor that returns an ``ObjectRef`` returns the ref (its
    caller gets the ref, not the value behind it)."""
    ray = ray_shared

    @ray.remote
    def value():
        return 7

    @ray.remote
    class Keeper:
        def __init__(self):
            self.ref = value.remote()

        async def ready(self):
            return True

        def kept(self):
            return self.ref

    keeper = Keeper.remote()
    assert ray.get(keeper.ready.remote(), timeout=60)
    ref = ray.get(keeper.kept.remote(), timeout=60)
    assert isinstance(ref, ray.ObjectRef)
    assert ray.get(ref, timeout=60) == 7



def test_an_actor_creates_and_returns_an_actor_of_its_own_class(ray_shared):
    """A method that creates an actor of its own class (the class refers to itself) returns
    a handle the caller can call."""
    ray = ray_shared

    @ray.remote
    class SelfMaker:
        def pid(self):
            return os.getpid()

        def make_another(self):
            self.child = SelfMaker.remote()
            return self.child

    owner = SelfMaker.remote()
    child = ray.get(owner.make_another.remote(), timeout=60)
    assert ray.get(child.pid.remote(), timeout=60) != ray.get(owner.pid.remote(), timeout=60)


def test_task_returns_ref_of_pending_actor_call(ray_shared):
    # a task makes an actor, calls it and returns the call's ref before the call has ended:
    # the caller gets the call's value
    ray = ray_shared

    @ray.remote(num_cpus=0)
    class Slow:
        def value(self):
            time.sleep(1)
            return 7

    @ray.remote
    def start_call():
        actor = Slow.remote()
        return [actor.value.remote(), actor]

    ref, actor = ray.get(start_call.remote(), timeout=60)
    assert ray.get(ref, timeout=60) == 7
    ray.kill(actor)


@pytest.mark.parametrize("nested", [False, True])
def test_actor_given_a_ref_ends_when_its_handles_are_gone(ray_shared, nested):
    """Refs among the constructor's arguments do not keep the actor from going out of scope
    (its process ends once no handle is left)."""
    ray = ray_shared

    @ray.remote(num_cpus=0)
    class Holder:
        def __init__(self, value):
            self.value = value

        def pid(self):
            return os.getpid()

    ref = ray.put(np.zeros(1000))
    holder = Holder.remote({"ref": ref} if nested else ref)
    pid = ray.get(holder.pid.remote())
    del holder, ref
    gc.collect()
    deadline = time.monotonic() + 60
    while True:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        assert time.monotonic() < deadline, "the actor's process never ended"
        time.sleep(0.1)


def test_max_pending_calls_raises_past_the_limit(ray_shared):
    # Ray's back pressure: a caller with max_pending_calls calls in flight to an actor gets
    # PendingCallsLimitExceeded on the next one; once they finish, calls go through again
    import asyncio

    ray = ray_shared

    @ray.remote(num_cpus=0, max_pending_calls=3)
    class Gate:
        def __init__(self):
            self.event = asyncio.Event()

        async def wait(self):
            await self.event.wait()
            return "through"

        async def open(self):
            self.event.set()

    @ray.remote(num_cpus=0)
    def open_gate(gate):
        return ray.get(gate.open.remote(), timeout=60)

    gate = Gate.remote()
    waiting = [gate.wait.remote() for _ in range(3)]
    with pytest.raises(ray.exceptions.PendingCallsLimitExceeded):
        gate.wait.remote()
    ray.get(open_gate.remote(gate), timeout=60)  # from another process: its own count
    assert ray.get(waiting, timeout=60) == ["through"] * 3
    assert ray.get(gate.wait.remote(), timeout=60) == "through"


@pytest.mark.parametrize("get_if_exists", [False, True])
def test_tasks_racing_to_create_one_named_actor_all_reach_it(ray_shared, get_if_exists):
    """Tasks on one node race to get or create the same named detached actor: one creates
    it, the others get it (by name, or the creation of the loser raises, then by name), and
    every one's call is answered by that one actor."""
    ray = ray_shared

    @ray.remote
    class Named:
        def actor_id(self):
            return ray.get_runtime_context().get_actor_id()

    @ray.remote(num_cpus=0)
    def get_or_create(name):
        if get_if_exists:
            actor = Named.options(name=name, lifetime="detached",
                                  get_if_exists=True).remote()
        else:
            try:
                try:
                    actor = ray.get_actor(name)
                except ValueError:
                    actor = Named.options(name=name, lifetime="detached").remote()
            except ValueError:  # another task created it meanwhile
                actor = ray.get_actor(name)
        return ray.get(actor.actor_id.remote(), timeout=60)

    for _ in range(3):
        name = f"race-{uuid.uuid4().hex}"
        try:
            ids = ray.get([get_or_create.remote(name) for _ in range(8)], timeout=120)
            assert len(set(ids)) == 1
        finally:
            try:
                ray.kill(ray.get_actor(name))
            except ValueError:
                pass


def test_handle_local_state(ray_shared):
    """``ActorHandle._get_local_state()``: the actor's state as Ray's ``ActorState`` enum."""
    import importlib

    ray = ray_shared
    states = importlib.import_module(
        f"{ray.__name__}.core.generated.gcs_pb2").ActorTableData.ActorState

    @ray.remote
    class Pinged:
        def ping(self):
            return True

    actor = Pinged.remote()
    assert ray.get(actor.ping.remote(), timeout=60)
    assert actor._get_local_state() == states.ALIVE
    ray.kill(actor)
    deadline = time.monotonic() + 60
    while actor._get_local_state() != states.DEAD:
        assert time.monotonic() < deadline, "the killed actor is not DEAD"
        time.sleep(0.1)
