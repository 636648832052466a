"""The state API: see which tasks are pending, running and failed (and why), which actors
live, and write a timeline of what ran.

The same queries are on the command line: ``raylike list tasks --filter state=FAILED``,
``raylike summary tasks``, ``raylike status`` (for a cluster started with ``raylike start``).
Run it with ``python examples/14_state_api.py``; open ``/tmp/raylike-timeline.json`` in
``chrome://tracing`` or https://ui.perfetto.dev to see the tasks on a time line.
"""
import os
import tempfile
import time

import raylike as ray
from raylike.util.state import list_actors, list_tasks, summarize_tasks

ray.init(num_cpus=2)


@ray.remote
def slow(i):
    time.sleep(1.0)
    return i


@ray.remote
def parse(text):
    return int(text)


@ray.remote
class Counter:
    def __init__(self):
        self.n = 0

    def add(self):
        self.n += 1
        return self.n


counter = Counter.options(name="counter").remote()
ray.get([counter.add.remote() for _ in range(3)])
running = [slow.remote(i) for i in range(4)]  # 2 CPUs: two run, two wait for a CPU
broken = parse.remote("not a number")
time.sleep(0.5)

print("tasks now:")
for task in list_tasks(filters=[("name", "=", "slow")]):
    print(f"  {task.name:6} {task.state}")

try:
    ray.get(broken)
except ValueError:
    pass
for task in list_tasks(filters=[("state", "=", "FAILED")], detail=True):
    reason = task.error_message.strip().splitlines()[-1]
    print(f"failed: {task.name} ({task.error_type}): {reason}")

print("actors:", [(a.class_name, a.name, a.state) for a in list_actors()])
ray.get(running)
print("summary:", {name: entry["state_counts"]
                   for name, entry in summarize_tasks()["cluster"]["summary"].items()})

path = os.path.join(tempfile.gettempdir(), "raylike-timeline.json")
ray.timeline(filename=path)
print(f"timeline: {len(ray.timeline())} events written to {path}")
ray.shutdown()
