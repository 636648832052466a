"""Bursts of actor calls made from inside tasks and actors: each caller's calls run in the
order it made them, also interleaved with its puts, nested tasks and calls to other actors; a
call made just before the caller blocks, sleeps or ends reaches the actor without a ``get``;
many tasks calling one actor at once each keep their own order."""

from __future__ import annotations

import pytest
from compat_helpers import poll

# Remote code is defined inside the tests: this module is not importable on workers.


def _recorder(ray):
    @ray.remote(num_cpus=0)
    class Recorder:
        def __init__(self):
            self.seen = []

        def add(self, item):
            self.seen.append(item)
            return len(self.seen)

        def items(self):
            return list(self.seen)

    return Recorder


def test_burst_from_a_task_keeps_its_order_among_puts_and_tasks(ray_shared):
    ray = ray_shared
    recorder = _recorder(ray).remote()
    other = _recorder(ray).remote()

    @ray.remote
    def double(x):
        return 2 * x

    @ray.remote
    def caller(recorder, other, n):
        refs, extra = [], []
        for i in range(n):
            refs.append(recorder.add.remote(i))
            if i % 50 == 0:  # other messages of this process between the calls
                extra.append(ray.put(i))
                extra.append(double.remote(i))
                other.add.remote(i)
        assert ray.get(refs) == list(range(1, n + 1))
        return [ray.get(r) for r in extra]

    extra = ray.get(caller.remote(recorder, other, 500), timeout=120)
    assert extra == [v for i in range(0, 500, 50) for v in (i, 2 * i)]
    assert ray.get(recorder.items.remote()) == list(range(500))
    assert ray.get(other.items.remote()) == list(range(0, 500, 50))


def test_many_tasks_each_keep_their_order(ray_shared):
    ray = ray_shared
    recorder = _recorder(ray).remote()

    @ray.remote
    def caller(recorder, tag, n):
        return ray.get([recorder.add.remote((tag, i)) for i in range(n)])[-1]

    ray.get([caller.remote(recorder, tag, 200) for tag in range(6)], timeout=120)
    seen = ray.get(recorder.items.remote())
    assert len(seen) == 6 * 200
    for tag in range(6):
        assert [i for t, i in seen if t == tag] == list(range(200))


@pytest.mark.parametrize("then", ["sleep", "return"])
def test_a_call_not_waited_for_still_reaches_the_actor(ray_shared, then):
    ray = ray_shared
    recorder = _recorder(ray).remote()

    @ray.remote
    def fire(recorder, then):
        import time

        recorder.add.remote("fired")
        if then == "sleep":  # no further Ray API call from this task for a long while
            time.sleep(60)

    task = fire.remote(recorder, then)
    poll(lambda: ray.get(recorder.items.remote()), ["fired"], timeout=60)
    if then == "sleep":
        ray.cancel(task, force=True)
    else:
        ray.get(task, timeout=60)


def test_burst_from_an_actor_keeps_its_order(ray_shared):
    ray = ray_shared
    recorder = _recorder(ray).remote()

    @ray.remote(num_cpus=0)
    class Client:
        def burst(self, recorder, n):
            refs = [recorder.add.remote(i) for i in range(n)]
            return ray.get(refs[-1])

    client = Client.remote()
    assert ray.get(client.burst.remote(recorder, 300), timeout=120) == 300
    assert ray.get(recorder.items.remote()) == list(range(300))
