"""Placement groups: reserve CPUs for a group of tasks and actors, then free them.

A placement group reserves *bundles* of resources on the cluster's nodes. What runs in the
group uses the bundles' resources and nothing else; everything outside sees them taken.
Run it with ``python examples/12_placement_group.py``.
"""
import time

import raylike as ray
from raylike.util import placement_group, remove_placement_group
from raylike.util.scheduling_strategies import PlacementGroupSchedulingStrategy

ray.init(num_cpus=4)

# Two bundles of one CPU each, on as few nodes as possible.
pg = placement_group([{"CPU": 1}, {"CPU": 1}], strategy="PACK", name="workers")
ray.get(pg.ready(), timeout=60)
print("reserved:", pg.bundle_specs, "- CPUs left for others:",
      ray.available_resources().get("CPU"))


@ray.remote(num_cpus=1)
def work(i):
    time.sleep(0.2)
    return i * i, ray.get_runtime_context().get_placement_group_id() is not None


@ray.remote(num_cpus=1)
class Accumulator:
    def __init__(self):
        self.total = 0

    def add(self, value):
        self.total += value
        return self.total


in_group = PlacementGroupSchedulingStrategy(pg, placement_group_bundle_index=0)
acc = Accumulator.options(scheduling_strategy=in_group).remote()
results = ray.get([work.options(scheduling_strategy=PlacementGroupSchedulingStrategy(pg, 1))
                   .remote(i) for i in range(4)], timeout=60)
print("squares computed in the group:", [r[0] for r in results],
      "all in the group:", all(r[1] for r in results))
print("accumulated:", ray.get([acc.add.remote(r[0]) for r in results], timeout=60)[-1])

# Removing the group frees its CPUs and ends the actors in it.
remove_placement_group(pg)
deadline = time.time() + 30
while ray.available_resources().get("CPU") != 4.0 and time.time() < deadline:
    time.sleep(0.1)
print("after removal, CPUs free:", ray.available_resources().get("CPU"))
try:
    ray.get(acc.add.remote(1), timeout=30)
except ray.exceptions.RayActorError:
    print("the actor in the group was killed with it")
ray.shutdown()
