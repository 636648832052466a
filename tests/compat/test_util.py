"""``ray.util``: ``ActorPool`` and ``ray.util.queue.Queue``."""

from __future__ import annotations

import asyncio
import importlib
import queue as std_queue
import time

import pytest

# Anything that runs remotely (actor classes, functions) is defined inside the tests: module level
# objects are pickled by reference and the test module is not importable on workers.


def _queue_module(ray):
    return importlib.import_module(ray.__name__ + ".util.queue")


def _make_pool(ray, n=2):
    @ray.remote(num_cpus=0)
    class Worker:
        def double(self, v):
            return 2 * v

        def sleep_then(self, args):
            seconds, value = args
            time.sleep(seconds)
            return value

        def fail(self, v):
            raise ValueError(f"bad {v}")

    actors = [Worker.remote() for _ in range(n)]
    return actors, ray.util.ActorPool(actors)


# ----------------------------------------------------------------------------------------------
# ActorPool
# ----------------------------------------------------------------------------------------------


def test_pool_map_is_ordered(ray_shared):
    ray = ray_shared
    _, pool = _make_pool(ray)
    # later values finish first, yet map yields in input order
    values = [(0.3, "a"), (0.0, "b"), (0.2, "c"), (0.0, "d"), (0.0, "e")]
    assert list(pool.map(lambda a, v: a.sleep_then.remote(v), values)) == list("abcde")
    assert not pool.has_next()
    assert list(pool.map(lambda a, v: a.double.remote(v), range(7))) == [0, 2, 4, 6, 8, 10, 12]


def test_pool_map_is_lazy_generator(ray_shared):
    ray = ray_shared
    _, pool = _make_pool(ray)
    gen = pool.map(lambda a, v: a.double.remote(v), [1, 2, 3])
    assert next(gen) == 2
    assert list(gen) == [4, 6]
    assert list(pool.map(lambda a, v: a.double.remote(v), [])) == []


def test_pool_map_unordered(ray_shared):
    ray = ray_shared
    _, pool = _make_pool(ray)
    values = [(1.0, "slow"), (0.0, "fast1"), (0.0, "fast2")]
    out = list(pool.map_unordered(lambda a, v: a.sleep_then.remote(v), values))
    assert sorted(out) == ["fast1", "fast2", "slow"]
    assert out[-1] == "slow"
    assert sorted(pool.map_unordered(lambda a, v: a.double.remote(v), range(5))) == [0, 2, 4, 6, 8]


def test_pool_submit_get_next_and_backlog(ray_shared):
    ray = ray_shared
    _, pool = _make_pool(ray)
    assert not pool.has_next()
    for v in range(5):  # 2 actors: three submissions wait for a free actor
        pool.submit(lambda a, v: a.double.remote(v), v)
    assert pool.has_next()
    assert not pool.has_free()
    assert [pool.get_next() for _ in range(5)] == [0, 2, 4, 6, 8]
    assert not pool.has_next()
    assert pool.has_free()
    with pytest.raises(StopIteration):
        pool.get_next()
    with pytest.raises(StopIteration):
        pool.get_next_unordered()


def test_pool_get_next_unordered(ray_shared):
    ray = ray_shared
    _, pool = _make_pool(ray)
    pool.submit(lambda a, v: a.sleep_then.remote(v), (0.5, "slow"))
    pool.submit(lambda a, v: a.sleep_then.remote(v), (0.0, "fast"))
    assert pool.get_next_unordered() == "fast"
    assert pool.get_next_unordered() == "slow"
    assert not pool.has_next()


def test_pool_has_free_push_pop_idle(ray_shared):
    ray = ray_shared
    (a1, a2), pool = _make_pool(ray)
    assert pool.has_free()
    first = pool.pop_idle()
    second = pool.pop_idle()
    assert {first, second} == {a1, a2}
    assert pool.pop_idle() is None
    assert not pool.has_free()

    pool.submit(lambda a, v: a.double.remote(v), 21)  # no actor: waits in the pool
    assert not pool.has_free()
    assert pool.has_next() is False  # nothing is running yet
    pool.push(first)  # the waiting submission starts on the pushed actor
    assert pool.has_next()
    assert pool.pop_idle() is None
    with pytest.raises(ValueError):
        pool.push(first)  # busy in the pool
    assert pool.get_next() == 42
    assert pool.has_free()
    with pytest.raises(ValueError):
        pool.push(first)  # idle in the pool
    pool.push(second)
    assert {pool.pop_idle(), pool.pop_idle()} == {a1, a2}
    assert pool.pop_idle() is None


