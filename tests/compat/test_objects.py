"""Objects: put/get, ObjectRef behaviour, passing refs to tasks, ray.wait, ray.cancel."""

from __future__ import annotations

import asyncio
import concurrent.futures
import gc
import os
import pickle
import time
import weakref

import numpy as np
import pytest
from compat_helpers import make_signal

# Anything that runs remotely is defined inside the test functions: module-level functions and
# classes are pickled by reference and the test module is not importable on workers.




def _wait_for_file(path, timeout=30.0):
    deadline = time.time() + timeout
    while not os.path.exists(path):
        assert time.time() < deadline, f"{path} never appeared"
        time.sleep(0.01)


# ----------------------------------------------------------------------------------------------
# put / get
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        0,
        -(2**70),
        3.5,
        float("inf"),
        "text ünïcode",
        b"\x00\x01bytes",
        None,
        True,
        [1, "two", 3.0],
        (1, (2, (3,))),
        {"a": 1, "b": [1, 2], 3: {"nested": None}},
        {1, 2, 3},
        frozenset({"x"}),
        complex(1, 2),
    ],
    ids=repr,
)
def test_put_get_roundtrip(ray_shared, value):
    ray = ray_shared
    ref = ray.put(value)
    assert isinstance(ref, ray.ObjectRef)
    out = ray.get(ref)
    assert out == value
    assert type(out) is type(value)


@pytest.mark.parametrize("dtype", ["int8", "int64", "float32", "float64", "complex128", "bool"])
def test_put_get_numpy_arrays(ray_shared, dtype):
    ray = ray_shared
    arr = (np.arange(1000) % 7).astype(dtype).reshape(10, 100)
    out = ray.get(ray.put(arr))
    assert isinstance(out, np.ndarray)
    assert out.dtype == arr.dtype and out.shape == arr.shape
    np.testing.assert_array_equal(out, arr)


