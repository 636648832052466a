"""Tip 1: delay calling ``ray.get()`` as much as possible.

``ray.get`` blocks. Calling it right after each ``.remote()`` waits for that task before the
next one is even submitted, so the tasks run one at a time: no parallelism. Submit all the
tasks first, then call ``ray.get`` once on the list of object IDs.

Run: python examples/07_tip1_delay_get.py
"""
import time

import raylike as ray

ray.init(num_cpus=4, include_dashboard=False)


@ray.remote
def do_some_work(x):
    time.sleep(1)  # stand-in for 1 s of real work
    return x


# Not calling ray.get at all: results is a list of object IDs, returned at once.
start = time.time()
results = [do_some_work.remote(x) for x in range(4)]
print(f"without ray.get: {time.time() - start:.2f} s, results = {results[:2]}...")
ray.get(results)  # let them finish before timing the next two versions

# ray.get after every call: serial, about 4 x 1 s.
start = time.time()
results = [ray.get(do_some_work.remote(x)) for x in range(4)]
serial = time.time() - start
print(f"ray.get inside the loop:  {serial:.2f} s, results = {results}")

# ray.get once, after submitting everything: parallel, about 1 s.
start = time.time()
results = ray.get([do_some_work.remote(x) for x in range(4)])
parallel = time.time() - start
print(f"ray.get on the list:      {parallel:.2f} s, results = {results}")
assert parallel < serial

ray.shutdown()
