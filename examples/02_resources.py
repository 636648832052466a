"""Seed part 1b: resource requirements of tasks.

``ray.init`` normally detects the machine's CPUs and GPUs; here we declare them instead, plus a
custom resource. A task that does not ask for anything needs 1 CPU; a task only starts when the
resources it asks for are free, so ``Custom: 2`` lets at most two ``Custom: 1`` tasks run at once.
(The GPUs are only declared: nothing here needs a real GPU.)

Run: python examples/02_resources.py
"""
import time

import raylike as ray

# Override detection: 8 CPUs, 4 GPUs and 2 units of a custom resource.
ray.init(num_cpus=8, num_gpus=4, resources={"Custom": 2}, include_dashboard=False)
print("cluster resources:", ray.cluster_resources())


# Each call reserves 2 CPUs and 1 GPU while it runs.
@ray.remote(num_cpus=2, num_gpus=1)
def gpu_task(i):
    time.sleep(0.5)  # all four overlap, so each must hold a different GPU
    return i, ray.get_gpu_ids()


for i, gpu_ids in ray.get([gpu_task.remote(i) for i in range(4)]):
    print(f"gpu_task({i}) ran with GPU ids {gpu_ids}")


# Each call reserves one unit of the custom resource.
@ray.remote(resources={"Custom": 1})
def custom_task(i):
    time.sleep(0.5)
    return i


# Six tasks, but only 2 units of Custom: they run two at a time, so about 3 x 0.5 s.
start = time.time()
ray.get([custom_task.remote(i) for i in range(6)])
elapsed = time.time() - start
print(f"6 tasks of 0.5 s needing Custom=1 with Custom=2: {elapsed:.2f} s (2 at a time)")
assert elapsed >= 1.4

# The same six tasks without the custom resource have 8 CPUs: all run at once.
start = time.time()
ray.get([custom_task.options(resources={}).remote(i) for i in range(6)])
print(f"the same 6 tasks without Custom: {time.time() - start:.2f} s")

print("available now:", ray.available_resources())
ray.shutdown()
