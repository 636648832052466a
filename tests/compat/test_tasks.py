"""Remote functions (tasks): options, calling conventions, nesting, parallelism, retries."""

from __future__ import annotations

import os
import re
import time

import pytest

# ----------------------------------------------------------------------------------------------
# helpers (plain Python, no Ray). Module-level functions are pickled by reference and the test
# module is not importable on workers, so anything that runs remotely is defined in the test.
# ----------------------------------------------------------------------------------------------


def _make_counter(ray):
    @ray.remote
    class Counter:
        def __init__(self):
            self.n = 0

        def incr(self):
            self.n += 1
            return self.n

        def value(self):
            return self.n

    return Counter.remote()


# ----------------------------------------------------------------------------------------------
# decoration and calling
# ----------------------------------------------------------------------------------------------


def test_remote_without_parentheses(ray_shared):
    ray = ray_shared

    @ray.remote
    def add(a, b):
        return a + b

    ref = add.remote(2, 3)
    assert isinstance(ref, ray.ObjectRef)
    assert ray.get(ref) == 5


def test_remote_with_options(ray_shared):
    ray = ray_shared

    @ray.remote(num_cpus=1, max_retries=0)
    def mul(a, b):
        return a * b

    assert ray.get(mul.remote(6, 7)) == 42


def test_positional_and_keyword_arguments(ray_shared):
    ray = ray_shared

    @ray.remote
    def f(a, b=10, *args, c=100, **kwargs):
        return (a, b, args, c, kwargs)

    assert ray.get(f.remote(1)) == (1, 10, (), 100, {})
    assert ray.get(f.remote(1, 2, 3, 4, c=5, d=6)) == (1, 2, (3, 4), 5, {"d": 6})
    assert ray.get(f.remote(a=7, b=8)) == (7, 8, (), 100, {})


def test_wrong_arguments_raise_type_error_at_submission(ray_shared):
    ray = ray_shared

    @ray.remote
    def one(x):
        return x

    with pytest.raises(TypeError):
        one.remote(1, 2)
    with pytest.raises(TypeError):
        one.remote(y=1)


def test_calling_remote_function_directly_raises_type_error(ray_shared):
    ray = ray_shared

    @ray.remote
    def f():
        return 1

    with pytest.raises(TypeError):
        f()


def test_options_returns_new_handle_and_leaves_original_unchanged(ray_shared):
    ray = ray_shared

    @ray.remote
    def pair():
        return (1, 2)

    two = pair.options(num_returns=2)
    refs = two.remote()
    assert isinstance(refs, list) and len(refs) == 2
    assert ray.get(refs) == [1, 2]

    # the original still returns a single ref holding the whole tuple
    ref = pair.remote()
    assert isinstance(ref, ray.ObjectRef)
    assert ray.get(ref) == (1, 2)


def test_options_with_several_keywords(ray_shared):
    ray = ray_shared

    @ray.remote(num_cpus=1)
    def triple():
        return "a", "b", "c"

    refs = triple.options(num_cpus=0.5, num_returns=3, max_retries=1, name="triple-task").remote()
    assert ray.get(refs) == ["a", "b", "c"]


@pytest.mark.parametrize("k", [1, 2, 5])
def test_num_returns(ray_shared, k):
    ray = ray_shared

    @ray.remote(num_returns=k)
    def f():
        if k == 1:
            return "only"
        return tuple(range(k))

    out = f.remote()
    if k == 1:
        assert isinstance(out, ray.ObjectRef)
        assert ray.get(out) == "only"
    else:
        assert len(out) == k
        assert all(isinstance(r, ray.ObjectRef) for r in out)
        assert ray.get(out) == list(range(k))
        # each ref can be fetched on its own, in any order
        assert ray.get(out[-1]) == k - 1


def test_num_returns_mismatch_raises_value_error(ray_shared):
    ray = ray_shared

    @ray.remote(num_returns=2)
    def three():
        return 1, 2, 3

    refs = three.remote()
    assert len(refs) == 2
    for ref in refs:
        with pytest.raises(ValueError) as info:
            ray.get(ref)
        assert isinstance(info.value, ray.exceptions.RayTaskError)