def test_put_get_large_numpy_array(ray_shared):
    ray = ray_shared
    arr = np.random.default_rng(0).random(50 * 1024 * 1024 // 8)  # 50 MiB of float64
    ref = ray.put(arr)
    np.testing.assert_array_equal(ray.get(ref), arr)

    @ray.remote
    def checksum(a):
        return float(a.sum()), a.shape

    total, shape = ray.get(checksum.remote(ref))
    assert shape == arr.shape
    assert total == pytest.approx(float(arr.sum()))


def test_put_get_custom_object(ray_shared):
    ray = ray_shared

    class Point:
        def __init__(self, x, y):
            self.x, self.y = x, y

        def norm2(self):
            return self.x**2 + self.y**2

    p = ray.get(ray.put(Point(3, 4)))
    assert (p.x, p.y, p.norm2()) == (3, 4, 25)


def test_put_returns_distinct_refs(ray_shared):
    ray = ray_shared
    a, b = ray.put(1), ray.put(1)
    assert a != b
    assert ray.get([a, b]) == [1, 1]


def test_put_stores_a_copy(ray_shared):
    ray = ray_shared
    data = {"items": [1, 2, 3]}
    ref = ray.put(data)
    data["items"].append(4)  # mutating the original afterwards does not change the object
    assert ray.get(ref) == {"items": [1, 2, 3]}


def test_task_mutating_its_argument_does_not_affect_others(ray_shared):
    ray = ray_shared
    ref = ray.put([1, 2, 3])
    local = [10, 20]

    @ray.remote
    def mutate(lst):
        lst.append("x")
        return lst

    assert ray.get(mutate.remote(ref)) == [1, 2, 3, "x"]
    assert ray.get(mutate.remote(ref)) == [1, 2, 3, "x"]  # not [1, 2, 3, "x", "x"]
    assert ray.get(mutate.remote(local)) == [10, 20, "x"]
    assert local == [10, 20]
    assert ray.get(ref) == [1, 2, 3]


def test_get_list_with_duplicates(ray_shared):
    ray = ray_shared
    a, b = ray.put("a"), ray.put("b")
    assert ray.get([a, b, a, a]) == ["a", "b", "a", "a"]


def test_get_list_keeps_order(ray_shared):
    ray = ray_shared

    @ray.remote
    def delayed(i, delay):
        time.sleep(delay)
        return i

    # later entries finish first
    refs = [delayed.remote(i, 0.05 * (5 - i)) for i in range(6)]
    assert ray.get(refs) == list(range(6))
    mixed = [ray.put("p0"), refs[3], ray.put("p2"), refs[0]]
    assert ray.get(mixed) == ["p0", 3, "p2", 0]


def test_get_empty_list(ray_shared):
    assert ray_shared.get([]) == []


def test_get_timeout_raises_get_timeout_error(ray_shared):
    ray = ray_shared
    signal = make_signal(ray)

    @ray.remote
    def blocked(sig):
        ray.get(sig.wait.remote())
        return "done"

    ref = blocked.remote(signal)
    t0 = time.time()
    with pytest.raises(ray.exceptions.GetTimeoutError) as info:
        ray.get(ref, timeout=0.5)
    elapsed = time.time() - t0
    assert 0.4 < elapsed < 10
    assert isinstance(info.value, TimeoutError)
    assert isinstance(info.value, ray.exceptions.RayError)
    # a list containing an unfinished ref times out too
    with pytest.raises(TimeoutError):
        ray.get([ray.put(1), ref], timeout=0.1)
    # the task is unaffected by the timeout and completes once released
    ray.get(signal.send.remote())
    assert ray.get(ref, timeout=30) == "done"


def test_get_timeout_zero_on_ready_object(ray_shared):
    ray = ray_shared
    ref = ray.put("ready")
    ray.wait([ref])
    assert ray.get(ref, timeout=0) == "ready"


def test_get_timeout_zero_in_a_task_on_an_object_of_its_node(ray_shared):
    ray = ray_shared
    array = np.arange(256 * 1024, dtype=np.int64)  # 2 MiB: in the node's store

    @ray.remote
    def read(box):
        ray.wait([box[0]])
        return int(ray.get(box[0], timeout=0).sum())

    assert ray.get(read.remote([ray.put(array)]), timeout=120) == int(array.sum())


@pytest.mark.parametrize("ray_start", [{"num_cpus": 1}], indirect=True)
def test_get_of_a_ready_object_keeps_the_tasks_cpu(ray_start):
    ray = ray_start
    array = np.ones(1024 * 1024, dtype=np.uint8)

    @ray.remote
    def poll(box):
        while True:  # get of a ready object, again and again: never blocked
            try:
                ray.get(box[0], timeout=0.001)
            except ray.exceptions.GetTimeoutError:
                pass

    @ray.remote
    def other():
        return 1

    ref = ray.put(array)
    poller = poll.remote([ref])
    ray.wait([poller], timeout=1)  # poll runs (no other task can, with one CPU)
    canary = other.remote()
    ready, _ = ray.wait([canary], timeout=3)
    assert not ready  # no CPU was given back for it to run on
    ray.cancel(poller, force=True)
    assert ray.get(canary, timeout=120) == 1


def test_get_non_ref_raises(ray_shared):
    ray = ray_shared
    # a bare non-ref is rejected with ValueError, a list containing one with TypeError
    with pytest.raises(ValueError):
        ray.get(1)
    with pytest.raises(ValueError):
        ray.get("not a ref")
    with pytest.raises(TypeError):
        ray.get([ray.put(1), 2])


def test_put_object_ref_raises_type_error(ray_shared):
    ray = ray_shared
    ref = ray.put(1)
    with pytest.raises(TypeError):
        ray.put(ref)
    # wrapped in a container it is fine
    outer = ray.put([ref])
    inner = ray.get(outer)
    assert isinstance(inner, list) and isinstance(inner[0], ray.ObjectRef)
    assert ray.get(inner[0]) == 1


# ----------------------------------------------------------------------------------------------
# ObjectRef
# ----------------------------------------------------------------------------------------------


def test_object_ref_identity_hash_and_repr(ray_shared):
    ray = ray_shared
    ref = ray.put("v")
    other = ray.put("v")
    assert ref == ref
    assert ref != other
    assert hash(ref) == hash(ref)
    table = {ref: "first", other: "second"}
    assert table[ref] == "first" and table[other] == "second"
    assert len({ref, ref, other}) == 2
    h = ref.hex()
    assert isinstance(h, str) and h
    int(h, 16)  # it is hexadecimal
    assert h != other.hex()
    assert "ObjectRef" in repr(ref)


def test_object_ref_ids_have_rays_sizes_and_name_the_object_again(ray_shared):
    ray = ray_shared
    ref = ray.put([1, 2, 3])
    assert len(ref.binary()) == 28 and len(ref.hex()) == 56
    assert ref.binary().hex() == ref.hex()
    again = ray.ObjectRef(ref.binary())
    assert again == ref and hash(again) == hash(ref)
    assert ray.get(again, timeout=60) == [1, 2, 3]

    @ray.remote
    def f():
        return "made"

    made = f.remote()
    assert ray.get(ray.ObjectRef(made.binary()), timeout=60) == "made"


def test_object_ref_from_id_bytes(ray_shared):
    ray = ray_shared
    raw = bytes(range(28))
    assert ray.ObjectRef(raw).binary() == raw
    for wrong in (raw + b"1", raw[:10]):
        with pytest.raises(ValueError, match="needs to have length"):
            ray.ObjectRef(wrong)
    assert ray.ObjectRef.nil().is_nil()
    first, second = ray.ObjectRef.from_random(), ray.ObjectRef.from_random()
    assert not first.is_nil() and first != second
    assert pickle.loads(pickle.dumps(first)) == first


def test_object_ref_round_trips_through_a_task_unchanged(ray_shared):
    ray = ray_shared
    ref = ray.put(123)

    @ray.remote
    def echo(container):
        return container

    back = ray.get(echo.remote([ref]))[0]
    assert back == ref
    assert back.hex() == ref.hex()
    assert hash(back) == hash(ref)


def test_object_ref_future(ray_shared):
    ray = ray_shared

    @ray.remote
    def f(x):
        return x * 2

    fut = f.remote(21).future()
    assert isinstance(fut, concurrent.futures.Future)
    assert fut.result(timeout=30) == 42


def test_object_ref_future_carries_task_error(ray_shared):
    ray = ray_shared

    @ray.remote
    def bad():
        raise KeyError("missing")

    fut = bad.remote().future()
    with pytest.raises(KeyError):
        fut.result(timeout=30)


def test_await_object_ref(ray_shared):
    ray = ray_shared

    @ray.remote
    def f(x):
        return x + 1

    async def main():
        a = await f.remote(1)
        b, c = await asyncio.gather(f.remote(10), ray.put(99))
        return a, b, c

    assert asyncio.run(main()) == (2, 11, 99)


def test_object_ref_as_asyncio_future(ray_shared):
    ray = ray_shared

    @ray.remote
    def f(x):
        return x * 2

    @ray.remote
    def fail():
        raise KeyError("gone")

    loop = asyncio.new_event_loop()
    try:
        asyncio.set_event_loop(loop)
        futures = [f.remote(i).as_future() for i in range(3)]
        assert all(isinstance(fut, asyncio.Future) for fut in futures)
        assert loop.run_until_complete(asyncio.gather(*futures)) == [0, 2, 4]
        with pytest.raises(KeyError):
            loop.run_until_complete(fail.remote().as_future())
    finally:
        asyncio.set_event_loop(None)
        loop.close()


# ----------------------------------------------------------------------------------------------
# refs as task arguments
# ----------------------------------------------------------------------------------------------


def test_top_level_ref_arguments_are_resolved(ray_shared):
    ray = ray_shared

    @ray.remote
    def inspect_args(a, b, *, c):
        return [type(x).__name__ for x in (a, b, c)], a + b + c

    @ray.remote
    def two():
        return 2

    kinds, total = ray.get(inspect_args.remote(ray.put(1), two.remote(), c=ray.put(3)))
    assert kinds == ["int", "int", "int"]
    assert total == 6


def test_nested_refs_are_passed_as_refs(ray_shared):
    ray = ray_shared
    r1, r2 = ray.put("one"), ray.put("two")

    @ray.remote
    def inspect(lst, dct):
        assert all(isinstance(x, ray.ObjectRef) for x in lst)
        assert isinstance(dct["k"], ray.ObjectRef)
        return ray.get(lst) + [ray.get(dct["k"])]

    assert ray.get(inspect.remote([r1, r2], {"k": r1})) == ["one", "two", "one"]


def test_ref_inside_closure_and_custom_object(ray_shared):
    ray = ray_shared
    ref = ray.put(41)

    class Holder:
        def __init__(self, r):
            self.r = r

    def closure():
        return ray.get(ref) + 1

    @ray.remote
    def use(fn, holder):
        return fn(), ray.get(holder.r)

    assert ray.get(use.remote(closure, Holder(ref))) == (42, 41)

    @ray.remote
    def captures():
        return ray.get(ref) * 2

    assert ray.get(captures.remote()) == 82


def test_object_stays_alive_while_a_nested_ref_exists(ray_shared, tmp_path):
    ray = ray_shared
    signal = make_signal(ray)
    arr = np.arange(1_000_000)
    ref = ray.put(arr)
    expected = int(arr.sum())

    @ray.remote
    def later(container, sig):
        ray.get(sig.wait.remote())  # wait until the driver has dropped its ref
        return int(ray.get(container[0]).sum())

    out = later.remote([ref], signal)
    del ref
    gc.collect()
    ray.get(signal.send.remote())
    assert ray.get(out, timeout=30) == expected


def test_task_output_usable_as_argument_before_it_is_ready(ray_shared):
    ray = ray_shared
    signal = make_signal(ray)

    @ray.remote
    def produce(sig):
        ray.get(sig.wait.remote())
        return 10

    @ray.remote
    def consume(x):
        return x + 1

    out = consume.remote(produce.remote(signal))
    ready, _ = ray.wait([out], timeout=0.2)
    assert ready == []
    ray.get(signal.send.remote())
    assert ray.get(out, timeout=30) == 11


# ----------------------------------------------------------------------------------------------
# ray.wait
# ----------------------------------------------------------------------------------------------


def test_wait_preserves_input_order(ray_shared):
    ray = ray_shared
    signal = make_signal(ray)

    @ray.remote
    def blocked(sig, i):
        ray.get(sig.wait.remote())
        return i

    done = [ray.put(i) for i in range(4)]
    pending = [blocked.remote(signal, i) for i in range(3)]
    refs = [pending[0], done[0], done[1], pending[1], done[2], pending[2], done[3]]
    ready, not_ready = ray.wait(refs, num_returns=len(refs), timeout=1.0)
    assert ready == [done[0], done[1], done[2], done[3]]
    assert not_ready == [pending[0], pending[1], pending[2]]
    ray.get(signal.send.remote())
    assert ray.get(pending, timeout=30) == [0, 1, 2]


def test_wait_num_returns(ray_shared):
    ray = ray_shared
    refs = [ray.put(i) for i in range(5)]
    ready, not_ready = ray.wait(refs)  # default num_returns=1
    assert len(ready) == 1 and len(not_ready) == 4
    assert set(ready) | set(not_ready) == set(refs)

    ready, not_ready = ray.wait(refs, num_returns=3)
    assert len(ready) == 3 and len(not_ready) == 2
    assert set(ready) | set(not_ready) == set(refs)
    # both lists are subsequences of the input
    assert ready == [r for r in refs if r in ready]
    assert not_ready == [r for r in refs if r in not_ready]

    ready, not_ready = ray.wait(refs, num_returns=5)
    assert ready == refs and not_ready == []


def test_wait_timeout_zero_polls(ray_shared):
    ray = ray_shared
    signal = make_signal(ray)

    @ray.remote
    def blocked(sig):
        ray.get(sig.wait.remote())
        return 1

    pending = blocked.remote(signal)
    t0 = time.time()
    ready, not_ready = ray.wait([pending], timeout=0)
    assert time.time() - t0 < 2
    assert ready == [] and not_ready == [pending]
    ray.get(signal.send.remote())
    ready, not_ready = ray.wait([pending], timeout=30)
    assert ready == [pending] and not_ready == []


def test_wait_timeout_returns_partial(ray_shared):
    ray = ray_shared
    signal = make_signal(ray)

    @ray.remote
    def blocked(sig):
        ray.get(sig.wait.remote())
        return 1

    @ray.remote
    def quick():
        return 2

    pending = blocked.remote(signal)
    fast = quick.remote()
    t0 = time.time()
    ready, not_ready = ray.wait([pending, fast], num_returns=2, timeout=1.0)
    elapsed = time.time() - t0
    assert ready == [fast] and not_ready == [pending]
    assert 0.8 < elapsed < 10
    ray.get(signal.send.remote())
    assert ray.get([pending, fast], timeout=30) == [1, 2]


def test_wait_returns_as_soon_as_enough_are_ready(ray_shared):
    ray = ray_shared
    signal = make_signal(ray)

    @ray.remote
    def blocked(sig):
        ray.get(sig.wait.remote())
        return 1

    pending = blocked.remote(signal)
    t0 = time.time()
    ready, not_ready = ray.wait([pending, ray.put(0)], num_returns=1, timeout=20)
    assert time.time() - t0 < 10
    assert len(ready) == 1 and not_ready == [pending]
    ray.get(signal.send.remote())


def test_wait_failed_task_counts_as_ready(ray_shared):
    ray = ray_shared

    @ray.remote
    def bad():
        raise ValueError("x")

    ref = bad.remote()
    ready, not_ready = ray.wait([ref], timeout=30)
    assert ready == [ref] and not_ready == []
    with pytest.raises(ValueError):
        ray.get(ref)


def test_wait_empty_list(ray_shared):
    assert ray_shared.wait([]) == ([], [])


def test_wait_invalid_arguments(ray_shared):
    ray = ray_shared
    a, b = ray.put(1), ray.put(2)
    with pytest.raises(ValueError):
        ray.wait([a, b], num_returns=3)  # more than given
    with pytest.raises(ValueError):
        ray.wait([a, b], num_returns=0)
    with pytest.raises(ValueError):
        ray.wait([a, b], num_returns=-1)
    with pytest.raises(ValueError):
        ray.wait([a, a])  # duplicates
    with pytest.raises(ValueError):
        ray.wait([a], timeout=-1)
    with pytest.raises(TypeError):
        ray.wait(a)  # a bare ref instead of a list
    with pytest.raises(TypeError):
        ray.wait((a, b))  # tuples are not accepted either
    with pytest.raises(TypeError):
        ray.wait([a, 5])


# ----------------------------------------------------------------------------------------------
# ray.cancel
# ----------------------------------------------------------------------------------------------


def test_cancel_queued_task(ray_shared, tmp_path):
    ray = ray_shared
    release = tmp_path / "release"
    blocker_started = tmp_path / "blocker-started"
    victim_ran = tmp_path / "victim-ran"

    # the blocker takes every CPU of the 2-CPU cluster and does not call into Ray while it holds
    # them, so the victim stays queued
    @ray.remote(num_cpus=2)
    def blocker(release_path, started_path):
        open(started_path, "w").close()
        deadline = time.time() + 50
        while not os.path.exists(release_path) and time.time() < deadline:
            time.sleep(0.01)
        return "blocker done"

    @ray.remote(num_cpus=1)
    def victim(marker):
        open(marker, "w").close()
        return "victim ran"

    b = blocker.remote(str(release), str(blocker_started))
    _wait_for_file(blocker_started)
    v = victim.remote(str(victim_ran))
    ready, _ = ray.wait([v], timeout=0.3)
    assert ready == []
    ray.cancel(v)
    with pytest.raises(ray.exceptions.TaskCancelledError):
        ray.get(v, timeout=30)
    release.touch()
    assert ray.get(b, timeout=30) == "blocker done"

    # run something after the blocker so the victim would have had its chance to run
    @ray.remote(num_cpus=2)
    def after():
        return "after"

    assert ray.get(after.remote(), timeout=30) == "after"
    assert not victim_ran.exists()


def test_cancel_running_task(ray_shared, tmp_path):
    ray = ray_shared
    started = tmp_path / "started"

    @ray.remote(max_retries=0)
    def spin(path):
        open(path, "w").close()
        deadline = time.perf_counter() + 40
        while time.perf_counter() < deadline:
            pass
        return "finished"

    ref = spin.remote(str(started))
    _wait_for_file(started)
    t0 = time.time()
    ray.cancel(ref)
    with pytest.raises(ray.exceptions.TaskCancelledError):
        ray.get(ref, timeout=30)
    assert time.time() - t0 < 20

    # the cluster still works afterwards
    @ray.remote
    def ok():
        return "ok"

    assert ray.get(ok.remote(), timeout=30) == "ok"


def test_cancel_running_task_force(ray_shared, tmp_path):
    ray = ray_shared
    started = tmp_path / "started"

    @ray.remote(max_retries=0)
    def spin(path):
        open(path, "w").close()
        deadline = time.perf_counter() + 40
        while time.perf_counter() < deadline:
            pass
        return "finished"

    ref = spin.remote(str(started))
    _wait_for_file(started)
    t0 = time.time()
    ray.cancel(ref, force=True)
    with pytest.raises(ray.exceptions.TaskCancelledError):
        ray.get(ref, timeout=30)
    assert time.time() - t0 < 20

    @ray.remote
    def ok():
        return "ok"

    assert ray.get(ok.remote(), timeout=30) == "ok"


def test_cancelled_task_that_handles_the_interrupt_returns_its_value(ray_shared, tmp_path):
    ray = ray_shared
    started = tmp_path / "started"

    @ray.remote(max_retries=0)
    def careful(path):
        try:
            open(path, "w").close()
            deadline = time.perf_counter() + 40
            while time.perf_counter() < deadline:
                time.sleep(0.01)
            return "finished"
        except KeyboardInterrupt:
            return "interrupted", ray.get_runtime_context().is_canceled()

    ref = careful.remote(str(started))
    _wait_for_file(started)
    ray.cancel(ref)
    assert ray.get(ref, timeout=30) == ("interrupted", True)


def test_cancel_finished_task_is_a_no_op(ray_shared):
    ray = ray_shared

    @ray.remote
    def f():
        return "value"

    ref = f.remote()
    assert ray.get(ref) == "value"
    ray.cancel(ref)
    assert ray.get(ref) == "value"


def test_cancel_non_ref_raises_type_error(ray_shared):
    ray = ray_shared
    with pytest.raises(TypeError):
        ray.cancel("not a ref")


def test_a_result_get_returned_is_ready_for_wait_at_once(ray_shared):
    ray = ray_shared

    @ray.remote
    def slow(x):
        time.sleep(0.2)
        return x

    refs = [slow.remote(i) for i in range(3)]
    assert ray.get(refs) == [0, 1, 2]
    ready, not_ready = ray.wait(refs, num_returns=3, timeout=0)
    assert ready == refs and not_ready == []
    ray.cancel(refs[0])  # finished: nothing to cancel
    assert ray.get(refs[0]) == 0
    assert ray.get(slow.remote(ray.get(refs[2]))) == 2  # and usable as an argument


def test_pending_actor_result_inside_a_put_value(ray_shared):
    """A ref to an actor call still running, put inside a value and got back before the call
    ends, resolves in the driver and in a task once the call ends."""
    ray = ray_shared

    @ray.remote
    class Slow:
        def echo(self, x, seconds):
            time.sleep(seconds)
            return x

    @ray.remote
    def times_ten(boxed):
        return ray.get(boxed[0]) * 10

    actor = Slow.remote()
    ray.get(actor.echo.remote(0, 0))
    inner = ray.get(ray.put([actor.echo.remote(5, 1.0)]), timeout=30)
    assert ray.get(inner[0], timeout=30) == 5
    boxed = ray.put([actor.echo.remote(6, 1.0)])
    assert ray.get(times_ten.remote(ray.get(boxed)), timeout=30) == 60


# ----------------------------------------------------------------------------------------------
# ids and completion callbacks of a ref
# ----------------------------------------------------------------------------------------------


def test_ref_task_id_and_job_id_are_id_objects(ray_shared):
    ray = ray_shared

    @ray.remote
    def f():
        return 1

    ref, put_ref = f.remote(), ray.put(2)
    job = ray.get_runtime_context().get_job_id()
    for r in (ref, put_ref):
        assert isinstance(r.task_id(), ray.TaskID) and len(r.task_id().hex()) == 48
        assert isinstance(r.job_id(), ray.JobID) and r.job_id().hex() == job
    assert ray.get(ref) == 1


def test_on_completed_calls_back_with_the_value_or_the_error(ray_shared):
    ray = ray_shared
    signal = make_signal(ray)

    @ray.remote
    def wait_then(value, fail):
        ray.get(signal.wait.remote())
        if fail:
            raise ValueError("boom")
        return value

    # the refs are held until their callbacks ran (Ray's core worker aborts otherwise)
    got, five = concurrent.futures.Future(), ray.put(5)
    five._on_completed(got.set_result)
    assert got.result(timeout=30) == 5

    ok, bad = concurrent.futures.Future(), concurrent.futures.Future()
    refs = [wait_then.remote(7, False), wait_then.remote(0, True)]
    refs[0]._on_completed(ok.set_result)
    refs[1]._on_completed(bad.set_result)
    time.sleep(0.2)
    assert not ok.done() and not bad.done()
    ray.get(signal.send.remote())
    assert ok.result(timeout=60) == 7
    error = bad.result(timeout=60)
    # the error as Ray stores it (a RayTaskError; what ray.get would raise)
    assert isinstance(error, ray.exceptions.RayTaskError) and "boom" in str(error)


def test_large_values_passed_by_value_reach_tasks_and_actors_whole(ray_shared):
    """A large array or bytes passed by value (not put first) arrives whole, in a task, a task
    nested in it and an actor; Ray puts such an argument in its object store, so the array the
    task sees is read-only, like one from ``get``."""
    ray = ray_shared
    array = np.arange(4 << 20, dtype=np.int64)  # 32 MB
    blob = bytes(range(256)) * (8 << 10)  # 2 MB

    @ray.remote
    def look(x, b):
        return int(x.sum()), x.flags.writeable, len(b), b[:4]

    @ray.remote
    def nested(x, b):
        return ray.get(look.remote(x, b))

    @ray.remote
    class Holder:
        def look(self, x, b):
            return int(x.sum()), len(b)

    want = int(array.sum())
    assert ray.get(look.remote(array, blob), timeout=60) == (want, False, len(blob), blob[:4])
    assert ray.get(nested.remote(array, blob), timeout=60)[0] == want
    assert ray.get(Holder.remote().look.remote(array, blob), timeout=60) == (want, len(blob))
    array[0] = 99  # the caller's own array stays writable and is not shared with the task
    assert ray.get(look.remote(array, blob), timeout=60)[0] == want + 99


def test_caught_task_error_keeps_nothing_of_the_caller_alive(ray_shared):
    """An error ``get`` raised and the caller caught must not hold the caller's frame (its
    locals, its refs) once the caller returns."""
    ray = ray_shared

    @ray.remote
    def fail():
        raise ValueError("boom")

    class Marker:
        pass

    def call():
        marker = Marker()
        ref = fail.remote()
        for _ in range(2):
            try:
                ray.get(ref)
            except ray.exceptions.RayTaskError:
                pass
        assert ref is not None  # held by the frame until it returns
        return weakref.ref(marker)

    gone = call()
    deadline = time.monotonic() + 30
    while gone() is not None:
        assert time.monotonic() < deadline, "the caller's frame is still alive"
        gc.collect()
        time.sleep(0.05)