def test_pool_get_next_timeout(ray_shared):
    ray = ray_shared
    _, pool = _make_pool(ray, n=1)
    pool.submit(lambda a, v: a.sleep_then.remote(v), (4.0, "late"))
    t0 = time.monotonic()
    with pytest.raises(TimeoutError):
        pool.get_next(timeout=0.1)
    assert time.monotonic() - t0 < 3.0  # raised at its timeout, not when the call ended
    assert pool.has_next()  # still pending
    with pytest.raises(TimeoutError):
        pool.get_next_unordered(timeout=0.1)
    assert pool.get_next(timeout=30) == "late"

    pool.submit(lambda a, v: a.sleep_then.remote(v), (1.0, "dropped"))
    pool.submit(lambda a, v: a.double.remote(v), 5)
    with pytest.raises(TimeoutError):
        pool.get_next(timeout=0.1, ignore_if_timedout=True)  # drops "dropped"
    assert pool.get_next() == 10
    assert not pool.has_next()


def test_pool_task_error_returns_actor(ray_shared):
    ray = ray_shared
    _, pool = _make_pool(ray, n=1)
    pool.submit(lambda a, v: a.fail.remote(v), 1)
    pool.submit(lambda a, v: a.double.remote(v), 2)
    with pytest.raises(ValueError, match="bad 1"):
        pool.get_next()
    assert pool.get_next() == 4
    assert pool.has_free()


def test_pool_get_next_after_unordered_is_refused(ray_shared):
    ray = ray_shared
    _, pool = _make_pool(ray)
    pool.submit(lambda a, v: a.sleep_then.remote(v), (0.5, "slow"))
    pool.submit(lambda a, v: a.sleep_then.remote(v), (0.0, "fast"))
    assert pool.get_next_unordered() == "fast"
    with pytest.raises(ValueError):
        pool.get_next()
    assert pool.get_next_unordered() == "slow"


# ----------------------------------------------------------------------------------------------
# Queue
# ----------------------------------------------------------------------------------------------


def test_queue_exceptions(ray_shared):
    qmod = _queue_module(ray_shared)
    assert issubclass(qmod.Empty, std_queue.Empty)
    assert issubclass(qmod.Full, std_queue.Full)


def test_queue_put_get_fifo_and_sizes(ray_shared):
    qmod = _queue_module(ray_shared)
    q = qmod.Queue()
    assert q.empty() and not q.full()
    assert q.qsize() == 0 and q.size() == 0 and len(q) == 0
    items = [1, "two", {"three": 3}, [4], None]
    for item in items:
        q.put(item)
    assert q.qsize() == 5 and len(q) == 5 and not q.empty()
    assert [q.get() for _ in items] == items
    assert q.empty()
    q.put_nowait("x")
    assert q.get_nowait() == "x"
    q.shutdown()


def test_queue_nowait_and_timeouts(ray_shared):
    qmod = _queue_module(ray_shared)
    q = qmod.Queue(maxsize=2)
    with pytest.raises(qmod.Empty):
        q.get_nowait()
    with pytest.raises(qmod.Empty):
        q.get(block=False)
    t0 = time.monotonic()
    with pytest.raises(qmod.Empty):
        q.get(timeout=0.2)
    assert 0.15 < time.monotonic() - t0 < 5
    q.put(1)
    q.put(2)
    assert q.full() and q.qsize() == 2
    with pytest.raises(qmod.Full):
        q.put_nowait(3)
    with pytest.raises(qmod.Full):
        q.put(3, block=False)
    with pytest.raises(qmod.Full):
        q.put(3, timeout=0.2)
    with pytest.raises(std_queue.Full):  # also the standard library's
        q.put_nowait(3)
    with pytest.raises(ValueError):
        q.put(3, timeout=-1)
    with pytest.raises(ValueError):
        q.get(timeout=-1)
    assert [q.get(), q.get()] == [1, 2]
    with pytest.raises(std_queue.Empty):
        q.get_nowait()
    q.shutdown(force=True)


def test_queue_batches(ray_shared):
    qmod = _queue_module(ray_shared)
    q = qmod.Queue(maxsize=5)
    q.put_nowait_batch([1, 2, 3])
    assert q.qsize() == 3
    with pytest.raises(qmod.Full):
        q.put_nowait_batch([4, 5, 6])  # all or nothing
    assert q.qsize() == 3
    q.put_nowait_batch((4, 5))
    assert q.full()
    with pytest.raises(qmod.Empty):
        q.get_nowait_batch(6)  # all or nothing
    assert q.get_nowait_batch(2) == [1, 2]
    assert q.get_nowait_batch(0) == []
    assert q.get_nowait_batch(3) == [3, 4, 5]
    assert q.empty()
    with pytest.raises(TypeError):
        q.put_nowait_batch(7)
    with pytest.raises(TypeError):
        q.get_nowait_batch("1")
    with pytest.raises(ValueError):
        q.get_nowait_batch(-1)
    q.shutdown()


