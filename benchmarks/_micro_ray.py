"""The microbenchmark's workloads through Ray's API (``import <engine> as ray``): raylike and
Ray run this very code. Each figure's builder makes what the figure needs (actors, objects)
and returns the call that is timed and a clean-up; Ray's ``ray_perf.py`` describes the same
workloads, written here afresh."""
from __future__ import annotations

import importlib
import time
from collections.abc import Callable
from typing import Any

import _micro_work
import numpy as np
from _engines import describe, import_engine
from _figures import MAIN_CPUS
from _micro_figures import SERVERS, MicroSizes

Workload = tuple[Callable[[], object], Callable[[], None]]  # the timed call, the clean-up
PG_WAIT_S = 30.0  # each placement group must be ready within this


def ship_by_value(ray: Any) -> None:
    """Pickle ``_micro_work``'s code by value, with the pickler the engine uses."""
    pickler: Any = importlib.import_module(
        "ray.cloudpickle" if ray.__name__ == "ray" else "cloudpickle")
    pickler.register_pickle_by_value(_micro_work)


def nothing() -> None:
    """No clean-up."""


class RayBench:
    """raylike or Ray, started on MAIN_CPUS CPUs and a custom resource for placement groups."""

    def __init__(self, module_name: str, sizes: MicroSizes) -> None:
        self.ray = import_engine(module_name)
        ship_by_value(self.ray)
        self.s = sizes
        self.r = _micro_work.build(self.ray)

    def start(self) -> None:
        kwargs: dict[str, Any] = {"num_cpus": MAIN_CPUS, "resources": {"custom": 100},
                                  "include_dashboard": False}
        if self.ray.__name__ == "ray":
            kwargs["log_to_driver"] = False
        self.ray.init(**kwargs)
        if self.ray.get(self.r.small_value.remote()) != b"ok":
            raise AssertionError("the first task returned a wrong result")

    def version(self) -> str:
        return describe(self.ray)

    def shutdown(self) -> None:
        self.ray.shutdown()

    def burst(self, n: int) -> None:
        """``n`` trivial tasks submitted at once, then got."""
        values = self.ray.get([self.r.small_value.remote() for _ in range(n)])
        if len(values) != n or any(v != b"ok" for v in values):
            raise AssertionError("the burst returned wrong results")

    def workload(self, name: str) -> Workload | None:
        """The timed call of the figure called ``name`` (None: not one of this engine's)."""
        builder = BUILDERS.get(name)
        return builder(self) if builder else None

    def killing(self, actors: list[Any]) -> Callable[[], None]:
        """A clean-up that kills ``actors``."""
        def kill() -> None:
            for actor in actors:
                self.ray.kill(actor)
        return kill

    def calls(self, method: Any, n: int, *args: Any) -> Callable[[], object]:
        """A call that submits ``n`` calls of ``method`` and gets them all."""
        ray = self.ray
        return lambda: ray.get([method.remote(*args) for _ in range(n)])


# --------------------------------------------------------------------------- objects


def get_calls(b: RayBench) -> Workload:
    ref = b.ray.put(0)
    return (lambda: b.ray.get(ref)), nothing


def put_calls(b: RayBench) -> Workload:
    return (lambda: b.ray.put(0)), nothing


def multi_put_calls(b: RayBench) -> Workload:
    tasks, n = b.s.small_put_tasks, b.s.small_puts
    return b.calls(b.r.put_small, tasks, n), nothing


def put_gigabytes(b: RayBench) -> Workload:
    arr = np.zeros(b.s.put_elements, dtype=np.int64)
    return (lambda: b.ray.put(arr)), nothing


def multi_put_gigabytes(b: RayBench) -> Workload:
    return b.calls(b.r.put_arrays, b.s.big_put_tasks, b.s.big_puts, b.s.big_put_elements), nothing


def get_containing_refs(b: RayBench) -> Workload:
    ref = b.r.make_refs.remote(b.s.contained_refs)
    return (lambda: b.ray.get(ref)), nothing


def wait_refs(b: RayBench) -> Workload:
    ray, small, n = b.ray, b.r.small_value, b.s.wait_refs

    def wait_each() -> None:
        pending = [small.remote() for _ in range(n)]
        for i in range(n):  # fetch once: later waits need not ask again (as in Ray's figure)
            _, pending = ray.wait(pending, fetch_local=(i == 0))

    return wait_each, nothing


# --------------------------------------------------------------------------- tasks


def tasks_and_get_batch(b: RayBench) -> Workload:
    return b.calls(b.r.small_value, b.s.batch), nothing


def tasks_sync(b: RayBench) -> Workload:
    return (lambda: b.ray.get(b.r.small_value.remote())), nothing


def multi_client_tasks(b: RayBench) -> Workload:
    actors = [b.r.Actor.remote() for _ in range(b.s.clients)]
    n = b.s.client_tasks
    return (lambda: b.ray.get([a.small_value_batch.remote(n) for a in actors])), \
        b.killing(actors)