def test_num_returns_zero_returns_none_and_still_runs(ray_shared):
    ray = ray_shared
    counter = _make_counter(ray)

    @ray.remote(num_returns=0)
    def side_effect(c):
        ray.get(c.incr.remote())

    assert side_effect.remote(counter) is None
    deadline = time.time() + 30
    while ray.get(counter.value.remote()) == 0:
        assert time.time() < deadline, "num_returns=0 task never ran"
        time.sleep(0.05)
    assert ray.get(counter.value.remote()) == 1


def test_each_call_is_a_new_task(ray_shared):
    ray = ray_shared
    counter = _make_counter(ray)

    @ray.remote
    def bump(c, x):
        return ray.get(c.incr.remote()), x

    r1 = bump.remote(counter, 1)
    r2 = bump.remote(counter, 1)
    assert r1 != r2
    results = ray.get([r1, r2])
    assert sorted(n for n, _ in results) == [1, 2]
    assert ray.get(counter.value.remote()) == 2


def _gone(pid):
    import psutil

    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def test_max_calls_ends_the_process_after_that_many_runs(ray_shared):
    ray = ray_shared

    @ray.remote(max_calls=1)
    def once():
        return os.getpid()

    @ray.remote(max_calls=2)
    def twice():
        return os.getpid()

    pids = [ray.get(once.remote(), timeout=60) for _ in range(3)]
    assert len(set(pids)) == 3  # each run in a process of its own
    deadline = time.time() + 60
    while not all(_gone(pid) for pid in pids):
        assert time.time() < deadline, "a process outlived its max_calls"
        time.sleep(0.1)
    runs = [ray.get(twice.remote(), timeout=60) for _ in range(6)]
    assert max(runs.count(pid) for pid in set(runs)) <= 2


def test_invocation_decorator_wraps_each_submission(ray_shared):
    ray = ray_shared
    seen = []

    def wrap_submission(submit):
        def submit_doubled(args, kwargs):
            seen.append((args, kwargs))
            return submit(tuple(2 * a for a in args), kwargs), "wrapped"

        return submit_doubled

    def add(a, b, c=0):
        return a + b + c

    add.__ray_invocation_decorator__ = wrap_submission
    remote_add = ray.remote(add)
    ref, tag = remote_add.remote(1, 2, c=10)
    assert tag == "wrapped"
    assert ray.get(ref, timeout=60) == 16
    assert seen == [((1, 2), {"c": 10})]


def test_large_kwargs(ray_shared):
    ray = ray_shared
    blob = bytes(range(256)) * (40 * 1024)  # 10 MiB

    @ray.remote
    def summarize(*, data, tag):
        return len(data), data[:256] == bytes(range(256)), data[-1], tag

    assert ray.get(summarize.remote(data=blob, tag="big")) == (len(blob), True, 255, "big")


# ----------------------------------------------------------------------------------------------
# invalid options
# ----------------------------------------------------------------------------------------------


def test_unknown_option_in_decorator_raises_value_error(ray_shared):
    ray = ray_shared

    def f():
        return 1

    with pytest.raises(ValueError):
        ray.remote(not_an_option=1)(f)


def test_unknown_option_in_options_raises_value_error(ray_shared):
    ray = ray_shared

    @ray.remote
    def f():
        return 1

    with pytest.raises(ValueError):
        f.options(not_an_option=1)
    # the handle is still usable afterwards
    assert ray.get(f.remote()) == 1


@pytest.mark.parametrize(
    "opts",
    [{"num_cpus": -1}, {"num_gpus": -1}, {"num_returns": -2}, {"max_retries": -2}],
)
def test_bad_option_values_raise_value_error(ray_shared, opts):
    ray = ray_shared

    def f():
        return 1

    with pytest.raises(ValueError):
        ray.remote(**opts)(f)
    with pytest.raises(ValueError):
        ray.remote(f).options(**opts)


def test_bad_option_type_raises_type_error(ray_shared):
    ray = ray_shared

    @ray.remote
    def f():
        return 1

    with pytest.raises(TypeError):
        f.options(num_cpus="two")


