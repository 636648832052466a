"""Refs pickled outside Ray's own serialization pin their objects (Ray's "out-of-band
serialization"): a ref captured in a remote function's or actor class's definition, or pickled
with ``ray.cloudpickle``, keeps its object alive after the caller drops every ref of its own."""
from __future__ import annotations

import gc

import numpy as np
from compat_helpers import make_signal


def _drop_and_churn(ray):
    """Collect garbage and put a few values, so an object nobody pins would be gone."""
    gc.collect()
    for _ in range(3):
        ray.put(np.zeros(1 << 20, dtype=np.uint8))


def test_ref_captured_by_a_remote_function_keeps_its_object(ray_shared):
    ray = ray_shared
    captured = ray.put(np.arange(1000))
    signal = make_signal(ray)

    @ray.remote
    def reads(sig):
        ray.get(sig.wait.remote())  # runs on once the driver has dropped its ref
        return int(ray.get(captured).sum())  # noqa: F821 (deleted by the caller)

    out = reads.remote(signal)
    del reads, captured
    _drop_and_churn(ray)
    ray.get(signal.send.remote())
    assert ray.get(out, timeout=60) == 499500


def test_ref_captured_by_an_actor_class_keeps_its_object(ray_shared):
    ray = ray_shared
    captured = ray.put(np.arange(10))
    signal = make_signal(ray)

    @ray.remote
    class Reader:
        def read(self, sig):
            ray.get(sig.wait.remote())
            return int(ray.get(captured).sum())  # noqa: F821 (deleted by the caller)

    reader = Reader.remote()
    out = reader.read.remote(signal)
    del Reader, captured
    _drop_and_churn(ray)
    ray.get(signal.send.remote())
    assert ray.get(out, timeout=60) == 45


def test_ref_pickled_with_ray_cloudpickle_keeps_its_object(ray_shared):
    ray = ray_shared
    ref = ray.put("hello")
    data = ray.cloudpickle.dumps(ref)
    del ref
    _drop_and_churn(ray)
    assert ray.get(ray.cloudpickle.loads(data), timeout=60) == "hello"


def test_leased_task_result_exists_once_done(ray_shared):
    """Ray's core worker reports a small task result as existing (its memory store holds it)."""
    ray = ray_shared

    @ray.remote
    def small():
        return 1

    ref = small.remote()
    assert ray.get(ref, timeout=60) == 1
    core = ray._private.worker.global_worker.core_worker
    assert core.object_exists(ref)