# --------------------------------------------------------------------------- actors


def one_actor(actor_class: str, method: str, batch: bool, arg: bool = False,
              **options: Any) -> Callable[[RayBench], Workload]:
    """Calls from the driver to one actor: one call got at a time, or (``batch``) ``batch``
    calls submitted, then got together; ``arg``: each call takes its index."""
    def build(b: RayBench) -> Workload:
        cls = getattr(b.r, actor_class)
        actor = (cls.options(**options) if options else cls).remote()
        fn, ray, n = getattr(actor, method), b.ray, b.s.batch
        if not batch:
            return (lambda: ray.get(fn.remote())), b.killing([actor])
        if arg:
            return (lambda: ray.get([fn.remote(i) for i in range(n)])), b.killing([actor])
        return b.calls(fn, n), b.killing([actor])
    return build


def one_to_n(actor_class: str) -> Callable[[RayBench], Workload]:
    """One client actor calls SERVERS actors of ``actor_class``."""
    def build(b: RayBench) -> Workload:
        servers = [getattr(b.r, actor_class).remote() for _ in range(SERVERS)]
        client = b.r.Client.remote(servers)
        n = b.s.calls_1n
        return (lambda: b.ray.get(client.small_value_batch.remote(n))), \
            b.killing([client, *servers])
    return build


def n_to_n(actor_class: str) -> Callable[[RayBench], Workload]:
    """``clients`` tasks each call SERVERS actors of ``actor_class``."""
    def build(b: RayBench) -> Workload:
        servers = [getattr(b.r, actor_class).remote() for _ in range(SERVERS)]
        return b.calls(b.r.call_actors, b.s.clients, servers, b.s.calls_1n), \
            b.killing(servers)
    return build


def n_to_n_with_arg(b: RayBench) -> Workload:
    servers = [b.r.Actor.remote() for _ in range(SERVERS)]
    clients = [b.r.Client.remote(s) for s in servers]
    n = b.s.calls_arg
    return (lambda: b.ray.get([c.small_value_batch_arg.remote(n) for c in clients])), \
        b.killing([*clients, *servers])


# --------------------------------------------------------------------------- placement groups


def placement_groups(b: RayBench) -> Workload:
    util = import_engine(f"{b.ray.__name__}.util")
    n = b.s.placement_groups

    def create_and_remove() -> None:
        groups = [util.placement_group(bundles=[{"custom": 0.001}]) for _ in range(n)]
        deadline = time.monotonic() + PG_WAIT_S
        for group in groups:
            if not group.wait(timeout_seconds=max(0.0, deadline - time.monotonic())):
                raise TimeoutError(f"a placement group was not ready within {PG_WAIT_S} s")
        for group in groups:
            util.remove_placement_group(group)

    return create_and_remove, nothing


def nested_tree(b: RayBench) -> Workload:
    """A tree of tasks: each splits its array in two and passes the halves to two children,
    by value (large arguments), down to leaves of 1/16 of the array (31 tasks), and sums."""
    values = np.ones(b.s.tree_elements)
    leaf = max(1, b.s.tree_elements // 16)

    def run() -> None:
        if b.ray.get(b.r.split_sum.remote(values, leaf)) != float(b.s.tree_elements):
            raise AssertionError("the tree of tasks summed wrong")
    return run, nothing


BUILDERS: dict[str, Callable[[RayBench], Workload]] = {
    "single client get calls (Plasma Store)": get_calls,
    "single client put calls (Plasma Store)": put_calls,
    "multi client put calls (Plasma Store)": multi_put_calls,
    "single client put gigabytes": put_gigabytes,
    "single client tasks and get batch": tasks_and_get_batch,
    "multi client put gigabytes": multi_put_gigabytes,
    "single client get object containing 10k refs": get_containing_refs,
    "single client wait 1k refs": wait_refs,
    "single client tasks sync": tasks_sync,
    "nested tasks with large arguments": nested_tree,
    "single client tasks async": tasks_and_get_batch,
    "multi client tasks async": multi_client_tasks,
    "1:1 actor calls sync": one_actor("Actor", "small_value", False),
    "1:1 actor calls async": one_actor("Actor", "small_value", True),
    "1:1 actor calls concurrent": one_actor("Actor", "small_value", True, max_concurrency=16),
    "1:n actor calls async": one_to_n("Actor"),
    "n:n actor calls async": n_to_n("Actor"),
    "n:n actor calls with arg async": n_to_n_with_arg,
    "1:1 async-actor calls sync": one_actor("AsyncActor", "small_value", False),
    "1:1 async-actor calls async": one_actor("AsyncActor", "small_value", True),
    "1:1 async-actor calls with args async": one_actor("AsyncActor", "small_value_with_arg", True,
                                                       arg=True),
    "1:n async-actor calls async": one_to_n("AsyncActor"),
    "n:n async-actor calls async": n_to_n("AsyncActor"),
    "placement group create/removal": placement_groups,
}