def test_option_errors_read_as_rays(ray_shared):
    ray = ray_shared

    def f():
        return 1

    class A:
        pass

    def typed(keyword):
        return re.escape(f"The type of keyword '{keyword}' must be {(int, type(None))}, "
                         f"but received type {float}")

    with pytest.raises(TypeError, match=typed("max_retries")):
        ray.remote(max_retries=1.5)(f)
    with pytest.raises(TypeError, match=typed("max_restarts")):
        ray.remote(max_restarts=1.5)(A)
    with pytest.raises(ValueError, match=re.escape(
            "The keyword 'max_retries' only accepts None, 0, -1 or a positive integer, where -1 "
            "represents infinity.")):
        ray.remote(max_retries=-5)(f)
    with pytest.raises(ValueError, match="The keyword 'max_calls' only accepts None, 0 or a "
                                         "positive integer"):
        ray.remote(max_calls=-1)(f)
    with pytest.raises(ValueError, match="The keyword 'num_returns' only accepts None, a "
                                         "non-negative integer"):
        ray.remote(num_returns=-3)(f)
    with pytest.raises(ValueError, match="The precision of the fractional quantity of resource "
                                         "Custom cannot go beyond 0.0001"):
        ray.remote(resources={"Custom": 0.00000001})(f)
    # options only the decorator takes
    with pytest.raises(ValueError, match=re.escape(
            "Setting 'max_calls' is not supported in '.options()'.")):
        ray.remote(f).options(max_calls=2)
    with pytest.raises(ValueError, match=re.escape(
            "Setting 'concurrency_groups' is not supported in '.options()'.")):
        ray.remote(A).options(concurrency_groups={"io": 1})


def test_oversized_function_is_refused(ray_shared):
    ray = ray_shared
    captured = bytearray(101 * 1024 * 1024)  # more than Ray's 100 MB limit on a definition

    @ray.remote
    def f():
        return len(captured)

    @ray.remote
    class Holder:
        def size(self):
            return len(captured)

    with pytest.raises(ValueError, match="The remote function .*f is too large"):
        f.remote()
    with pytest.raises(ValueError, match="The actor Holder is too large"):
        Holder.remote()

    @ray.remote
    def small():
        return 1

    assert ray.get(small.remote(), timeout=60) == 1


# ----------------------------------------------------------------------------------------------
# nesting
# ----------------------------------------------------------------------------------------------


def test_task_submits_and_gets_tasks(ray_shared):
    ray = ray_shared

    @ray.remote
    def square(x):
        return x * x

    @ray.remote
    def sum_of_squares(n):
        return sum(ray.get([square.remote(i) for i in range(n)]))

    assert ray.get(sum_of_squares.remote(10)) == sum(i * i for i in range(10))


def test_task_uses_put_and_wait(ray_shared):
    ray = ray_shared

    @ray.remote
    def ident(x):
        return x

    @ray.remote
    def inner():
        stored = ray.put({"k": [1, 2, 3]})
        refs = [ident.remote(i) for i in range(4)]
        ready, not_ready = ray.wait(refs, num_returns=4, timeout=30)
        return ray.get(stored), sorted(ray.get(ready)), len(not_ready)

    assert ray.get(inner.remote()) == ({"k": [1, 2, 3]}, [0, 1, 2, 3], 0)


def test_task_returns_ref_created_inside(ray_shared):
    ray = ray_shared

    @ray.remote
    def make():
        return ray.put("inside")

    inner = ray.get(make.remote())
    assert isinstance(inner, ray.ObjectRef)
    assert ray.get(inner) == "inside"


def test_recursive_fibonacci_does_not_deadlock(ray_shared):
    ray = ray_shared

    @ray.remote
    def fib(n):
        if n < 2:
            return n
        a, b = ray.get([fib.remote(n - 1), fib.remote(n - 2)])
        return a + b

    assert ray.get(fib.remote(6), timeout=50) == 8


def test_deep_blocking_chain_does_not_deadlock(ray_shared):
    ray = ray_shared

    @ray.remote
    def chain(depth):
        if depth == 0:
            return 0
        return 1 + ray.get(chain.remote(depth - 1))

    assert ray.get(chain.remote(10), timeout=50) == 10


# ----------------------------------------------------------------------------------------------
# parallelism
# ----------------------------------------------------------------------------------------------


