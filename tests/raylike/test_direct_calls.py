"""Actor calls the driver sends straight to the actor's worker (``raylike._dask.client.direct``):
their refs
must behave like any other once they leave the driver."""
from __future__ import annotations

import pytest

import raylike as ray


@pytest.fixture
def counter():
    # function scope: tests/raylike/conftest.py shuts raylike down around every test
    ray.init(num_cpus=2, include_dashboard=False)

    @ray.remote
    class Counter:
        def __init__(self):
            self.n = 0

        def incr(self, by=1):
            self.n += by
            return self.n

        def fail(self):
            raise KeyError("missing")

    yield Counter.remote()
    ray.shutdown()


@ray.remote
def add_one(x):
    return x + 1


@ray.remote
def get_nested(box):
    return ray.get(box[0]) * 10


def test_driver_calls_are_direct_and_get_works(counter):
    ref = counter.incr.remote()
    assert ref._direct is not None  # the driver's calls take the direct path
    assert ray.get(ref) >= 1


def test_direct_ref_as_a_task_argument(counter):
    ref = counter.incr.remote(0)
    before = ray.get(ref)
    assert ray.get(add_one.remote(counter.incr.remote(0))) == before + 1


def test_direct_ref_nested_in_a_task_argument(counter):
    value = ray.get(counter.incr.remote(0))
    assert ray.get(get_nested.remote([counter.incr.remote(0)])) == value * 10


def test_direct_ref_passed_to_another_actor_call(counter):
    @ray.remote
    class Echo:
        def echo(self, x):
            return x

    echo = Echo.remote()
    value = ray.get(counter.incr.remote(0))
    assert ray.get(echo.echo.remote(counter.incr.remote(0))) == value


def test_direct_ref_inside_a_put_value(counter):
    value = ray.get(counter.incr.remote(0))
    boxed = ray.put([counter.incr.remote(0)])
    assert ray.get(get_nested.remote(ray.get(boxed))) == value * 10


def test_wait_mixes_direct_and_task_refs(counter):
    refs = [counter.incr.remote(0), add_one.remote(1)]
    ready, not_ready = ray.wait(refs, num_returns=2, timeout=30)
    assert ready == refs and not_ready == []


def test_errors_of_direct_calls_keep_their_type(counter):
    with pytest.raises(KeyError):
        ray.get(counter.fail.remote())
    with pytest.raises(KeyError):  # also once the ref has become an ordinary object
        ray.get(add_one.remote(counter.fail.remote()))


def test_direct_calls_keep_submission_order(counter):
    start = ray.get(counter.incr.remote(0))
    values = ray.get([counter.incr.remote() for _ in range(300)])
    assert values == list(range(start + 1, start + 301))


def test_future_and_await_of_a_direct_ref(counter):
    import asyncio

    ref = counter.incr.remote(1)
    assert ref.future().result(timeout=30) == 1

    async def read():
        return await counter.incr.remote(1)

    assert asyncio.run(read()) == 2


@ray.remote
def incr_and_get(counter):
    # a task's actor call is a direct call of its worker: its key is a Dask key only once
    # answered; the get right after it must never see that object released
    return ray.get(counter.incr.remote(), timeout=60)


def test_tasks_calling_an_actor_and_getting_at_once(counter):
    for _ in range(5):
        values = ray.get([incr_and_get.remote(counter) for _ in range(40)], timeout=120)
        assert len(set(values)) == 40
    assert ray.get(counter.incr.remote(0)) == 200


def _scheduler_knows(keys):
    def known(dask_scheduler, keys):  # runs on the scheduler
        return [k for k in keys if k in dask_scheduler.tasks]

    return ray._runtime.driver().client.run_on_scheduler(known, keys=keys)


@ray.remote
def calls_kept_and_one_let_out(counter, n):
    refs = [counter.incr.remote() for _ in range(n)]
    values = ray.get(refs)
    out = counter.incr.remote()
    return [r._key for r in refs], values, [out]


def test_answers_of_a_tasks_calls_stay_with_its_worker_until_a_ref_leaves(counter):
    # the calls a task makes and gets itself never become Dask keys (no scheduler message
    # per answer); the one whose ref it returns does, and is read through Dask
    kept, values, [out] = ray.get(calls_kept_and_one_let_out.remote(counter, 30))
    assert values == list(range(1, 31))
    assert ray.get(out, timeout=60) == 31
    assert _scheduler_knows(kept) == []
    assert _scheduler_knows([out._key]) == [out._key]


@ray.remote
def put_array_here(n):
    import numpy as np

    ref = ray.put(np.ones(n, dtype=np.uint8))
    return [ref]


def test_a_tasks_large_put_is_announced_and_read_back(counter):
    [ref] = ray.get(put_array_here.remote(16 << 20))
    array = ray.get(ref)
    assert array.nbytes == 16 << 20 and int(array[-1]) == 1
    assert _scheduler_knows([ref._key]) == [ref._key]
