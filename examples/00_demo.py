"""A short tour of the seed tutorial's ideas on raylike's embedded Dask cluster.

Run: python examples/00_demo.py   (no `if __name__ == "__main__":` guard needed, as with Ray)
"""
import time

import numpy as np

import raylike as ray

# Start an embedded cluster: 4 CPUs, 2 (declared) GPUs and a custom resource, like the seed.
ray.init(num_cpus=4, num_gpus=2, resources={"Custom": 2}, include_dashboard=False)
print("cluster resources:", ray.cluster_resources())


# 1. Remote functions: calls return ObjectRefs at once and run in parallel.
@ray.remote
def do_some_work(x):
    time.sleep(0.5)
    return x * x


start = time.time()
results = ray.get([do_some_work.remote(x) for x in range(4)])  # get late: parallel
print(f"4 tasks of 0.5 s in parallel: {results} in {time.time() - start:.2f} s")


# 2. Objects: put once, pass the ref; refs at the top level arrive as values.
@ray.remote
def total(array):
    return float(array.sum())


big = ray.put(np.ones(1_000_000))
print("sum through a put ref:", ray.get([total.remote(big) for _ in range(3)]))


# 3. wait: handle results as they finish.
@ray.remote
def sleepy(seconds):
    time.sleep(seconds)
    return seconds


pending = [sleepy.remote(s) for s in (0.6, 0.2, 0.4)]
while pending:
    [ready], pending = ray.wait(pending, num_returns=1)
    print("finished:", ray.get(ready))


# 4. Resources: GPUs and custom resources are counted per node, as Ray does.
@ray.remote(num_gpus=1)
def which_gpu():
    time.sleep(0.3)  # both run at once, so they must get different GPUs
    return ray.get_gpu_ids()


print("GPU ids given to two num_gpus=1 tasks:", ray.get([which_gpu.remote() for _ in range(2)]))


@ray.remote(resources={"Custom": 1})
def custom_task():
    time.sleep(0.3)
    return "ok"


start = time.time()
ray.get([custom_task.remote() for _ in range(4)])
elapsed = time.time() - start
print(f"4 tasks needing Custom=1 on a node with Custom=2: {elapsed:.2f} s (2 at a time)")


# 5. Nested tasks block on get without deadlock: the blocked task gives its CPU back.
@ray.remote
def fib(n):
    if n < 2:
        return n
    return sum(ray.get([fib.remote(n - 1), fib.remote(n - 2)]))


print("fib(8) with nested tasks:", ray.get(fib.remote(8)))


# 6. Actors: stateful workers; calls run in order; handles can be passed to tasks.
@ray.remote
class Counter:
    def __init__(self):
        self.value = 0

    def increment(self):
        self.value += 1
        return self.value


@ray.remote
def bump(counter, times):
    return ray.get([counter.increment.remote() for _ in range(times)])[-1]


counter = Counter.remote()
print("counter after 3 calls:", ray.get([counter.increment.remote() for _ in range(3)]))
ray.get([bump.remote(counter, 5) for _ in range(2)])
print("counter after two tasks added 5 each:", ray.get(counter.increment.remote()) - 1)


# 7. Errors keep their type.
@ray.remote
def fails():
    raise ValueError("bad input")


try:
    ray.get(fails.remote())
except ValueError as err:
    print("caught the task's ValueError:", type(err).__name__)

ray.shutdown()