def test_queue_blocking_get_waits_for_put(ray_shared):
    ray = ray_shared
    qmod = _queue_module(ray)
    q = qmod.Queue()

    @ray.remote(num_cpus=0)
    def put_later(q, item):
        time.sleep(0.3)
        q.put(item)

    ref = put_later.remote(q, "late")
    assert q.get(timeout=30) == "late"
    ray.get(ref)


def test_queue_producer_consumer_tasks(ray_shared):
    ray = ray_shared
    qmod = _queue_module(ray)
    q = qmod.Queue(maxsize=3)  # small: the producer has to wait for the consumer

    @ray.remote
    def producer(q, n):
        for i in range(n):
            q.put(i)
        q.put(None)
        return n

    @ray.remote
    def consumer(q):
        got = []
        while True:
            item = q.get(timeout=30)
            if item is None:
                return got
            got.append(item)

    c = consumer.remote(q)
    p = producer.remote(q, 20)
    assert ray.get(p, timeout=60) == 20
    assert ray.get(c, timeout=60) == list(range(20))
    assert q.empty()


def test_queue_used_from_actor(ray_shared):
    ray = ray_shared
    qmod = _queue_module(ray)
    q = qmod.Queue()

    @ray.remote(num_cpus=0)
    class Relay:
        def __init__(self, inbox):
            self.inbox = inbox

        def take(self, n):
            return [self.inbox.get(timeout=30) for _ in range(n)]

        def give(self, outbox, items):
            outbox.put_nowait_batch(items)
            return outbox.qsize()

        def empty_error(self, outbox):
            try:
                outbox.get_nowait()
            except std_queue.Empty as exc:
                return type(exc).__name__
            return "no error"

    relay = Relay.remote(q)
    q.put("a")
    q.put("b")
    assert ray.get(relay.take.remote(2)) == ["a", "b"]
    out = qmod.Queue()
    assert ray.get(relay.give.remote(out, [1, 2, 3])) == 3
    assert out.get_nowait_batch(3) == [1, 2, 3]
    assert ray.get(relay.empty_error.remote(out)) == "Empty"


def test_queue_async_methods(ray_shared):
    qmod = _queue_module(ray_shared)
    q = qmod.Queue(maxsize=1)

    async def main():
        await q.put_async(1)
        with pytest.raises(qmod.Full):
            await q.put_async(2, block=False)
        with pytest.raises(qmod.Full):
            await q.put_async(2, timeout=0.1)
        assert await q.get_async() == 1
        with pytest.raises(qmod.Empty):
            await q.get_async(block=False)
        with pytest.raises(qmod.Empty):
            await q.get_async(timeout=0.1)

    asyncio.run(main())


def test_queue_actor_options_and_shutdown(ray_shared):
    ray = ray_shared
    qmod = _queue_module(ray)
    q = qmod.Queue(actor_options={"num_cpus": 0})
    q.put(1)
    assert q.get() == 1
    q.shutdown()
    assert q.actor is None
    q.shutdown()  # again: nothing to do


def test_list_named_actors(ray_shared):
    ray = ray_shared

    @ray.remote
    class Named:
        def ping(self):
            return "pong"

    a = Named.options(name="listed-a").remote()
    b = Named.options(name="listed-b", namespace="elsewhere").remote()
    assert ray.get([a.ping.remote(), b.ping.remote()]) == ["pong", "pong"]
    names = ray.util.list_named_actors()
    assert "listed-a" in names and "listed-b" not in names
    everywhere = ray.util.list_named_actors(all_namespaces=True)
    assert {"name": "listed-b", "namespace": "elsewhere"} in everywhere
    ray.kill(a)
    ray.kill(b)


def test_get_node_ip_address_matches_a_node(ray_shared):
    ray = ray_shared

    @ray.remote
    def where():
        return ray.util.get_node_ip_address()

    addresses = {n["NodeManagerAddress"] for n in ray.nodes()}
    assert ray.get(where.remote()) in addresses


def test_get_node_ip_address_before_init_starts_nothing(ray_fresh):
    import ipaddress

    ray = ray_fresh
    importlib.import_module(f"{ray.__name__}.util")
    ipaddress.ip_address(ray.util.get_node_ip_address())  # an address, not an error
    assert not ray.is_initialized()


