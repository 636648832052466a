"""``raylike status``'s ``Demands:`` block: resources by Ray's names, placement-group use."""
from __future__ import annotations

from raylike._dask.cluster.state_cli import demand_lines
from raylike._dask.scheduler.state import _ray_shape


def test_a_group_task_shows_the_resource_itself() -> None:
    pg = "0f" * 18
    asked = {f"CPU_group_0_{pg}": 1.0, f"CPU_group_{pg}": 1.0,
             f"bundle_group_0_{pg}": 0.001, "Custom": 2.0}
    assert _ray_shape(asked) == {"CPU": 1.0, "Custom": 2.0}


def test_demand_lines_count_the_tasks_in_groups() -> None:
    lines = demand_lines({"pending": {"{'CPU': 1.0}": 2, "{'GPU': 1.0}": 1},
                          "grouped": {"{'CPU': 1.0}": 1}, "infeasible": {}})
    assert lines == ["Demands:",
                     " {'CPU': 1.0}: 2+ pending tasks/actors (1+ using placement groups)",
                     " {'GPU': 1.0}: 1+ pending tasks/actors"]
