"""``ray.experimental.get_object_locations``: the nodes holding an object, and its size."""

from __future__ import annotations

import numpy as np
from compat_helpers import make_signal


def test_put_objects_are_on_the_drivers_node(ray_shared):
    ray = ray_shared
    node_id = ray.get_runtime_context().get_node_id()
    sizes = [100, 200_000]
    refs = [ray.put(np.zeros(n, dtype=np.uint8)) for n in sizes] + [ray.put("text")]
    ray.wait(refs, num_returns=len(refs))
    found = ray.experimental.get_object_locations(refs)
    assert set(found) == set(refs)
    for ref, size in zip(refs, sizes + [1]):
        assert found[ref]["node_ids"] == [node_id]
        assert found[ref]["object_size"] >= size
    assert ray.experimental.get_local_object_locations(refs[:1])[refs[0]]["node_ids"] == [
        node_id]
    assert ray.experimental.get_object_locations([]) == {}


def test_size_is_the_serialized_size(ray_shared):
    ray = ray_shared

    class Holder:  # Python objects around a large array: its bytes count
        def __init__(self):
            self.data = np.ones(1 << 20, dtype=np.uint8)

    @ray.remote
    def make():
        return [Holder() for _ in range(3)]

    ref = make.remote()
    ray.wait([ref])
    found = ray.experimental.get_object_locations([ref])
    assert found[ref]["object_size"] > 3 << 20
    assert len(found[ref]["node_ids"]) == 1


def test_pending_object_has_no_location(ray_shared):
    ray = ray_shared
    signal = make_signal(ray)

    @ray.remote
    def blocked(signal):
        ray.get(signal.wait.remote())
        return np.zeros(200_000, dtype=np.uint8)

    ref = blocked.remote(signal)
    found = ray.experimental.get_object_locations([ref])
    assert found[ref]["node_ids"] == []
    assert found[ref]["object_size"] is None
    ray.get(signal.send.remote())
    ray.get(ref)
    assert ray.experimental.get_object_locations([ref])[ref]["object_size"] >= 200_000


def test_locations_inside_a_task(ray_shared):
    ray = ray_shared

    @ray.remote
    def look():
        ref = ray.put(np.zeros(300_000, dtype=np.uint8))
        here = ray.get_runtime_context().get_node_id()
        found = ray.experimental.get_object_locations([ref])[ref]
        return found["node_ids"] == [here], found["object_size"]

    on_own_node, size = ray.get(look.remote())
    assert on_own_node
    assert size >= 300_000
