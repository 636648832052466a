"""Seed part 3: remote classes (actors).

``@ray.remote`` on a class makes its instances actors: stateful workers, each in its own
process. Methods are called with ``.remote()`` and return object IDs, like tasks; calls to one
actor run one at a time, in order. Actor handles can be passed to other tasks.

Run: python examples/04_counter_actor.py
"""
import time

import raylike as ray

# One (declared) GPU, so the actor below that asks for half a GPU can start.
ray.init(num_cpus=4, num_gpus=1, include_dashboard=False)


@ray.remote
class Counter:
    def __init__(self):
        self.value = 0

    def increment(self):
        self.value += 1
        return self.value


# Create an actor, then call its method: the call returns an object ID.
a1 = Counter.remote()
obj_id = a1.increment.remote()
assert ray.get(obj_id) == 1
print("a1.increment ->", ray.get(obj_id))

# Each actor keeps its own state.
a2 = Counter.remote()
print("a1 again ->", ray.get(a1.increment.remote()), "| a2 ->", ray.get(a2.increment.remote()))


# Actor handles can be passed into other tasks, which then call the same actor.
@ray.remote
def f(counter):
    refs = []
    for _ in range(10):
        time.sleep(0.05)
        refs.append(counter.increment.remote())
    return ray.get(refs)[-1]  # the counter's value after this task's last increment


counter = Counter.remote()
# Three tasks share one counter; their increments interleave as they run in parallel.
print("values seen by each task's last increment:", ray.get([f.remote(counter) for _ in range(3)]))
value = ray.get(counter.increment.remote()) - 1
print("counter after 3 tasks x 10 increments:", value)
assert value == 30


# Resource requirements work on actors too: this one holds 2 CPUs and half a GPU while alive.
@ray.remote(num_cpus=2, num_gpus=0.5)
class Actor:
    def gpu_ids(self):
        return ray.get_gpu_ids()


actor = Actor.remote()
print("Actor(num_cpus=2, num_gpus=0.5) got GPU ids:", ray.get(actor.gpu_ids.remote()))
print("available while it is alive:", ray.available_resources())

ray.shutdown()
