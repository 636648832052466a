"""Seed part 1: remote functions (tasks) with ``@ray.remote``.

A regular function runs in the caller and returns its value; a remote function returns an
object ID (an ``ObjectRef``) at once and runs in the background, so calls run in parallel.

Run: python examples/01_remote_functions.py
"""
import time

import raylike as ray

# Start an embedded cluster. With Ray you would use ray.init(address=...) to join a cluster.
ray.init(num_cpus=4, include_dashboard=False)


# A regular Python function.
def regular_function():
    return 1


# A Ray remote function.
@ray.remote
def remote_function():
    return 1


assert regular_function() == 1

# Calling .remote() returns an object ID immediately, not the value.
object_id = remote_function.remote()
print("remote_function.remote() returned:", object_id)

# The value of the original `regular_function`, fetched with ray.get.
assert ray.get(object_id) == 1
print("ray.get(object_id) ==", ray.get(object_id))


# Parallelism: the same 1 s of work, called 4 times.
def slow_regular():
    time.sleep(1)
    return 1


@ray.remote
def slow_remote():
    time.sleep(1)
    return 1


# These happen serially.
start = time.time()
for _ in range(4):
    slow_regular()
serial = time.time() - start
print(f"4 regular calls (serial):   {serial:.2f} s")

# These happen in parallel: submit all four, then wait for them together.
start = time.time()
refs = [slow_remote.remote() for _ in range(4)]
assert ray.get(refs) == [1, 1, 1, 1]
parallel = time.time() - start
print(f"4 remote calls (parallel):  {parallel:.2f} s")
assert parallel < serial

ray.shutdown()
