"""The lazy DAG API (``ray.dag``): ``.bind()`` records calls, ``execute()`` makes them."""
from __future__ import annotations

import importlib

import pytest

pytestmark = pytest.mark.filterwarnings("ignore:DAGNode.execute")  # deprecated in Ray 2.60


def _dag(ray, name):
    return importlib.import_module(f"{ray.__name__}.dag.{name}")


def _tally(ray):
    @ray.remote(num_cpus=0)
    class Tally:
        def __init__(self):
            self.calls = 0

        def add(self):
            self.calls += 1

        def count(self):
            return self.calls

    return Tally.remote()


def test_function_nodes_chain_and_share(ray_shared):
    ray = ray_shared
    tally = _tally(ray)

    @ray.remote
    def plus(value, more=1, tally=None):
        if tally is not None:
            ray.get(tally.add.remote())
        return value + more

    base = plus.bind(1, more=2, tally=tally)
    assert ray.get(base.execute()) == 3
    total = plus.bind(plus.bind(base, more=3), more=base)  # ``base`` is made once
    assert ray.get(total.execute()) == 9
    assert ray.get(tally.count.remote()) == 2  # one per execute()
    nested = plus.options(num_cpus=0).bind([base], more=[])
    inner = ray.get(nested.execute())  # a node inside a list reaches the task as a ref
    assert isinstance(inner[0], ray.ObjectRef) and ray.get(inner[0]) == 3


def test_class_node_makes_an_actor_per_execute_and_runs_bound_calls_in_order(ray_shared):
    ray = ray_shared

    @ray.remote
    class Account:
        def __init__(self, balance):
            self.balance = balance

        def deposit(self, amount):
            self.balance += amount

        def read(self):
            return self.balance

    @ray.remote
    def add(x, y):
        return x + y

    first = Account.bind(100)
    opening = first.read.bind()
    assert ray.get(opening.execute()) == 100
    second = Account.bind(5)
    first.deposit.bind(10)  # bound only for its effect: it still runs before later calls
    first.deposit.bind(20)
    second.deposit.bind(1)
    both = add.bind(first.read.bind(), second.read.bind())
    assert ray.get(both.execute()) == 136
    assert ray.get(both.execute()) == 136  # fresh actors each time
    handle = first.execute()
    assert ray.get(handle.read.remote()) == 100


def test_input_node(ray_shared):
    ray = ray_shared
    input_node = _dag(ray, "input_node")

    @ray.remote
    def double(x):
        return 2 * x

    @ray.remote
    def join(*parts):
        return list(parts)

    with input_node.InputNode() as inp:
        dag = join.bind(double.bind(inp), inp)
    assert ray.get(dag.execute(4)) == [8, 4]
    assert ray.get(dag.execute("ab")) == ["abab", "ab"]

    with input_node.InputNode() as inp:
        picked = join.bind(inp[0], inp[1], inp["key"], inp.other)
    assert ray.get(picked.execute("a", "b", key="k", other="o")) == ["a", "b", "k", "o"]

    with input_node.InputNode() as inp:  # one value: its items and attributes
        assert ray.get(join.bind(inp["x"]).execute({"x": 7})) == [7]
    assert ray.get(join.bind(inp.real).execute(3 + 4j)) == [3.0]


def test_multi_output_node_and_actor_handle_binds(ray_shared):
    ray = ray_shared
    input_node, output_node = _dag(ray, "input_node"), _dag(ray, "output_node")

    @ray.remote
    class Counter:
        def __init__(self):
            self.seen = 0

        def step(self, value):
            self.seen += 1
            return value + self.seen

        def seen_count(self):
            return self.seen

    counter = Counter.remote()  # an actor made with .remote() lives across executions
    with input_node.InputNode() as inp:
        dag = output_node.MultiOutputNode([counter.step.bind(inp), counter.step.bind(inp)])
    assert ray.get(dag.execute(10)) == [11, 12]
    assert ray.get(dag.execute(10)) == [13, 14]
    assert ray.get(counter.seen_count.remote()) == 4


def test_public_modules(ray_shared):
    ray = ray_shared
    dag = importlib.import_module(f"{ray.__name__}.dag")
    for name in ("DAGNode", "FunctionNode", "ClassNode", "ClassMethodNode", "InputNode",
                 "InputAttributeNode", "MultiOutputNode", "DAGInputData"):
        assert hasattr(dag, name), name
    assert _dag(ray, "input_node").InputNode is dag.InputNode
    assert _dag(ray, "output_node").MultiOutputNode is dag.MultiOutputNode
