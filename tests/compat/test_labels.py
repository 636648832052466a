"""Node labels and label selectors: ``init(labels=)``, ``Cluster.add_node(labels=)``,
``label_selector`` (``v``, ``!v``, ``in(a,b)``, ``!in(a,b)``), ``fallback_strategy`` and
``NodeLabelSchedulingStrategy`` on tasks and actors."""
from __future__ import annotations

import importlib
import time
from typing import Any

import pytest

WAIT = 120  # seconds: a loaded machine starts nodes slowly


def _where(ray: Any) -> tuple[Any, Any]:
    @ray.remote(num_cpus=0)
    def node() -> str:
        return ray.get_runtime_context().get_node_id()

    @ray.remote  # Ray's default actor: 1 CPU to be placed (Ray 2.60 places an actor that
    class Where:  # asks for no resources at all without regard to its labels)
        def node(self) -> str:
            return ray.get_runtime_context().get_node_id()

        def labels(self) -> dict[str, str]:
            return ray.get_runtime_context().get_node_labels()

    return node, Where


def _pending(ray: Any, ref: Any, seconds: float = 3.0) -> bool:
    ready, _ = ray.wait([ref], timeout=seconds)
    return not ready


def test_init_labels_are_the_nodes_labels(ray_fresh):
    ray = ray_fresh
    ray.init(num_cpus=1, include_dashboard=False, labels={"zone": "a", "team": "x"})
    node_id = ray.get_runtime_context().get_node_id()
    (entry,) = ray.nodes()
    assert entry["Labels"]["zone"] == "a" and entry["Labels"]["team"] == "x"
    assert entry["Labels"]["ray.io/node-id"] == node_id
    labels = ray.get_runtime_context().get_node_labels()
    assert labels["zone"] == "a" and labels["ray.io/node-id"] == node_id

    node, Where = _where(ray)
    for selector in ({"zone": "a"}, {"zone": "in(b,a)"}, {"zone": "!b"}, {"team": "!in(y,z)"},
                     {"ray.io/node-id": node_id}):
        assert ray.get(node.options(label_selector=selector).remote(), timeout=WAIT) == node_id
    actor = Where.options(label_selector={"zone": "a"}).remote()
    assert ray.get(actor.labels.remote(), timeout=WAIT)["team"] == "x"

    # no node matches: it waits (Ray: pending, infeasible), never runs elsewhere
    for selector in ({"zone": "b"}, {"zone": "!a"}, {"zone": "in(b, c)"}, {"other": "a"}):
        ref = node.options(label_selector=selector).remote()
        assert _pending(ray, ref)
        ray.cancel(ref, force=True)


def test_init_labels_are_not_checked_for_syntax(ray_fresh):
    ray = ray_fresh
    ray.init(num_cpus=1, include_dashboard=False, labels={"ray.io/market-type": "spot",
                                                          "a key": "-odd-"})
    labels = ray.nodes()[0]["Labels"]
    assert labels["ray.io/market-type"] == "spot" and labels["a key"] == "-odd-"


def test_labels_refused_when_connecting(ray_fresh):
    ray = ray_fresh
    ray.init(num_cpus=1, include_dashboard=False)
    address = ray.get_runtime_context().gcs_address
    ray.shutdown()
    with pytest.raises(ValueError, match="labels must not be provided"):
        ray.init(address=address, labels={"zone": "a"})


@pytest.fixture
def labelled_cluster(ray_fresh: Any) -> Any:
    """A head with no labels, then nodes labelled A100/us, T100/us, T100/eu and one with no
    labels; yields (ray, cluster, {name: node id})."""
    ray = ray_fresh
    cluster = importlib.import_module(f"{ray.__name__}.cluster_utils").Cluster()
    try:
        cluster.add_node(num_cpus=0)
        ray.init(address=cluster.address)
        specs = {"a100_us": {"gpu_type": "A100", "region": "us"},
                 "t100_us": {"gpu_type": "T100", "region": "us"},
                 "t100_eu": {"gpu_type": "T100", "region": "eu"}, "plain": None}
        for name, labels in specs.items():
            cluster.add_node(num_cpus=1, resources={name: 1},
                             **({"labels": labels} if labels else {}))
        cluster.wait_for_nodes()
        node, _ = _where(ray)
        ids = {name: ray.get(node.options(resources={name: 0.1}).remote(), timeout=WAIT)
               for name in specs}
        ids["head"] = ray.get_runtime_context().get_node_id()  # the driver's
        yield ray, cluster, ids
    finally:
        ray.shutdown()
        cluster.shutdown()