# ----------------------------------------------------------------------------------------------
# as_completed, map_unordered
# ----------------------------------------------------------------------------------------------


def _sleeper(ray):
    @ray.remote(num_cpus=0)
    def sleep_then(seconds, value):
        time.sleep(seconds)
        return value

    return sleep_then


def test_as_completed_yields_every_value(ray_shared):
    ray = ray_shared
    refs = [ray.put(i) for i in range(25)]
    assert sorted(ray.util.as_completed(refs)) == list(range(25))
    assert sorted(ray.util.as_completed(refs, chunk_size=7)) == list(range(25))
    assert list(ray.util.as_completed([])) == []


def test_as_completed_fast_results_first(ray_shared):
    ray = ray_shared
    sleep_then = _sleeper(ray)
    refs = [sleep_then.remote(1.5, "slow"), sleep_then.remote(0.0, "fast"),
            sleep_then.remote(0.3, "middle")]
    out = list(ray.util.as_completed(refs, chunk_size=1))
    assert out == ["fast", "middle", "slow"]


def test_as_completed_is_lazy_and_yields_refs(ray_shared):
    ray = ray_shared
    sleep_then = _sleeper(ray)
    refs = [sleep_then.remote(0.0, "a"), sleep_then.remote(0.0, "b")]
    gen = ray.util.as_completed(refs, yield_obj_refs=True, chunk_size=2, timeout=30)
    out = list(gen)
    assert sorted(ray.get(out)) == ["a", "b"]
    assert all(isinstance(r, ray.ObjectRef) for r in out)


def test_as_completed_raises_task_errors(ray_shared):
    ray = ray_shared

    @ray.remote
    def fail():
        raise ValueError("as_completed boom")

    with pytest.raises(ValueError, match="as_completed boom"):
        list(ray.util.as_completed([fail.remote()]))
    refs = list(ray.util.as_completed([fail.remote()], yield_obj_refs=True))
    assert len(refs) == 1  # refs are yielded without looking at the value


def test_as_completed_bad_arguments(ray_shared):
    ray = ray_shared
    refs = [ray.put(1)]
    with pytest.raises(ValueError):
        list(ray.util.as_completed(refs, chunk_size=0))
    with pytest.raises(ValueError):
        list(ray.util.as_completed(refs, num_returns=1))


def test_map_unordered(ray_shared):
    ray = ray_shared

    @ray.remote
    def double(x):
        return 2 * x

    assert sorted(ray.util.map_unordered(double, range(30))) == list(range(0, 60, 2))
    out = ray.util.map_unordered(double, range(9), backpressure_size=2, chunk_size=1)
    assert sorted(out) == list(range(0, 18, 2))
    out = ray.util.map_unordered(double, iter(range(5)), backpressure_size=None)
    assert sorted(out) == [0, 2, 4, 6, 8]
    refs = list(ray.util.map_unordered(double, range(4), yield_obj_refs=True))
    assert sorted(ray.get(refs)) == [0, 2, 4, 6]


def test_map_unordered_backpressure_bounds_submissions(ray_shared):
    ray = ray_shared
    submitted = []

    class Counting:
        def __init__(self, fn):
            self.fn = fn

        def remote(self, item):
            submitted.append(item)
            return self.fn.remote(item)

    @ray.remote
    def ident(x):
        return x

    gen = ray.util.map_unordered(Counting(ident), range(20), backpressure_size=4, chunk_size=2)
    first = next(gen)
    assert first in range(4)
    assert len(submitted) == 4  # nothing more was submitted before the first result
    assert sorted([first, *gen]) == list(range(20))


def test_map_unordered_bad_arguments(ray_shared):
    ray = ray_shared

    @ray.remote
    def ident(x):
        return x

    for kwargs in ({"backpressure_size": 0}, {"chunk_size": 0}, {"num_returns": 2}):
        with pytest.raises(ValueError):
            list(ray.util.map_unordered(ident, [1, 2], **kwargs))


@pytest.mark.parametrize("warning", [True, False])
def test_deprecated_marks_the_docstring(ray_module, warning):
    import importlib
    import warnings

    annotations = importlib.import_module(f"{ray_module.__name__}.util.annotations")

    @annotations.Deprecated(message="use g instead", warning=warning)
    def f():
        """Summary.

        More.
        """
        return 1

    @annotations.Deprecated(message="use B instead", warning=warning)
    class A:
        pass

    assert "use g instead" in f.__doc__ and "DEPRECATED" in f.__doc__
    assert f.__doc__.startswith("Summary.")
    assert "use B instead" in A.__doc__
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert f() == 1
        A()
    assert bool(caught) is warning
