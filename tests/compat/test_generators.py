"""Generators: streaming (``num_returns="streaming"``, the default for generator functions) and
dynamic (``num_returns="dynamic"``), from tasks and actor methods."""
# ruff: noqa: UP028 - explicit loops: Ray's async actors reject `yield from` over a non-generator

from __future__ import annotations

import asyncio
import pickle
import time

import numpy as np
import pytest
from compat_helpers import make_signal


def _counter(ray):
    @ray.remote(num_cpus=0)
    class Counter:
        def __init__(self):
            self.n = 0

        def incr(self):
            self.n += 1
            return self.n

        def value(self):
            return self.n

    return Counter.remote()


def _wait_until(predicate, timeout=30.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


# -- streaming from tasks -----------------------------------------------------------------------
def test_generator_function_streams_by_default(ray_shared):
    ray = ray_shared

    @ray.remote
    def numbers(n):
        for i in range(n):
            yield i * 10

    gen = numbers.remote(4)
    assert isinstance(gen, ray.ObjectRefGenerator)
    refs = list(gen)
    assert all(isinstance(r, ray.ObjectRef) for r in refs)
    assert ray.get(refs) == [0, 10, 20, 30]
    assert ray.get(gen.completed()) is None
    assert gen.is_finished()
    with pytest.raises(StopIteration):
        next(gen)


def test_explicit_streaming_and_options(ray_shared):
    ray = ray_shared

    @ray.remote(num_returns="streaming")
    def letters():
        yield "a"
        yield "b"

    assert [ray.get(r) for r in letters.remote()] == ["a", "b"]

    @ray.remote
    def plain():
        yield 1

    gen = plain.options(num_returns="streaming").remote()
    assert ray.get(next(gen)) == 1


def test_streaming_needs_a_generator_function(ray_shared):
    ray = ray_shared

    def not_a_generator():
        return 1

    with pytest.raises(ValueError, match="generator"):
        ray.remote(num_returns="streaming")(not_a_generator)
    with pytest.raises(ValueError, match="generator"):
        ray.remote(not_a_generator).options(num_returns="dynamic")


def test_refs_come_while_the_task_runs(ray_shared):
    ray = ray_shared
    signal = make_signal(ray)

    @ray.remote
    def first_then_wait(signal):
        yield "first"
        ray.get(signal.wait.remote())
        yield "second"

    gen = first_then_wait.remote(signal)
    assert ray.get(next(gen), timeout=30) == "first"
    ready, _ = ray.wait([gen], timeout=0.5)
    assert ready == []  # the second value is not made yet
    ray.get(signal.send.remote())
    assert ray.get(next(gen), timeout=30) == "second"
    with pytest.raises(StopIteration):
        next(gen)


def test_wait_on_generators(ray_shared):
    ray = ray_shared
    signal = make_signal(ray)

    @ray.remote
    def quick():
        yield 1

    @ray.remote
    def slow(signal):
        ray.get(signal.wait.remote())
        yield 2

    fast_gen, slow_gen = quick.remote(), slow.remote(signal)
    ready, not_ready = ray.wait([slow_gen, fast_gen], num_returns=1, timeout=30)
    assert ready == [fast_gen] and not_ready == [slow_gen]
    plain = ray.put(3)
    ready, not_ready = ray.wait([slow_gen, plain], num_returns=2, timeout=0.5)
    assert ready == [plain] and not_ready == [slow_gen]
    ray.get(signal.send.remote())
    ready, _ = ray.wait([slow_gen], timeout=30)
    assert ready == [slow_gen]
    assert ray.get(next(slow_gen)) == 2
    assert ray.get(next(fast_gen)) == 1
    # an exhausted generator is ready too: next() returns at once (StopIteration)
    ready, _ = ray.wait([fast_gen], timeout=30)
    assert ready == [fast_gen]
    with pytest.raises(StopIteration):
        next(fast_gen)


def test_error_mid_stream(ray_shared):
    ray = ray_shared

    @ray.remote
    def fails_after(n):
        for i in range(n):
            yield i
        raise ValueError("broken generator")

    gen = fails_after.remote(2)
    refs = list(gen)
    assert len(refs) == 3
    assert ray.get(refs[:2]) == [0, 1]
    with pytest.raises(ValueError, match="broken generator"):
        ray.get(refs[2])
    with pytest.raises(ray.exceptions.RayTaskError):
        ray.get(refs[2])
    assert ray.get(gen.completed()) is None  # the task itself ended normally
    assert gen.is_finished()


def test_error_before_the_first_yield(ray_shared):
    ray = ray_shared

    @ray.remote
    def fails_at_once():
        raise KeyError("nothing")
        yield 1

    gen = fails_at_once.remote()
    ref = next(gen)
    with pytest.raises(KeyError):
        ray.get(ref)
    with pytest.raises(StopIteration):
        next(gen)


def test_retried_generator_does_not_repeat_values(ray_shared):
    ray = ray_shared
    counter = _counter(ray)

    @ray.remote(retry_exceptions=True, max_retries=2)
    def flaky(counter):
        for i in range(4):
            yield i
            if i == 1 and ray.get(counter.incr.remote()) == 1:
                raise ValueError("first attempt fails")

    assert [ray.get(r) for r in flaky.remote(counter)] == [0, 1, 2, 3]
    assert ray.get(counter.value.remote()) == 2  # it ran twice


def test_cancel_a_generator(ray_shared):
    ray = ray_shared

    @ray.remote
    def endless():
        i = 0
        while True:
            yield i
            i += 1
            time.sleep(0.05)

    gen = endless.remote()
    assert ray.get(next(gen), timeout=30) == 0
    ray.cancel(gen)
    errors = 0
    for ref in gen:  # values made before the cancel may still come; then the cancel's error
        try:
            ray.get(ref, timeout=30)
        except ray.exceptions.TaskCancelledError:
            errors += 1
    assert errors == 1
    with pytest.raises(ray.exceptions.TaskCancelledError):
        ray.get(gen.completed(), timeout=30)


def _stream_actor(ray):
    @ray.remote(num_cpus=0)
    class Stream:
        async def numbers(self, n):
            for i in range(n):
                await asyncio.sleep(0.001)
                yield i

    return Stream.remote()


def _after_cancel(ray, values, errors, n):
    """What a consumer saw once it cancelled a stream of ``n`` numbers at 1: the cancel's
    error after the values, or (the stream ended before the cancel came) every value."""
    assert values[:2] == [0, 1]
    assert errors == 1 or (errors == 0 and values == list(range(n)))


def test_cancel_an_actor_generator_ends_its_stream(ray_shared):
    ray = ray_shared
    stream = _stream_actor(ray)
    gen = stream.numbers.options(num_returns="streaming").remote(200)
    values, errors = [], 0
    for ref in gen:  # the values yielded before the cancel were known to the consumer
        try:
            values.append(ray.get(ref, timeout=30))
        except ray.exceptions.TaskCancelledError:
            errors += 1
        if values[-1:] == [1] and errors == 0 and len(values) == 2:
            ray.cancel(gen)
            time.sleep(1)
    _after_cancel(ray, values, errors, 200)


def test_cancel_an_actor_generator_from_an_async_actor(ray_shared):
    ray = ray_shared
    stream = _stream_actor(ray)

    @ray.remote(num_cpus=0)
    class Consumer:
        async def consume(self, stream, n):
            gen = stream.numbers.options(num_returns="streaming").remote(n)
            values, errors = [], 0
            async for ref in gen:
                try:
                    values.append(await asyncio.wait_for(ref, 30))
                except ray.exceptions.TaskCancelledError:
                    errors += 1
                if values[-1:] == [1] and errors == 0 and len(values) == 2:
                    ray.cancel(gen, recursive=False)
                    time.sleep(1)  # blocks the loop, as a slow consumer would
            return values, errors

    values, errors = ray.get(Consumer.remote().consume.remote(stream, 200), timeout=90)
    _after_cancel(ray, values, errors, 200)


def test_wait_with_timeout_zero_sees_the_items_of_an_ended_generator(ray_shared):
    ray = ray_shared

    @ray.remote
    def two():
        yield 0
        yield 1

    gen = two.remote()
    ray.get(gen.completed(), timeout=60)  # the task ended: its items are all there
    for expected in (0, 1):
        ready, not_ready = ray.wait([gen], timeout=0)
        assert (len(ready), not_ready) == (1, [])
        assert ray.get(next(ready[0]), timeout=30) == expected
    ready, _ = ray.wait([gen], timeout=0)  # next raises StopIteration at once: ready too
    assert len(ready) == 1
    with pytest.raises(StopIteration):
        next(ready[0])


def test_completed_is_ready_once_the_stream_ended(ray_shared):
    ray = ray_shared

    @ray.remote
    def three():
        for i in range(3):
            time.sleep(0.2)
            yield i

    gen = three.remote()
    assert [ray.get(ref, timeout=30) for ref in gen] == [0, 1, 2]
    assert gen.is_finished() and not gen.next_ready()
    ready, _ = ray.wait([gen.completed()], timeout=0)
    assert len(ready) == 1


def test_backpressure(ray_shared):
    ray = ray_shared
    counter = _counter(ray)

    @ray.remote(_generator_backpressure_num_objects=2)
    def produce(counter):
        for i in range(10):
            ray.get(counter.incr.remote())
            yield i

    gen = produce.remote(counter)
    _wait_until(lambda: ray.get(counter.value.remote()) >= 2)
    time.sleep(1.0)
    assert ray.get(counter.value.remote()) == 2  # paused: two values not taken
    assert ray.get(next(gen)) == 0
    _wait_until(lambda: ray.get(counter.value.remote()) >= 3)
    time.sleep(1.0)
    assert ray.get(counter.value.remote()) == 3
    assert [ray.get(r) for r in gen] == list(range(1, 10))
    assert ray.get(counter.value.remote()) == 10


def test_backpressure_option_is_checked(ray_shared):
    ray = ray_shared

    def gen():
        yield 1

    with pytest.raises(ValueError):
        ray.remote(_generator_backpressure_num_objects=0)(gen)


def test_refs_passed_to_other_tasks(ray_shared):
    ray = ray_shared

    @ray.remote
    def numbers(n):
        for i in range(n):
            yield i

    @ray.remote
    def double(x):
        return 2 * x

    @ray.remote
    def total(refs):
        return sum(ray.get(refs))

    refs = list(numbers.remote(4))
    assert ray.get([double.remote(r) for r in refs]) == [0, 2, 4, 6]
    assert ray.get(total.remote(refs)) == 6


def test_large_numpy_items(ray_shared):
    ray = ray_shared

    @ray.remote
    def arrays(n):
        for i in range(n):
            yield np.full(2_000_000, i, dtype=np.float64)  # 16 MB each

    @ray.remote
    def mean(a):
        return float(a.mean())

    refs = []
    for i, ref in enumerate(arrays.remote(3)):
        value = ray.get(ref)
        assert value.shape == (2_000_000,) and value[0] == i
        refs.append(ref)
        del value
    assert ray.get([mean.remote(r) for r in refs]) == [0.0, 1.0, 2.0]


def test_consuming_inside_a_task(ray_shared):
    ray = ray_shared

    @ray.remote
    def numbers(n):
        for i in range(n):
            yield i

    @ray.remote
    def consume(n):
        gen = numbers.remote(n)
        ready, _ = ray.wait([gen], timeout=30)
        assert ready == [gen]
        return [ray.get(r) for r in gen]

    assert ray.get(consume.remote(3), timeout=60) == [0, 1, 2]


def test_dropped_generator_task_runs_to_its_end(ray_shared):
    ray = ray_shared
    counter = _counter(ray)

    @ray.remote
    def produce(counter, n):
        for _ in range(n):
            ray.get(counter.incr.remote())
            yield np.zeros(100_000)

    gen = produce.remote(counter, 5)
    ray.get(next(gen))
    del gen
    _wait_until(lambda: ray.get(counter.value.remote()) == 5)


def test_generators_do_not_pickle(ray_shared):
    ray = ray_shared

    @ray.remote
    def one():
        yield 1

    gen = one.remote()
    with pytest.raises(TypeError):
        pickle.dumps(gen)
    assert ray.get(next(gen)) == 1


def test_get_of_a_generator_returns_it(ray_shared):
    ray = ray_shared

    @ray.remote
    def one():
        yield 1

    gen = one.remote()
    assert ray.get(gen) is gen
    list(gen)


# -- async consumers ------------------------------------------------------------------------------
def test_async_for_in_the_driver(ray_shared):
    ray = ray_shared

    @ray.remote
    def numbers(n):
        for i in range(n):
            yield i

    async def consume():
        values = [await ref async for ref in numbers.remote(3)]
        gen = numbers.remote(1)
        first = await gen.__anext__()
        with pytest.raises(StopAsyncIteration):
            await gen.__anext__()
        return values, await first

    assert asyncio.run(consume()) == ([0, 1, 2], 0)


def test_async_for_inside_an_async_actor(ray_shared):
    ray = ray_shared

    @ray.remote
    def numbers(n):
        for i in range(n):
            yield i

    @ray.remote
    class Consumer:
        async def total(self, n):
            total = 0
            async for ref in numbers.remote(n):
                total += await ref
            return total

    assert ray.get(Consumer.remote().total.remote(4), timeout=60) == 6


# -- actor methods --------------------------------------------------------------------------------
def test_actor_generator_methods(ray_shared):
    ray = ray_shared

    @ray.remote
    class Source:
        def __init__(self):
            self.base = 100

        def numbers(self, n):
            for i in range(n):
                yield self.base + i

        @ray.method(num_returns="streaming")
        def explicit(self):
            yield "x"

        def fails(self):
            yield 1
            raise RuntimeError("method broke")

    source = Source.remote()
    gen = source.numbers.remote(3)
    assert isinstance(gen, ray.ObjectRefGenerator)
    assert [ray.get(r) for r in gen] == [100, 101, 102]
    assert [ray.get(r) for r in source.explicit.remote()] == ["x"]
    refs = list(source.fails.remote())
    assert ray.get(refs[0]) == 1
    with pytest.raises(RuntimeError, match="method broke"):
        ray.get(refs[1])
    assert ray.get(next(source.numbers.options(num_returns="streaming").remote(1))) == 100


def test_async_actor_generator_methods(ray_shared):
    ray = ray_shared

    @ray.remote
    class AsyncSource:
        async def numbers(self, n):
            for i in range(n):
                await asyncio.sleep(0.01)
                yield i

        def sync_numbers(self, n):
            for i in range(n):
                yield i

    source = AsyncSource.remote()
    assert [ray.get(r) for r in source.numbers.remote(3)] == [0, 1, 2]
    assert [ray.get(r) for r in source.sync_numbers.remote(2)] == [0, 1]


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_actor_generator_method_retried_after_partial_output(ray_shared, kind):
    ray = ray_shared
    counter = _counter(ray)

    class _Flaky(Exception):  # defined here: Ray's workers cannot import this test module
        pass

    @ray.remote(max_task_retries=2)
    class Source:
        def numbers(self, counter, fail_times):
            for i in range(3):
                yield i
                if i == 1 and ray.get(counter.incr.remote()) <= fail_times:
                    raise _Flaky("fails after partial output")

        async def async_numbers(self, counter, fail_times):
            for i in range(3):
                yield i
                if i == 1 and await counter.incr.remote() <= fail_times:
                    raise _Flaky("fails after partial output")

    source = Source.remote()
    method = source.numbers if kind == "sync" else source.async_numbers
    # two failures, two retries: the third run ends; no value is seen twice
    gen = method.options(retry_exceptions=[_Flaky]).remote(counter, 2)
    assert [ray.get(r) for r in gen] == [0, 1, 2]
    assert ray.get(counter.value.remote()) == 3
    # three failures: retries spent, the error is the item after the values
    gen = method.options(retry_exceptions=[_Flaky]).remote(counter, 6)
    assert ray.get(next(gen)) == 0 and ray.get(next(gen)) == 1
    with pytest.raises(_Flaky):
        ray.get(next(gen))
    with pytest.raises(StopIteration):
        next(gen)
    assert ray.get(counter.value.remote()) == 6
    # not listed in retry_exceptions: not retried
    gen = method.remote(counter, 7)
    assert ray.get(next(gen)) == 0 and ray.get(next(gen)) == 1
    with pytest.raises(_Flaky):
        ray.get(next(gen))
    assert ray.get(counter.value.remote()) == 7


def test_actor_method_backpressure(ray_shared):
    ray = ray_shared
    counter = _counter(ray)

    @ray.remote
    class Source:
        def produce(self, counter):
            for i in range(5):
                ray.get(counter.incr.remote())
                yield i

    source = Source.remote()
    gen = source.produce.options(_generator_backpressure_num_objects=1).remote(counter)
    _wait_until(lambda: ray.get(counter.value.remote()) >= 1)
    time.sleep(1.0)
    assert ray.get(counter.value.remote()) == 1
    assert [ray.get(r) for r in gen] == list(range(5))


# -- dynamic --------------------------------------------------------------------------------------
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_dynamic_generators(ray_shared):
    ray = ray_shared

    @ray.remote(num_returns="dynamic")
    def numbers(n):
        for i in range(n):
            yield i

    ref = numbers.remote(3)
    assert isinstance(ref, ray.ObjectRef)
    dynamic = ray.get(ref)
    assert isinstance(dynamic, ray.DynamicObjectRefGenerator)
    assert len(dynamic) == 3
    assert [ray.get(r) for r in dynamic] == [0, 1, 2]
    both = ray.get([numbers.remote(2), numbers.remote(1)])
    assert [[ray.get(r) for r in d] for d in both] == [[0, 1], [0]]

    @ray.remote
    def total(dynamic):  # a top-level ref is resolved: the DynamicObjectRefGenerator
        return sum(ray.get(list(dynamic)))

    assert ray.get(total.remote(numbers.remote(4))) == 6


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_dynamic_actor_method(ray_shared):
    ray = ray_shared

    @ray.remote
    class Source:
        def numbers(self, n):
            yield from range(n)

    source = Source.remote()
    ref = source.numbers.options(num_returns="dynamic").remote(3)
    assert [ray.get(r) for r in ray.get(ref)] == [0, 1, 2]


def test_exported_names(ray_shared):
    ray = ray_shared
    assert ray._raylet.ObjectRefGenerator is ray.ObjectRefGenerator
    assert ray._raylet.DynamicObjectRefGenerator is ray.DynamicObjectRefGenerator


def test_static_num_returns_generator_error_reaches_only_the_missing_returns(ray_shared):
    ray = ray_shared

    @ray.remote
    def two_then_fail():
        yield "a"
        yield "b"
        raise KeyError("after two")

    refs = two_then_fail.options(num_returns=4).remote()
    assert ray.get(refs[:2]) == ["a", "b"]
    for ref in refs[2:]:
        with pytest.raises(KeyError):
            ray.get(ref)

    # failing once every return is made: the values stand (Ray only logs the error)
    first, second = two_then_fail.options(num_returns=2).remote()
    assert ray.get([first, second]) == ["a", "b"]


def test_static_num_returns_generator_method(ray_shared):
    ray = ray_shared

    @ray.remote
    class Source:
        @ray.method(num_returns=3)
        def one_then_fail(self):
            yield 10
            raise ValueError("no more")

    head, *rest = Source.remote().one_then_fail.remote()
    assert ray.get(head) == 10
    for ref in rest:
        with pytest.raises(ValueError):
            ray.get(ref)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_dynamic_generator_error_is_its_last_ref(ray_shared):
    ray = ray_shared

    @ray.remote(num_returns="dynamic")
    def two_then_fail():
        yield "a"
        yield "b"
        raise KeyError("after two")

    @ray.remote
    class Source:
        @ray.method(num_returns="dynamic")
        def one_then_fail(self):
            yield 1
            raise ValueError("no more")

    refs = list(ray.get(two_then_fail.remote()))  # the task itself succeeds
    assert len(refs) == 3 and ray.get(refs[:2]) == ["a", "b"]
    with pytest.raises(KeyError):
        ray.get(refs[2])
    head, last = ray.get(Source.remote().one_then_fail.remote())
    assert ray.get(head) == 1
    with pytest.raises(ValueError):
        ray.get(last)


def test_generator_with_num_returns_one_returns_its_value(ray_shared):
    ray = ray_shared

    @ray.remote(max_retries=0)
    def yields(n):
        for i in range(n):
            yield [i]

    @ray.remote
    class Source:
        def yields(self, n):
            for i in range(n):
                yield {"i": i}

    assert ray.get(yields.options(num_returns=1).remote(1)) == [0]
    source = Source.remote()
    assert ray.get(source.yields.options(num_returns=1).remote(1)) == {"i": 0}
    first, second = yields.options(num_returns=2).remote(2)
    assert ray.get([first, second]) == [[0], [1]]


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_dynamic_generator_retries_a_listed_exception(ray_shared):
    ray = ray_shared

    class Flaky(Exception):
        pass

    counter = _counter(ray)

    @ray.remote(num_returns="dynamic", max_retries=1)
    def values(counter):
        yield "first"
        if ray.get(counter.incr.remote()) == 1:
            raise Flaky("first attempt")
        yield "second"

    head, error = ray.get(values.remote(counter))  # not listed: the error is the last ref
    assert ray.get(head) == "first"
    with pytest.raises(Flaky):
        ray.get(error)
    counter = _counter(ray)
    refs = list(ray.get(values.options(retry_exceptions=[Flaky]).remote(counter)))
    assert ray.get(refs) == ["first", "second"]
    assert ray.get(counter.value.remote()) == 2


@pytest.mark.timeout(180)
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_dynamic_generator_values_read_from_another_node(ray_fresh):
    import importlib

    ray = ray_fresh
    cluster = importlib.import_module(f"{ray.__name__}.cluster_utils").Cluster()
    try:
        cluster.add_node(num_cpus=0)  # the driver's node runs nothing
        ray.init(address=cluster.address)
        cluster.add_node(num_cpus=1)
        cluster.wait_for_nodes()

        @ray.remote(num_returns="dynamic")
        def arrays(n):
            for i in range(n):
                yield np.full(1_000_000, i, dtype=np.int8)

        refs = list(ray.get(arrays.remote(3), timeout=120))
        assert [int(ray.get(ref, timeout=60)[0]) for ref in refs] == [0, 1, 2]
    finally:
        ray.shutdown()
        cluster.shutdown()