def test_label_selectors_in_a_cluster(labelled_cluster):
    ray, cluster, ids = labelled_cluster
    node, Where = _where(ray)
    by_id = {v: k for k, v in ids.items()}
    labels = {n["NodeID"]: n["Labels"] for n in ray.nodes()}
    assert labels[ids["t100_eu"]]["region"] == "eu"
    assert "gpu_type" not in labels[ids["plain"]]

    cases = [({"gpu_type": "A100"}, {"a100_us"}),
             ({"gpu_type": "T100", "region": "us"}, {"t100_us"}),
             ({"gpu_type": "in(A100,T100)", "region": "!us"}, {"t100_eu"}),
             ({"gpu_type": "!in(A100,T100)"}, {"plain", "head"}),  # absent: not in the set
             ({"region": "!eu", "gpu_type": "!A100"}, {"t100_us", "plain", "head"})]
    for selector, allowed in cases:
        refs = [node.options(label_selector=selector).remote() for _ in range(4)]
        assert {by_id.get(n) for n in ray.get(refs, timeout=WAIT)} <= allowed, selector
        actor = Where.options(label_selector=selector).remote()
        assert by_id.get(ray.get(actor.node.remote(), timeout=WAIT)) in allowed, selector
        ray.kill(actor)

    # with SPREAD: still only the matching nodes
    refs = [node.options(label_selector={"region": "us"}, scheduling_strategy="SPREAD").remote()
            for _ in range(6)]
    assert {by_id.get(n) for n in ray.get(refs, timeout=WAIT)} <= {"a100_us", "t100_us"}

    # fallback_strategy: the first alternative some node satisfies
    fallback = [{"label_selector": {"gpu_type": "H100"}},
                {"label_selector": {"region": "eu"}}]
    ref = node.options(label_selector={"gpu_type": "V100"}, fallback_strategy=fallback).remote()
    assert ray.get(ref, timeout=WAIT) == ids["t100_eu"]


def test_node_label_scheduling_strategy(labelled_cluster):
    ray, cluster, ids = labelled_cluster
    s = importlib.import_module(f"{ray.__name__}.util.scheduling_strategies")
    node, Where = _where(ray)
    by_id = {v: k for k, v in ids.items()}
    cases = [(s.NodeLabelSchedulingStrategy({"gpu_type": s.In("T100"), "region": s.In("eu")}),
              {"t100_eu"}),
             (s.NodeLabelSchedulingStrategy({"gpu_type": s.NotIn("A100", "T100")}),
              {"plain", "head"}),
             (s.NodeLabelSchedulingStrategy({"gpu_type": s.DoesNotExist()}), {"plain", "head"}),
             (s.NodeLabelSchedulingStrategy({"region": s.Exists(), "gpu_type": s.NotIn("T100")}),
              {"a100_us"}),
             # hard and soft: the soft match among the hard ones, while it is free
             (s.NodeLabelSchedulingStrategy(hard={"region": s.In("us")},
                                            soft={"gpu_type": s.In("T100")}), {"t100_us"}),
             (s.NodeLabelSchedulingStrategy(hard={}, soft={"gpu_type": s.In("A100")}),
              {"a100_us"}),
             # a soft condition nothing satisfies: any hard match
             (s.NodeLabelSchedulingStrategy(hard={"region": s.In("us")},
                                            soft={"gpu_type": s.In("H100")}),
              {"a100_us", "t100_us"})]
    for strategy, allowed in cases:
        actor = Where.options(scheduling_strategy=strategy).remote()
        assert by_id.get(ray.get(actor.node.remote(), timeout=WAIT)) in allowed
        ray.kill(actor)
        assert by_id.get(ray.get(node.options(scheduling_strategy=strategy).remote(),
                                 timeout=WAIT)) in allowed
    # a hard condition no node satisfies: pending
    strategy = s.NodeLabelSchedulingStrategy(hard={"region": s.In("asia")},
                                             soft={"gpu_type": s.In("T100")})
    ref = node.options(scheduling_strategy=strategy).remote()
    assert _pending(ray, ref)
    ray.cancel(ref, force=True)


