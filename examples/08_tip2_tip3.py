"""Tips 2 and 3: task granularity, and ``ray.put`` for arguments passed repeatedly.

Tip 2: a remote task costs scheduling and serialization overhead (milliseconds), so a task
should do at least several milliseconds of work. Many tiny tasks can be slower than doing the
work locally; batching the work into fewer, bigger tasks pays that overhead less often.

Tip 3: passing the same large object to many tasks serializes and ships it once per task.
``ray.put`` it once and pass its object ID instead.

Run: python examples/08_tip2_tip3.py
"""
import time

import numpy as np

import raylike as ray

ray.init(num_cpus=2, include_dashboard=False)


# ---- Tip 2: tasks that are too small -------------------------------------------------------
def tiny_work(x):
    time.sleep(0.0001)  # 0.1 ms of work: far less than a task's overhead
    return x


@ray.remote
def tiny_task(x):
    return tiny_work(x)


@ray.remote
def batch_task(start, size):
    # One task does 100 units of the same work.
    return [tiny_work(x) for x in range(start, start + size)]


N, BATCH = 1000, 100
ray.get(tiny_task.remote(0))  # warm up the workers so the timings compare the calls only

start = time.time()
results = [tiny_work(x) for x in range(N)]
print(f"tip 2: {N} calls locally:            {time.time() - start:.3f} s")

start = time.time()
results = ray.get([tiny_task.remote(x) for x in range(N)])
tiny_time = time.time() - start
print(f"tip 2: {N} tiny remote tasks:        {tiny_time:.3f} s")

start = time.time()
batches = ray.get([batch_task.remote(i, BATCH) for i in range(0, N, BATCH)])
batched_time = time.time() - start
print(f"tip 2: {N // BATCH} tasks of {BATCH} units each:    {batched_time:.3f} s")
assert [x for batch in batches for x in batch] == results
assert batched_time < tiny_time


# ---- Tip 3: pass a large object by ray.put --------------------------------------------------
@ray.remote
def no_work(array):
    return float(array[0])


array = np.zeros(2_000_000)  # 16 MB
TASKS = 10

start = time.time()
ray.get([no_work.remote(array) for _ in range(TASKS)])  # the array is serialized 10 times
direct_time = time.time() - start
print(f"tip 3: array passed directly to {TASKS} tasks: {direct_time:.3f} s")

start = time.time()
array_id = ray.put(array)  # stored once in the object store
ray.get([no_work.remote(array_id) for _ in range(TASKS)])  # tasks receive the array itself
put_time = time.time() - start
print(f"tip 3: ray.put once, pass the ID:     {put_time:.3f} s")
assert put_time < direct_time

ray.shutdown()
