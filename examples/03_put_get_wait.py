"""Seed part 2: object IDs with ``ray.put``, ``ray.get`` and ``ray.wait``.

``ray.put(value)`` stores a value in the object store and returns its object ID; ``ray.get``
blocks until one object (or a list of them) is available and returns the value(s);
``ray.wait`` returns as soon as some of the objects are ready, without fetching them.

Run: python examples/03_put_get_wait.py
"""
import time

import numpy as np

import raylike as ray

ray.init(num_cpus=4, include_dashboard=False)

# ray.put stores an object and returns its object ID.
y = 1
object_id = ray.put(y)
print("ray.put(1) ->", object_id)
assert ray.get(object_id) == 1

# Numpy arrays go through the object store too.
array_id = ray.put(np.arange(5))
print("ray.get of a put array:", ray.get(array_id))


@ray.remote
def do_some_work(x):
    time.sleep(x / 10)  # bigger x takes longer
    return x * x


# ray.get of a list returns a list of values, in the same order as the IDs.
object_ids = [do_some_work.remote(x) for x in range(4)]
print("object IDs:", object_ids)
print("ray.get(list):", ray.get(object_ids))

# Object IDs can be passed to other tasks: the task receives the value.
print("do_some_work on a put ID:", ray.get(do_some_work.remote(ray.put(3))))

# ray.wait splits IDs into (ready, not ready). num_returns: how many to wait for.
object_ids = [do_some_work.remote(x) for x in (1, 5, 20)]  # 0.1 s, 0.5 s, 2 s
ready, not_ready = ray.wait(object_ids, num_returns=2)
print(f"wait(num_returns=2): {len(ready)} ready {ray.get(ready)}, {len(not_ready)} not ready")

# timeout: give up after this many seconds and return whatever is ready by then.
start = time.time()
ready, not_ready = ray.wait(object_ids, num_returns=3, timeout=0.5)
print(f"wait(num_returns=3, timeout=0.5) after {time.time() - start:.2f} s: "
      f"{len(ready)} ready, {len(not_ready)} not ready")
assert len(not_ready) == 1

# Without a timeout, wait blocks until num_returns objects are ready.
ready, not_ready = ray.wait(object_ids, num_returns=3)
print(f"wait(num_returns=3): {len(ready)} ready, {len(not_ready)} not ready ->", ray.get(ready))

ray.shutdown()