def test_cpu_bound_tasks_run_in_parallel(ray_shared, tmp_path):
    """Two CPU-bound tasks run at the same time in two processes (so no GIL is shared and the
    OS can give each a core): each spins in pure Python until it sees the other running. Tasks
    run one after the other would never meet; tasks sharing one process would share one pid.
    No timing is asserted, so a busy machine cannot fail it."""
    ray = ray_shared

    @ray.remote
    def spin_until_met(folder, me, other):
        with open(os.path.join(folder, me), "w") as f:
            f.write(str(os.getpid()))
        deadline, spins = time.time() + 120, 0
        while not os.path.exists(os.path.join(folder, other)):
            spins += 1  # pure-Python work while waiting: holds this process's GIL
            if spins % 10_000 == 0 and time.time() > deadline:
                return None
        return os.getpid()

    pids = ray.get([spin_until_met.remote(str(tmp_path), "a", "b"),
                    spin_until_met.remote(str(tmp_path), "b", "a")], timeout=150)
    assert None not in pids, "the two tasks never ran at the same time"
    assert pids[0] != pids[1]


# ----------------------------------------------------------------------------------------------
# retries
# ----------------------------------------------------------------------------------------------


def _flaky(ray, failures):
    @ray.remote
    def flaky(counter):
        attempt = ray.get(counter.incr.remote())
        if attempt <= failures:
            raise ValueError(f"attempt {attempt} fails")
        return attempt

    return flaky


def test_retry_exceptions_retries_application_errors(ray_shared):
    ray = ray_shared
    counter = _make_counter(ray)
    flaky = _flaky(ray, failures=2)
    ref = flaky.options(max_retries=3, retry_exceptions=True).remote(counter)
    assert ray.get(ref) == 3
    assert ray.get(counter.value.remote()) == 3


def test_application_errors_not_retried_by_default(ray_shared):
    ray = ray_shared
    counter = _make_counter(ray)
    flaky = _flaky(ray, failures=2)
    ref = flaky.options(max_retries=3).remote(counter)
    with pytest.raises(ValueError, match="attempt 1 fails"):
        ray.get(ref)
    assert ray.get(counter.value.remote()) == 1


def test_retries_exhausted_raise_last_error(ray_shared):
    ray = ray_shared
    counter = _make_counter(ray)
    flaky = _flaky(ray, failures=5)
    ref = flaky.options(max_retries=2, retry_exceptions=True).remote(counter)
    with pytest.raises(ray.exceptions.RayTaskError, match="attempt 3 fails"):
        ray.get(ref)
    assert ray.get(counter.value.remote()) == 3


def test_retry_exceptions_list_only_retries_listed_types(ray_shared):
    ray = ray_shared
    counter = _make_counter(ray)

    @ray.remote
    def flaky(c, exc_type):
        attempt = ray.get(c.incr.remote())
        if attempt == 1:
            raise exc_type("first attempt")
        return attempt

    ok = flaky.options(max_retries=2, retry_exceptions=[KeyError]).remote(counter, KeyError)
    assert ray.get(ok) == 2

    counter2 = _make_counter(ray)
    bad = flaky.options(max_retries=2, retry_exceptions=[KeyError]).remote(
        counter2, ZeroDivisionError
    )
    with pytest.raises(ZeroDivisionError):
        ray.get(bad)
    assert ray.get(counter2.value.remote()) == 1


def test_task_can_start_its_own_processes(ray_shared):
    ray = ray_shared

    @ray.remote
    def negate_all(n):
        import multiprocessing

        # spawn, not fork: forking a process that runs threads (Ray's workers do) can hang
        # the child, as Ray's docs warn
        with multiprocessing.get_context("spawn").Pool(2) as pool:
            return pool.map(abs, range(-n, 0))

    assert ray.get(negate_all.remote(3), timeout=60) == [3, 2, 1]


def test_async_def_remote_function_is_refused(ray_module):
    ray = ray_module

    async def f():
        return 1

    with pytest.raises(ValueError, match="async def"):
        ray.remote(f)


@pytest.mark.parametrize(
    "ray_start",
    [{"num_cpus": 1, "_system_config": {"preload_python_modules": ["colorsys", "no_such_mod_x"]}}],
    indirect=True)
def test_preload_python_modules_are_imported_in_task_processes(ray_start):
    ray = ray_start

    @ray.remote
    def imported():
        import sys

        return "colorsys" in sys.modules, "no_such_mod_x" in sys.modules

    # the one that exists is there before the task imports it; the missing one is skipped
    assert ray.get(imported.remote(), timeout=60) == (True, False)


