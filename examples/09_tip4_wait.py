"""Tip 4: use ``ray.wait()`` to process results as soon as they become available.

``ray.get`` on a list returns only when every task is done, and then we process the results
in submission order. When tasks take different times, ``ray.wait`` hands us each result as
soon as it is ready, so processing overlaps with the tasks still running.

Run: python examples/09_tip4_wait.py
"""
import random
import time

import raylike as ray

ray.init(num_cpus=4, include_dashboard=False)


# Random task durations, drawn once so that both versions below run the same tasks.
random.seed(0)
durations = [round(random.uniform(0.2, 2), 2) for _ in range(4)]
print("task durations (s):", durations)


@ray.remote
def do_some_work(x):
    time.sleep(durations[x])  # task x takes durations[x] seconds
    return x


def process_result(x):
    time.sleep(0.4)  # processing a result takes a while too
    return x


@ray.remote
def warm_up():
    return None


# Start the workers first, so that both timings below measure only the tasks themselves.
ray.get([warm_up.remote() for _ in range(4)])

# ray.get: wait for all (the slowest task), then process in submission order.
start = time.time()
results = ray.get([do_some_work.remote(x) for x in range(4)])
for x in results:
    process_result(x)
get_time = time.time() - start
print(f"ray.get, submission order {results}: {get_time:.2f} s")

# ray.wait: process each result as soon as it is ready, in completion order.
start = time.time()
pending = [do_some_work.remote(x) for x in range(4)]
order = []
while pending:
    # Returns as soon as one object is ready: [ready_id], and the rest still pending.
    [ready_id], pending = ray.wait(pending, num_returns=1)
    order.append(process_result(ray.get(ready_id)))
wait_time = time.time() - start
print(f"ray.wait, completion order {order}: {wait_time:.2f} s")
assert wait_time < get_time

ray.shutdown()
