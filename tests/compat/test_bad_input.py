"""Misuse of the API: each is a clear error raised at once, and the runtime keeps working."""

from __future__ import annotations

import threading

import pytest

# Anything that runs remotely is defined inside the test functions: module-level functions and
# classes are pickled by reference and the test module is not importable on workers.


def _still_works(ray):
    @ray.remote
    def add(a, b):
        return a + b

    assert ray.get(add.remote(1, ray.put(2)), timeout=60) == 3


@pytest.mark.parametrize(
    "opts, error",
    [
        ({"resources": {"thing": -1}}, ValueError),
        ({"resources": {"thing": "lots"}}, (TypeError, ValueError)),
        ({"resources": {"CPU": 1}}, ValueError),  # num_cpus is the way to ask for CPUs
        ({"resources": {"GPU": 1}}, ValueError),
        ({"memory": -5}, ValueError),
        ({"num_cpus": "1"}, TypeError),
        ({"num_gpus": [1]}, TypeError),
        ({"max_retries": "3"}, TypeError),
        ({"retry_exceptions": "ValueError"}, TypeError),
    ],
)
def test_bad_resources_and_options(ray_shared, opts, error):
    ray = ray_shared

    def f():
        return 1

    with pytest.raises(error):
        ray.remote(**opts)(f)
    with pytest.raises(error):
        ray.remote(f).options(**opts)
    _still_works(ray)


def test_misuses_raise_and_the_runtime_keeps_working(ray_shared):
    ray = ray_shared

    @ray.remote
    def f(x):
        return x

    @ray.remote
    class A:
        def m(self):
            return "m"

    a = A.remote()
    ref = f.remote(1)
    misuses = [
        (lambda: f(1), TypeError),  # a remote function called directly
        (lambda: A(), TypeError),  # an actor class instantiated directly
        (lambda: a.m(), TypeError),  # an actor method called directly
        (lambda: a.no_such_method.remote(), AttributeError),
        (lambda: ray.get("not a ref"), (TypeError, ValueError)),
        (lambda: ray.get([ref, 5]), (TypeError, ValueError)),
        (lambda: ray.wait(ref), TypeError),
        (lambda: ray.wait([ref, ref]), ValueError),
        (lambda: ray.wait([ref], num_returns=2), ValueError),
        (lambda: ray.wait([ref], num_returns=0), ValueError),
        (lambda: ray.put(ref), TypeError),
        (lambda: f.remote(threading.Lock()), TypeError),
        (lambda: ray.put(threading.Lock()), TypeError),
        (lambda: ray.init(), RuntimeError),  # a second init
        (lambda: f.options(no_such_option=1), ValueError),
        (lambda: ray.cancel("not a ref"), TypeError),
        (lambda: ray.kill("not an actor"), ValueError),
    ]
    for call, error in misuses:
        with pytest.raises(error):
            call()
    assert ray.get(ref, timeout=60) == 1
    assert ray.get(a.m.remote(), timeout=60) == "m"
    _still_works(ray)


def test_use_after_shutdown_starts_a_new_runtime(ray_fresh):
    ray = ray_fresh
    ray.init(num_cpus=1, include_dashboard=False)

    @ray.remote
    def f():
        return "again"

    assert ray.get(f.remote(), timeout=60) == "again"
    ray.shutdown()
    assert not ray.is_initialized()
    assert ray.get(f.remote(), timeout=60) == "again"  # auto-initialised, as on first use
    assert ray.is_initialized()
    ray.shutdown()
    assert ray.get(ray.put("put too"), timeout=60) == "put too"