def test_unknown_scheduling_strategy_name_raises_value_error(ray_shared):
    ray = ray_shared

    @ray.remote
    def f():
        return 0

    @ray.remote
    class A:
        pass

    with pytest.raises(ValueError):
        f.options(scheduling_strategy="NOT_A_STRATEGY").remote()
    with pytest.raises(ValueError):
        A.options(scheduling_strategy="NOT_A_STRATEGY").remote()
    assert ray.get(f.options(scheduling_strategy="DEFAULT").remote(), timeout=60) == 0


def test_spread_strategy_uses_every_node(ray_fresh):
    """SPREAD places work on all nodes that can run it, even when one node holds the
    arguments or could take everything."""
    import importlib

    ray = ray_fresh
    cluster = importlib.import_module(f"{ray.__name__}.cluster_utils").Cluster()
    try:
        cluster.add_node(num_cpus=0)  # the driver's node runs nothing
        ray.init(address=cluster.address)
        for _ in range(2):
            cluster.add_node(num_cpus=4)
        cluster.wait_for_nodes()

        @ray.remote(num_cpus=1, scheduling_strategy="SPREAD")
        class Where:
            def node(self):
                return ray.get_runtime_context().get_node_id()

        actors = [Where.remote() for _ in range(4)]
        nodes = [ray.get(a.node.remote(), timeout=120) for a in actors]
        assert sorted(nodes.count(n) for n in set(nodes)) == [2, 2]
    finally:
        ray.shutdown()
        cluster.shutdown()


def test_work_without_gpus_avoids_gpu_nodes(ray_fresh):
    """Ray's default policy keeps tasks and actors that need no GPU on nodes without GPUs
    while one of those can run them (Ray's view of which nodes are free lags: one task and
    one actor, each on an idle cluster)."""
    import importlib

    ray = ray_fresh
    cluster = importlib.import_module(f"{ray.__name__}.cluster_utils").Cluster()
    try:
        cluster.add_node(num_cpus=0)  # the driver's node runs nothing
        ray.init(address=cluster.address)
        cluster.add_node(num_cpus=2, resources={"plain": 1})
        cluster.add_node(num_cpus=2, num_gpus=1)
        cluster.wait_for_nodes()

        @ray.remote
        def node():
            return ray.get_runtime_context().get_node_id()

        @ray.remote
        class Where:
            def node(self):
                return ray.get_runtime_context().get_node_id()

        @ray.remote(num_gpus=1)
        def launcher():  # on the GPU node: its own node is the nearest, yet avoided
            here = ray.get_runtime_context().get_node_id()
            actor = ray.get(Where.options(num_cpus=1).remote().node.remote())
            return here, ray.get(node.remote()), actor

        plain = ray.get(node.options(num_cpus=0, resources={"plain": 1}).remote(), timeout=120)
        gpu, task, actor = ray.get(launcher.remote(), timeout=120)
        assert gpu != plain
        assert task == plain
        assert actor == plain
    finally:
        ray.shutdown()
        cluster.shutdown()


def test_cancel_of_a_running_task(ray_shared):
    """Interrupted as it runs (no ``force``): its error is a task error raised in its own
    code, ``RayTaskError(TaskCancelledError)``, and it is not retried; ``force=True`` ends its
    process: a plain ``TaskCancelledError``."""
    ray = ray_shared
    counter = _make_counter(ray)

    @ray.remote(max_retries=2, retry_exceptions=True)
    def spin(counter):
        ray.get(counter.incr.remote())
        while True:
            time.sleep(0.01)

    ref = spin.remote(counter)
    deadline = time.monotonic() + 60
    while ray.get(counter.value.remote()) < 1:
        assert time.monotonic() < deadline, "the task did not start"
        time.sleep(0.05)
    ray.cancel(ref)
    with pytest.raises(ray.exceptions.TaskCancelledError) as info:
        ray.get(ref, timeout=60)
    assert isinstance(info.value, ray.exceptions.RayTaskError)
    assert "spin" in str(info.value)
    assert ray.get(counter.value.remote()) == 1  # not run again

    ref = spin.remote(counter)
    while ray.get(counter.value.remote()) < 2:
        assert time.monotonic() < deadline + 60, "the task did not start"
        time.sleep(0.05)
    ray.cancel(ref, force=True)
    with pytest.raises(ray.exceptions.TaskCancelledError) as info:
        ray.get(ref, timeout=60)
    assert not isinstance(info.value, ray.exceptions.RayTaskError)
