"""Placement groups on one node: reservation, tasks and actors in bundles, ready/wait, removal,
infeasible groups, names, capture of child tasks, and Ray's errors for bad input."""
from __future__ import annotations

import time
import warnings

import pytest

INIT_KWARGS = {"num_cpus": 4, "resources": {"Custom": 2}, "include_dashboard": False}


@pytest.fixture(scope="module")
def ray4(ray_module):
    if ray_module.is_initialized():
        ray_module.shutdown()
    ray_module.init(**INIT_KWARGS)
    yield ray_module
    ray_module.shutdown()


def _strategy(ray, pg, index=-1, capture=None):
    from importlib import import_module

    module = import_module(f"{ray.__name__}.util.scheduling_strategies")
    return module.PlacementGroupSchedulingStrategy(pg, index, capture)


def _until(predicate, timeout=30.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()


def _free_cpus(ray):
    return ray.available_resources().get("CPU", 0.0)


def test_reserved_resources_are_taken_and_freed(ray4):
    ray = ray4
    assert _until(lambda: _free_cpus(ray) == 4.0)
    pg = ray.util.placement_group([{"CPU": 1}, {"CPU": 1, "Custom": 1}])
    assert ray.get(pg.ready(), timeout=30) == pg
    assert pg.wait(10)
    pg_hex = pg.id.hex()
    expected = {"CPU": 2.0, "Custom": 1.0, f"CPU_group_0_{pg_hex}": 1.0,
                f"Custom_group_1_{pg_hex}": 1.0}

    def seen(view):  # Ray's resource views catch up asynchronously: wait for all of them
        return {name: view.get(name) for name in expected}

    assert _until(lambda: seen(ray.available_resources()) == expected), \
        seen(ray.available_resources())
    assert _until(lambda: ray.cluster_resources().get(f"CPU_group_{pg_hex}") == 2.0)
    ray.util.remove_placement_group(pg)
    assert _until(lambda: _free_cpus(ray) == 4.0)
    assert _until(lambda: f"CPU_group_{pg_hex}" not in ray.available_resources())


def test_handle_properties_and_table(ray4):
    ray = ray4
    pg = ray.util.placement_group([{"CPU": 1}, {"CPU": 0.5}], strategy="SPREAD", name="tbl")
    assert pg.wait(30)
    assert pg.bundle_count == 2
    assert pg.bundle_specs == [{"CPU": 1.0}, {"CPU": 0.5}]
    assert len(pg.id.hex()) == 36
    from importlib import import_module

    module = import_module(f"{ray.__name__}.util.placement_group")
    assert isinstance(pg, module.PlacementGroup)
    row = ray.util.placement_group_table(pg)
    assert row["placement_group_id"] == pg.id.hex()
    assert row["name"] == "tbl"
    assert row["strategy"] == "SPREAD"
    assert row["state"] == "CREATED"
    assert row["bundles"] == {0: {"CPU": 1.0}, 1: {"CPU": 0.5}}
    assert set(row["bundles_to_node_id"]) == {0, 1}
    assert pg.id.hex() in ray.util.placement_group_table()
    ray.util.remove_placement_group(pg)
    assert _until(lambda: ray.util.placement_group_table(pg)["state"] == "REMOVED")


def test_tasks_run_in_their_bundle(ray4):
    ray = ray4
    pg = ray.util.placement_group([{"CPU": 1}, {"CPU": 2}])
    assert pg.wait(30)

    @ray.remote(num_cpus=1)
    def where():
        ctx = ray.get_runtime_context()
        return ctx.get_placement_group_id(), ctx.get_assigned_resources()

    for index in (0, 1, -1):
        pg_id, assigned = ray.get(
            where.options(scheduling_strategy=_strategy(ray, pg, index)).remote(), timeout=30)
        assert pg_id == pg.id.hex()
        assert assigned == {"CPU": 1.0}
    assert ray.get(where.remote(), timeout=30)[0] is None
    ray.util.remove_placement_group(pg)


def test_bundle_limits_what_runs_at_once(ray4, tmp_path):
    ray = ray4
    pg = ray.util.placement_group([{"CPU": 1}])
    assert pg.wait(30)

    @ray.remote(num_cpus=1)
    def span():
        start = time.time()
        time.sleep(0.5)
        return start, time.time()

    spans = ray.get([span.options(scheduling_strategy=_strategy(ray, pg, 0)).remote()
                     for _ in range(3)], timeout=60)
    spans.sort()
    for (_, end), (start, _) in zip(spans, spans[1:]):
        assert start >= end - 0.05  # one at a time: the bundle has one CPU
    ray.util.remove_placement_group(pg)


def test_actor_in_bundle_and_removal_kills_it(ray4):
    ray = ray4
    pg = ray.util.placement_group([{"CPU": 1}])
    assert ray.get(pg.ready(), timeout=30) == pg

    @ray.remote(num_cpus=1)
    class Member:
        def group(self):
            return ray.get_runtime_context().get_placement_group_id()

    member = Member.options(scheduling_strategy=_strategy(ray, pg, 0)).remote()
    assert ray.get(member.group.remote(), timeout=30) == pg.id.hex()
    ray.util.remove_placement_group(pg)
    # removal is asynchronous in Ray: a call made at once may still be answered
    deadline = time.monotonic() + 60
    while True:
        try:
            ray.get(member.group.remote(), timeout=30)
        except ray.exceptions.RayActorError:
            break
        assert time.monotonic() < deadline, "the actor outlived its placement group"
        time.sleep(0.1)
    assert _until(lambda: _free_cpus(ray) == 4.0)


def test_a_running_task_of_a_removed_group_fails_as_its_worker_crashed(ray4, tmp_path):
    """Removing a group kills the tasks running in it: their callers get
    ``WorkerCrashedError`` (no retry: ``max_retries=0``), and the group's CPUs come back."""
    ray = ray4
    pg = ray.util.placement_group([{"CPU": 1}])
    assert ray.get(pg.ready(), timeout=30) == pg
    started = tmp_path / "started"

    @ray.remote(num_cpus=1, max_retries=0)
    def long_running(path):
        open(path, "w").close()
        time.sleep(120)
        return "finished"

    ref = long_running.options(scheduling_strategy=_strategy(ray, pg, 0)).remote(str(started))
    assert _until(started.exists, timeout=60)
    ray.util.remove_placement_group(pg)
    with pytest.raises(ray.exceptions.WorkerCrashedError):
        ray.get(ref, timeout=60)
    assert _until(lambda: _free_cpus(ray) == 4.0)


def test_default_actors_share_a_bundle(ray4):
    ray = ray4
    pg = ray.util.placement_group([{"CPU": 1}])
    assert pg.wait(30)

    @ray.remote
    class Light:
        def ping(self):
            return "pong"

    actors = [Light.options(scheduling_strategy=_strategy(ray, pg, 0)).remote()
              for _ in range(3)]
    assert ray.get([a.ping.remote() for a in actors], timeout=60) == ["pong"] * 3
    ray.util.remove_placement_group(pg)


def test_capture_child_tasks(ray4):
    ray = ray4
    pg = ray.util.placement_group([{"CPU": 1}])
    assert pg.wait(30)

    @ray.remote(num_cpus=1)
    def child():
        return ray.util.get_current_placement_group() is not None

    @ray.remote(num_cpus=1)
    def parent():
        return ray.get(child.remote(), timeout=60)

    captured = parent.options(scheduling_strategy=_strategy(ray, pg, -1, True)).remote()
    assert ray.get(captured, timeout=60) is True
    not_captured = parent.options(scheduling_strategy=_strategy(ray, pg, -1, False)).remote()
    assert ray.get(not_captured, timeout=60) is False
    assert ray.util.get_current_placement_group() is None
    ray.util.remove_placement_group(pg)


def test_infeasible_group_stays_pending(ray4):
    ray = ray4
    pg = ray.util.placement_group([{"CPU": 100}])
    assert not pg.wait(1)
    ready, _ = ray.wait([pg.ready()], timeout=1)
    assert ready == []
    row = ray.util.placement_group_table(pg)
    assert row["state"] == "PENDING"
    assert row["stats"]["scheduling_state"] == "INFEASIBLE"  # no node could ever hold it
    ray.util.remove_placement_group(pg)


@pytest.mark.parametrize("strategy", ["PACK", "SPREAD"])
def test_bundles_that_fit_only_one_by_one_stay_pending(ray4, strategy):
    """Five one-CPU bundles on a node of four: each fits, not all together. The group waits
    (no bundle is reserved) and says why (``NO_RESOURCES``); the CPUs stay free."""
    ray = ray4
    pg = ray.util.placement_group([{"CPU": 1}] * 5, strategy=strategy)
    assert not pg.wait(2)
    row = ray.util.placement_group_table(pg)
    assert row["state"] == "PENDING"
    assert row["stats"]["scheduling_state"] == "NO_RESOURCES"
    assert _until(lambda: _free_cpus(ray) == 4.0)
    ray.util.remove_placement_group(pg)


def test_strict_spread_needs_as_many_nodes(ray4):
    ray = ray4
    pg = ray.util.placement_group([{"CPU": 1}, {"CPU": 1}], strategy="STRICT_SPREAD")
    assert not pg.wait(2)
    ray.util.remove_placement_group(pg)
    packed = ray.util.placement_group([{"CPU": 1}, {"CPU": 1}], strategy="STRICT_PACK")
    assert packed.wait(30)
    row = ray.util.placement_group_table(packed)
    assert len(set(row["bundles_to_node_id"].values())) == 1
    ray.util.remove_placement_group(packed)


def test_names(ray4):
    ray = ray4
    pg = ray.util.placement_group([{"CPU": 1}], name="named-pg")
    assert ray.util.get_placement_group("named-pg") == pg
    assert ray.util.get_placement_group("named-pg").bundle_specs == [{"CPU": 1.0}]
    with pytest.raises(ValueError):
        ray.util.get_placement_group("no-such-pg")
    with pytest.raises(ValueError):
        ray.util.get_placement_group("")
    ray.util.remove_placement_group(pg)
    assert _until(lambda: _missing(ray, "named-pg"))


def _missing(ray, name):
    try:
        ray.util.get_placement_group(name)
    except ValueError:
        return True
    return False


def test_legacy_options_warn_and_work(ray4):
    ray = ray4
    pg = ray.util.placement_group([{"CPU": 1}])
    assert pg.wait(30)

    @ray.remote(num_cpus=1)
    def group_id():
        return ray.get_runtime_context().get_placement_group_id()

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ref = group_id.options(placement_group=pg, placement_group_bundle_index=0).remote()
    assert any(issubclass(w.category, DeprecationWarning) for w in caught)
    assert ray.get(ref, timeout=30) == pg.id.hex()
    with pytest.raises(ValueError):
        group_id.options(placement_group=pg, scheduling_strategy="SPREAD")

    # the strategy may come from the decorator: the merged options are what is checked
    @ray.remote(scheduling_strategy="SPREAD")
    def spread_by_default():
        return 0

    with pytest.raises(ValueError):
        spread_by_default.options(placement_group=pg).remote()
    ray.util.remove_placement_group(pg)


def test_bad_requests_in_a_group(ray4):
    ray = ray4
    pg = ray.util.placement_group([{"CPU": 1}])
    assert pg.wait(30)

    @ray.remote(num_cpus=2)
    def big():
        return 1

    with pytest.raises(ValueError, match="cannot fit into any bundles"):
        big.options(scheduling_strategy=_strategy(ray, pg)).remote()
    with pytest.raises(ValueError, match="bundle index 3 is invalid"):
        big.options(num_cpus=1, scheduling_strategy=_strategy(ray, pg, 3)).remote()

    @ray.remote(num_cpus=1, num_gpus=4)
    class Greedy:
        pass

    # the message names the class by its qualified name and shows the request as given
    with pytest.raises(ValueError, match=r"Cannot schedule test_bad_requests_in_a_group\."
                       r"<locals>\.Greedy with the placement group because the resource "
                       r"request \{'CPU': 1, 'GPU': 4\} cannot fit into any bundles"):
        Greedy.options(scheduling_strategy=_strategy(ray, pg)).remote()
    ray.util.remove_placement_group(pg)


@pytest.mark.parametrize("bundles, kwargs", [
    ({"CPU": 1}, {}),
    ([], {}),
    ([{}], {}),
    ([{"CPU": 0}], {}),
    ([{"CPU": "1"}], {}),
    ([{"CPU": 1}], {"strategy": "FOO"}),
    ([{"CPU": 1}], {"lifetime": "forever"}),
])
def test_bad_input(ray4, bundles, kwargs):
    with pytest.raises(ValueError):
        ray4.util.placement_group(bundles, **kwargs)
