"""Node labels and label selectors as raylike reads them (``raylike._api.labels``)."""
from __future__ import annotations

import pytest

from raylike._api import labels as _labels
from raylike.util.scheduling_strategies import DoesNotExist, Exists, In, NotIn


@pytest.mark.parametrize("text, labels", [
    ("a=1,b=x", {"a": "1", "b": "x"}),
    ('"a=1, b = x"', {"a": "1", "b": "x"}),
    ('{"gpu_type": "A100", "region": "us"}', {"gpu_type": "A100", "region": "us"}),
    ("", {}),
])
def test_cli_labels(text, labels):
    assert _labels.parse_cli_labels(text) == labels


@pytest.mark.parametrize("text, match", [
    ("a", "not a key-value pair"),
    ('{"ray.io/x": "y"}', "not a key-value pair"),  # Ray's keys: the first reading's error
    ('{"gpu_type": 1}', "not a key-value pair"),  # a value no string: the same, as in Ray
    ("-bad=x", "Invalid label key name"),
    ("k=-bad-", "Invalid label key value"),
])
def test_bad_cli_labels(text, match):
    with pytest.raises(ValueError, match=match):
        _labels.parse_cli_labels(text)


@pytest.mark.parametrize("labels, match", [
    ([("a", "b")], "key-value pair map"),
    ({"a": 1}, "not string type"),
    ({"bad key": "x"}, "Invalid label key name"),
])
def test_bad_node_labels(labels, match):
    with pytest.raises(ValueError, match=match):
        _labels.check_node_labels(labels)


NODE = {"gpu": "A100", "zone": "us"}


@pytest.mark.parametrize("selector, ok", [
    ({"gpu": "A100"}, True), ({"gpu": "!A100"}, False), ({"gpu": "!H100"}, True),
    ({"gpu": "in(H100,A100)"}, True), ({"gpu": "!in(H100,A100)"}, False),
    ({"other": "!x"}, True), ({"other": "x"}, False), ({"other": "!in(x,y)"}, True),
    ({"gpu": "A100", "zone": "eu"}, False), ({}, True),
    # Ray's raylet keeps what follows a comma as it is: " A100" is no label value
    ({"gpu": "in(H100, A100)"}, False),
])
def test_selector_matching(selector, ok):
    assert _labels.matches(NODE, _labels.conditions(selector)) is ok


@pytest.mark.parametrize("expressions, ok", [
    ({"gpu": In("A100", "H100")}, True), ({"gpu": NotIn("A100")}, False),
    ({"other": NotIn("x")}, True), ({"gpu": Exists()}, True), ({"other": Exists()}, False),
    ({"other": DoesNotExist()}, True), ({"gpu": DoesNotExist()}, False),
])
def test_strategy_matching(expressions, ok):
    from raylike.util.scheduling_strategies import NodeLabelSchedulingStrategy

    strategy = NodeLabelSchedulingStrategy(expressions)
    assert _labels.matches(NODE, _labels.strategy_conditions(strategy.hard)) is ok


def test_sentinel_round_trip_and_is_no_address():
    from distributed.comm.addressing import resolve_address

    conds = _labels.conditions({"gpu": "!in(A100,H100)", "zone": "us"})
    text = _labels.sentinel(conds)
    assert _labels.from_sentinel(text) == conds
    assert _labels.from_sentinel("tcp://127.0.0.1:1234") is None
    with pytest.raises(ValueError):  # the scheduler keeps it as a host no worker has
        resolve_address(text)


def test_worker_labels_from_its_environment(monkeypatch):
    monkeypatch.setenv("RAYLIKE_NODE_LABELS", '{"zone": "a", "ray.io/market-type": "spot"}')
    monkeypatch.setenv("RAY_NODE_MARKET_TYPE", "on-demand")
    monkeypatch.setenv("RAY_NODE_REGION", "us-west4")
    monkeypatch.setenv("RAY_OVERRIDE_LABELS", '{"zone": "b"}')
    labels = _labels.own_labels()
    assert labels == {"zone": "b", "ray.io/market-type": "spot",
                      "ray.io/availability-region": "us-west4"}
    info = {"resources": {"CPU": 1, "accelerator_type:A100": 1}, _labels.EXTRA_KEY: labels}
    node = _labels.node_labels("tcp://127.0.0.1:1", info)
    assert node["ray.io/accelerator-type"] == "A100" and node["zone"] == "b"
    assert len(node[_labels.NODE_ID]) == 56


def test_state_api_rows_carry_labels_and_selectors():
    import raylike as ray
    from raylike.util.state import list_nodes, list_tasks

    ray.init(num_cpus=1, include_dashboard=False, labels={"zone": "a"},
             resources={"accelerator_type:V100": 1})
    try:
        @ray.remote
        def f():
            return ray.get_runtime_context().get_node_labels()

        labels = ray.get(f.options(label_selector={"zone": "a"}).remote(), timeout=60)
        assert labels["zone"] == "a" and labels["ray.io/accelerator-type"] == "V100"
        (node,) = list_nodes(detail=True)
        assert node.labels == labels
        (task,) = [t for t in list_tasks(detail=True) if t.name == "f"]
        assert task.label_selector == {"zone": "a"}
    finally:
        ray.shutdown()
