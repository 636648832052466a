"""Actor calls and puts made inside tasks and actors: their refs work wherever they go (returned
nested or at the top level, put inside values, passed to tasks and other actors, after the
process that made them has ended), errors keep their type, and each caller's calls run in
order."""

from __future__ import annotations

import numpy as np
import pytest
from compat_helpers import make_signal

# Remote code is defined inside the tests: this module is not importable on workers.


def _counter(ray):
    @ray.remote
    class Counter:
        def __init__(self):
            self.n = 0

        def incr(self, by=1):
            self.n += by
            return self.n

        def fail(self):
            raise KeyError("missing")

        def wait_then(self, signal, value):
            ray.get(signal.wait.remote())
            return value

    return Counter


def test_call_refs_returned_nested_by_a_task_outlive_it(ray_shared):
    ray = ray_shared
    counter = _counter(ray).remote()

    @ray.remote
    def calls(actor, n):
        return [actor.incr.remote() for _ in range(n)]

    refs = ray.get(calls.remote(counter, 20))
    assert ray.get(refs) == list(range(1, 21))  # in the caller's order


def test_call_ref_returned_as_a_task_result(ray_shared):
    ray = ray_shared
    counter = _counter(ray).remote()

    @ray.remote
    def one_call(actor):
        return actor.incr.remote(5)

    inner = ray.get(one_call.remote(counter))
    assert isinstance(inner, ray.ObjectRef)
    assert ray.get(inner) == 5


def test_call_ref_returned_by_an_actor_that_called_another(ray_shared):
    ray = ray_shared
    Counter = _counter(ray)

    @ray.remote
    class Caller:
        def __init__(self, other):
            self.other = other

        def forward(self, n):
            refs = [self.other.incr.remote() for _ in range(n)]
            return refs, ray.get(refs[-1])

        def forward_failing(self):
            return [self.other.fail.remote()]

    caller = Caller.remote(Counter.remote())
    refs, last = ray.get(caller.forward.remote(10))
    assert last == 10
    assert ray.get(refs) == list(range(1, 11))
    [failing] = ray.get(caller.forward_failing.remote())
    with pytest.raises(KeyError):
        ray.get(failing)


def test_call_refs_passed_on_by_a_task_to_tasks_and_actors(ray_shared):
    ray = ray_shared
    Counter = _counter(ray)
    counter, other = Counter.remote(), Counter.remote()

    @ray.remote
    def plus_one(x):
        return x + 1

    @ray.remote
    def first_of(box):
        return ray.get(box[0])

    @ray.remote
    def pass_on(actor, other):
        ref = actor.incr.remote(3)
        return [ray.get(plus_one.remote(ref)),  # a top-level argument
                ray.get(first_of.remote([actor.incr.remote(1)])),  # nested
                ray.get(other.incr.remote(ref)),  # another actor's argument
                ray.get(ref)]

    assert ray.get(pass_on.remote(counter, other)) == [4, 4, 3, 3]


def test_unfinished_call_ref_passed_to_a_task_from_a_task(ray_shared):
    ray = ray_shared
    counter = _counter(ray).remote()
    signal = make_signal(ray)

    @ray.remote
    def double(x):
        return 2 * x

    @ray.remote
    def submit_before_the_answer(actor, signal):
        ref = actor.wait_then.remote(signal, 21)
        return [double.remote(ref), ref]

    doubled, ref = ray.get(submit_before_the_answer.remote(counter, signal))
    ready, _ = ray.wait([doubled], timeout=0.5)
    assert not ready  # the call has not ended, so the task that needs it waits
    ray.get(signal.send.remote())
    assert ray.get(doubled, timeout=60) == 42
    assert ray.get(ref, timeout=60) == 21


def test_call_ref_inside_a_value_put_by_a_task(ray_shared):
    ray = ray_shared
    counter = _counter(ray).remote()

    @ray.remote
    def put_calls(actor):
        return [ray.put({"calls": [actor.incr.remote(7)]})]

    [box] = ray.get(put_calls.remote(counter))
    [ref] = ray.get(box)["calls"]
    assert ray.get(ref) == 7


def test_errors_of_calls_made_in_a_task(ray_shared):
    ray = ray_shared
    counter = _counter(ray).remote()

    @ray.remote
    def call_failing(actor):
        ref = actor.fail.remote()
        try:
            ray.get(ref)
        except KeyError:
            return "caught", [actor.fail.remote()]
        return "not raised", []

    what, [ref] = ray.get(call_failing.remote(counter))
    assert what == "caught"
    with pytest.raises(KeyError):
        ray.get(ref)


def test_calls_from_many_tasks_each_in_order(ray_shared):
    ray = ray_shared

    @ray.remote
    class Log:
        def __init__(self):
            self.seen = {}

        def add(self, who, i):
            self.seen.setdefault(who, []).append(i)

        def seen_by(self):
            return self.seen

    log = Log.remote()

    @ray.remote
    def caller(log, who, n):
        ray.get([log.add.remote(who, i) for i in range(n)])

    ray.get([caller.remote(log, who, 50) for who in range(4)])
    assert ray.get(log.seen_by.remote()) == {who: list(range(50)) for who in range(4)}


def test_arrays_put_by_tasks(ray_shared):
    ray = ray_shared

    @ray.remote
    def put_array(n, fill):
        return [ray.put(np.full(n, fill, dtype=np.int64))]

    @ray.remote
    def total(box):
        return int(ray.get(box[0]).sum())

    boxes = ray.get([put_array.remote(1 << 20, i) for i in range(3)])  # 8 MB each
    for i, [ref] in enumerate(boxes):
        array = ray.get(ref)
        assert array.shape == (1 << 20,) and (array == i).all()
    assert ray.get([total.remote(box) for box in boxes]) == [i * (1 << 20) for i in range(3)]


def test_value_put_by_a_task_and_got_in_it(ray_shared):
    ray = ray_shared

    @ray.remote
    def put_and_get():
        small, large = ray.put(b"x" * 100), ray.put(np.arange(1 << 18))
        return ray.get(small), int(ray.get(large)[-1])

    assert ray.get(put_and_get.remote()) == (b"x" * 100, (1 << 18) - 1)


def test_small_put_is_a_copy_and_each_get_a_fresh_value(ray_shared):
    ray = ray_shared
    value = {"a": [1, 2]}
    ref = ray.put(value)
    value["a"].append(3)  # changing the original after the put changes nothing stored
    first, second = ray.get(ref), ray.get(ref)
    assert first == second == {"a": [1, 2]}
    first["a"].append(4)  # nor does changing what a get returned
    assert ray.get(ref) == {"a": [1, 2]} and second == {"a": [1, 2]}
    array = np.arange(8)
    got = ray.get(ray.put(array))
    array[0] = 100
    assert got[0] == 0 and not got.flags.writeable  # read-only, as from Ray's store

    @ray.remote
    def read(box):
        return ray.get(box[0])

    assert ray.get(read.remote([ref])) == {"a": [1, 2]}
