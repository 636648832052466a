"""A driver's ``put`` through a lane is one way (``raylike._dask.client.puts``): the ref comes
back before the worker answers, and whatever tells the scheduler about the key waits for that
answer; a failed store or a lane lost first settle the object as Ray would."""
from __future__ import annotations

import concurrent.futures
import threading

import numpy as np
import pytest

import raylike as ray
from raylike._api.serialization import dumps_error
from raylike._transport import lane as _lane
from raylike.exceptions import ObjectLostError

LARGE = 2**18  # int64 elements: 2 MiB, sent through shared memory


@ray.remote
def total(values):
    return int(values.sum())


def _hold_answers(monkeypatch: pytest.MonkeyPatch) -> threading.Event:
    """Lane puts are sent, but their answers reach the driver only once the event is set."""
    release = threading.Event()
    real_put = _lane.Lane.put

    def put(self, key, frames):
        answer = real_put(self, key, frames)
        if answer is None:
            return None
        held: concurrent.futures.Future = concurrent.futures.Future()

        def later(_f):
            threading.Thread(target=lambda: (release.wait(30), held.set_result(_f.result())),
                             daemon=True).start()
        answer.add_done_callback(later)
        return held

    monkeypatch.setattr(_lane.Lane, "put", put)
    return release


def _answer_with(monkeypatch: pytest.MonkeyPatch, answer: tuple) -> None:
    """Lane puts are not sent; each is answered ``answer`` at once."""
    def put(self, key, frames):
        fut: concurrent.futures.Future = concurrent.futures.Future()
        fut.set_result(answer)
        return fut

    monkeypatch.setattr(_lane.Lane, "put", put)


def _wait_for_lane() -> None:
    ray.get(ray.put(0))  # the lanes open in the background: the first put may go to Dask
    from raylike._api import runtime as _runtime

    backend = _runtime.backend()
    for _ in range(100):
        if backend._local_lanes():
            return
        threading.Event().wait(0.1)
    pytest.skip("no lane to a worker opened")


def test_a_put_in_flight_is_announced_before_a_task_or_get_uses_it(monkeypatch):
    ray.init(num_cpus=2, include_dashboard=False)
    _wait_for_lane()
    release = _hold_answers(monkeypatch)
    values = np.arange(LARGE, dtype=np.int64)
    ref = ray.put(values)  # returns although its answer is held
    small = ray.put({"a": 1})
    assert ray.get(small) == {"a": 1}  # the driver's own copy: no wait
    threading.Timer(0.5, release.set).start()
    assert ray.get(total.remote(ref)) == int(values.sum())  # the task waited for the key
    got = ray.get(ref, timeout=0)  # a put is done: no timeout once it is answered
    assert np.array_equal(got, values) and not got.flags.writeable
    assert ray.get(total.remote(ray.put(values))) == int(values.sum())


def test_a_put_its_worker_could_not_store_raises_that_error(monkeypatch):
    ray.init(num_cpus=2, include_dashboard=False)
    _wait_for_lane()
    _answer_with(monkeypatch, ("err", dumps_error(ValueError("cannot store"))))
    ref = ray.put(np.zeros(LARGE))  # (a small value's get may read the driver's copy)
    with pytest.raises(ValueError, match="cannot store"):
        ray.get(ref, timeout=30)


def test_a_put_whose_lane_closed_first_goes_through_dask_or_is_lost(monkeypatch):
    ray.init(num_cpus=2, include_dashboard=False)
    _wait_for_lane()
    _answer_with(monkeypatch, ("absent", None))
    small = np.arange(10, dtype=np.int64)
    ref = ray.put(small)  # a copy was kept: scattered again
    assert ray.get(total.remote(ref), timeout=60) == int(small.sum())
    assert np.array_equal(ray.get(ref, timeout=30), small)
    with pytest.raises(ObjectLostError):  # too large to keep a copy of
        ray.get(ray.put(np.zeros(LARGE)), timeout=30)