def test_task_waits_for_a_node_with_its_labels(labelled_cluster):
    ray, cluster, ids = labelled_cluster
    node, Where = _where(ray)
    ref = node.options(label_selector={"gpu_type": "H100"}).remote()
    actor = Where.options(label_selector={"gpu_type": "in(H100)"}).remote()
    call = actor.node.remote()
    assert _pending(ray, ref)
    cluster.add_node(num_cpus=1, labels={"gpu_type": "H100"})
    new = ray.get(ref, timeout=WAIT)
    assert new not in ids.values()
    assert ray.get(call, timeout=WAIT) == new


def test_bundle_label_selector(labelled_cluster):
    ray, cluster, ids = labelled_cluster
    pgs = importlib.import_module(f"{ray.__name__}.util.placement_group")
    s = importlib.import_module(f"{ray.__name__}.util.scheduling_strategies")
    node, _ = _where(ray)
    pg = pgs.placement_group([{"CPU": 1}, {"CPU": 1}], strategy="SPREAD",
                             bundle_label_selector=[{"gpu_type": "A100"},
                                                    {"gpu_type": "T100", "region": "eu"}])
    ray.get(pg.ready(), timeout=WAIT)
    table = pgs.placement_group_table(pg)["bundles_to_node_id"]
    assert table == {0: ids["a100_us"], 1: ids["t100_eu"]}
    strategy = s.PlacementGroupSchedulingStrategy(pg, placement_group_bundle_index=1)
    assert ray.get(node.options(num_cpus=1, scheduling_strategy=strategy).remote(),
                   timeout=WAIT) == ids["t100_eu"]
    pgs.remove_placement_group(pg)

    # no node has the labels: the group stays pending
    pending = pgs.placement_group([{"CPU": 1}], bundle_label_selector=[{"gpu_type": "H100"}])
    assert not pending.wait(timeout_seconds=3)
    pgs.remove_placement_group(pending)


def test_actor_restarts_on_a_new_matching_node(ray_fresh):
    ray = ray_fresh
    cluster = importlib.import_module(f"{ray.__name__}.cluster_utils").Cluster()
    try:
        cluster.add_node(num_cpus=1)
        ray.init(address=cluster.address)
        head = ray.get_runtime_context().get_node_id()
        worker = cluster.add_node(num_cpus=1)
        cluster.wait_for_nodes()

        @ray.remote(label_selector={"ray.io/node-id": f"!{head}"}, max_restarts=-1,
                    max_task_retries=-1)
        class Where:
            def node(self) -> str:
                return ray.get_runtime_context().get_node_id()

        actor = Where.remote()
        first = ray.get(actor.node.remote(), timeout=WAIT)
        assert first != head
        cluster.remove_node(worker, allow_graceful=False)
        deadline = time.monotonic() + WAIT  # Ray notices a dead node after health checks
        while any(n["NodeID"] == first and n["Alive"] for n in ray.nodes()):
            assert time.monotonic() < deadline, "the removed node still looks alive"
            time.sleep(0.5)
        call = actor.node.remote()  # retried until the actor is back
        cluster.add_node(num_cpus=1)
        assert ray.get(call, timeout=WAIT) not in (head, first)
    finally:
        ray.shutdown()
        cluster.shutdown()
