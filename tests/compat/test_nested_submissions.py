"""Tasks submitted from inside tasks and actors: their refs work wherever they go (got in the
submitter, returned at the top level or nested, passed on to other tasks and actors, put inside
values), large arguments arrive whole, errors keep their type, ``wait`` and ``cancel`` work on
them, and a blocked submitter never starves its children of CPUs."""

from __future__ import annotations

import numpy as np
import pytest
from compat_helpers import make_signal, poll

# Remote code is defined inside the tests: this module is not importable on workers.


def test_refs_of_nested_tasks_returned_and_passed_on(ray_shared):
    ray = ray_shared

    @ray.remote
    def plus_one(x):
        return x + 1

    @ray.remote
    def first_of(refs):
        return ray.get(refs[0])

    @ray.remote
    class Keeper:
        def read(self, refs):
            return ray.get(refs[0])

    keeper = Keeper.remote()

    @ray.remote
    def submitter(keeper):
        ref = plus_one.remote(1)
        return [ray.get(plus_one.remote(ref)),  # a top-level argument
                ray.get(first_of.remote([ref])),  # nested in a list
                ray.get(keeper.read.remote([ref])),  # an actor's argument
                ray.get(ray.get(ray.put([ref]))[0]),  # inside a value it put
                ref,  # returned nested in the result
                [plus_one.remote(ref) for _ in range(3)]]

    three, two, two_again, two_put, ref, more = ray.get(submitter.remote(keeper))
    assert (three, two, two_again, two_put) == (3, 2, 2, 2)
    assert ray.get(ref) == 2  # outlives the task that made it
    assert ray.get(more) == [3, 3, 3]


def test_ref_of_a_nested_task_as_a_task_result(ray_shared):
    ray = ray_shared

    @ray.remote
    def value():
        return "inner"

    @ray.remote
    def outer():
        return value.remote()

    inner = ray.get(outer.remote())
    assert isinstance(inner, ray.ObjectRef)
    assert ray.get(inner) == "inner"


def test_many_tasks_from_actors(ray_shared):
    ray = ray_shared

    @ray.remote
    def square(x):
        return x * x

    @ray.remote(num_cpus=0)
    class Client:
        def run(self, n):
            refs = [square.remote(i) for i in range(n)]
            ready, _ = ray.wait(refs, num_returns=n, timeout=60)
            assert len(ready) == n
            return sum(ray.get(refs))

    clients = [Client.remote() for _ in range(3)]
    expected = sum(i * i for i in range(200))
    assert ray.get([c.run.remote(200) for c in clients], timeout=120) == [expected] * 3


def test_tree_of_tasks_with_large_arguments(ray_shared):
    ray = ray_shared

    @ray.remote
    def split_sum(values, leaf):
        if len(values) <= leaf:
            return float(values.sum())
        half = len(values) // 2
        return sum(ray.get([split_sum.remote(values[:half], leaf),
                            split_sum.remote(values[half:], leaf)]))

    values = np.arange(1 << 18, dtype=np.float64)
    assert ray.get(split_sum.remote(values, len(values) // 16), timeout=120) == values.sum()


def test_errors_of_nested_tasks(ray_shared):
    ray = ray_shared

    @ray.remote(max_retries=0)
    def fails():
        raise KeyError("missing")

    @ray.remote
    def plus_one(x):
        return x + 1

    @ray.remote
    def submitter():
        ref = fails.remote()
        caught = []
        for target in (ref, plus_one.remote(ref)):  # its own error, then a dependent's
            try:
                ray.get(target)
            except ray.exceptions.RayTaskError as exc:
                caught.append(isinstance(exc, KeyError))
        return caught

    assert ray.get(submitter.remote()) == [True, True]


def test_cancel_a_nested_task(ray_shared):
    ray = ray_shared
    signal = make_signal(ray)

    @ray.remote
    def waits(signal):
        ray.get(signal.wait.remote())
        return "not cancelled"

    @ray.remote
    def submitter(signal):
        ref = waits.remote(signal)
        ray.wait([ref], timeout=0.5)
        ray.cancel(ref)
        try:
            ray.get(ref, timeout=60)
        except (ray.exceptions.TaskCancelledError, ray.exceptions.RayTaskError):
            return "cancelled"
        return "ran"

    assert ray.get(submitter.remote(signal), timeout=120) == "cancelled"
    ray.get(signal.send.remote())


@pytest.mark.parametrize("ray_start", [{"num_cpus": 1}], indirect=True)
def test_nested_tasks_on_one_cpu(ray_start):
    ray = ray_start

    @ray.remote
    def leaf(x):
        return x

    @ray.remote
    def middle(x):
        return sum(ray.get([leaf.remote(x), leaf.remote(x)]))

    @ray.remote
    def top():
        return sum(ray.get([middle.remote(i) for i in range(4)]))

    assert ray.get(top.remote(), timeout=120) == 12  # each blocked get gives its CPU back
    # and once all are done, the node's CPU is free again
    poll(lambda: ray.available_resources().get("CPU", 0.0), 1.0, timeout=60)


def test_large_array_arguments_of_nested_tasks_arrive_whole_and_read_only(ray_shared):
    """Each task of a tree gets its slice by value (from 2 MiB down to 128 KiB: above and
    below the size a buffer moves through shared memory), read-only as Ray's store gives it
    (every one is over Ray's inline limit), with the right values; run twice (the second tree
    reuses the processes the first one left)."""
    ray = ray_shared

    @ray.remote
    def check(values, start, leaf):
        if values.flags.writeable:
            return [f"writable argument at {start}"]
        if not np.array_equal(values, np.arange(start, start + len(values), dtype=np.float64)):
            return [f"wrong values at {start}"]
        try:
            values[0] = -1.0
            return [f"written at {start}"]
        except ValueError:
            pass
        if len(values) <= leaf:
            return []
        half = len(values) // 2
        return sum(ray.get([check.remote(values[:half], start, leaf),
                            check.remote(values[half:], start + half, leaf)]), [])

    values = np.arange(1 << 18, dtype=np.float64)  # 2 MiB
    for _ in range(2):
        assert ray.get(check.remote(values, 0, 1 << 14), timeout=120) == []


def test_an_array_put_in_a_task_is_read_by_its_sub_tasks_at_once(ray_shared):
    """A task puts arrays (one large, one small) and at once passes the refs to sub-tasks, by
    ref and nested, and reads them itself: every reader sees the whole value, read-only."""
    ray = ray_shared

    @ray.remote
    def total(x):
        return float(x.sum()), x.flags.writeable

    @ray.remote
    def total_nested(boxed):
        return float(ray.get(boxed[0]).sum())

    @ray.remote
    def parent(n):
        out = []
        for size in (1 << 18, 1 << 10):
            ref = ray.put(np.full(size, n, dtype=np.float64))
            first = ray.get([total.remote(ref), total_nested.remote([ref])])
            got = ray.get(ref)
            out.append((first[0][0], first[0][1], first[1], float(got.sum()),
                        got.flags.writeable))
        return out

    for n in (1, 2, 3):
        large, small = ray.get(parent.remote(n), timeout=120)
        big = n * (1 << 18)
        assert large == (big, False, big, big, False)
        assert small[0] == small[2] == small[3] == n * (1 << 10)
