"""Resource accounting: CPUs, fractional CPUs, custom resources, (fake) GPUs, runtime context.

All tests here share one cluster with 4 CPUs, 2 fake GPUs and a custom resource; it is built
from the conftest ``ray_module`` fixture exactly the way ``ray_start`` builds its clusters, but
module-scoped so that the suite starts one cluster instead of one per test.
"""

from __future__ import annotations

import os
import time

import pytest

INIT_KWARGS = {"num_cpus": 4, "num_gpus": 2, "resources": {"Custom": 2}, "include_dashboard": False}


@pytest.fixture(scope="module")
def ray4(ray_module):
    if ray_module.is_initialized():
        ray_module.shutdown()
    ray_module.init(**INIT_KWARGS)
    yield ray_module
    ray_module.shutdown()


# ----------------------------------------------------------------------------------------------
# helpers (driver side only)
# ----------------------------------------------------------------------------------------------


def _max_overlap(intervals):
    """Largest number of [start, end] intervals open at the same instant."""
    events = []
    for start, end in intervals:
        events.append((start, 1))
        events.append((end, -1))
    events.sort(key=lambda e: (e[0], e[1]))  # at equal times, an end closes before a start opens
    best = cur = 0
    for _, delta in events:
        cur += delta
        best = max(best, cur)
    return best


def _make_interval_task(ray, **options):
    @ray.remote(**options)
    def timed(duration):
        start = time.time()
        time.sleep(duration)
        return start, time.time()

    return timed


def _make_barrier_task(ray, **options):
    """A task that waits (without calling into Ray, so it keeps its resources) until ``n`` tasks
    have reached the barrier directory, and reports whether they all did."""

    @ray.remote(**options)
    def barrier(directory, n, index):
        open(os.path.join(directory, f"arrived-{index}"), "w").close()
        deadline = time.time() + 20
        while time.time() < deadline:
            if len(os.listdir(directory)) >= n:
                return True
            time.sleep(0.01)
        return False

    return barrier


def _check_concurrency_limit(ray, directory, k, **options):
    """Tasks with ``options`` run ``k`` at a time: ``k`` of them can meet at a barrier, and of
    ``2k + 1`` short sleeping tasks never more than ``k`` overlap."""
    barrier = _make_barrier_task(ray, **options)
    assert (
        ray.get([barrier.remote(str(directory), k, i) for i in range(k)], timeout=50) == [True] * k
    )
    timed = _make_interval_task(ray, **options)
    intervals = ray.get([timed.remote(0.3) for _ in range(2 * k + 1)], timeout=50)
    assert _max_overlap(intervals) <= k


def _wait_for_file(path, timeout=30.0):
    deadline = time.time() + timeout
    while not os.path.exists(path):
        assert time.time() < deadline, f"{path} never appeared"
        time.sleep(0.01)


# ----------------------------------------------------------------------------------------------
# CPUs
# ----------------------------------------------------------------------------------------------


def test_multi_cpu_task_runs(ray4):
    ray = ray4

    @ray.remote(num_cpus=2)
    def f():
        return "two cpus"

    @ray.remote(num_cpus=4)
    def g():
        return "all cpus"

    assert ray.get([f.remote(), g.remote()], timeout=30) == ["two cpus", "all cpus"]


def test_two_cpu_tasks_run_two_at_a_time(ray4, tmp_path):
    _check_concurrency_limit(ray4, tmp_path, 2, num_cpus=2)


def test_fractional_cpu_tasks_all_run_at_once(ray4, tmp_path):
    ray = ray4
    barrier = _make_barrier_task(ray, num_cpus=0.5)
    # eight half-CPU tasks fit on four CPUs at the same time: all reach the barrier
    results = ray.get([barrier.remote(str(tmp_path), 8, i) for i in range(8)], timeout=50)
    assert results == [True] * 8


def test_fractional_cpu_tasks_are_limited(ray4, tmp_path):
    # 1.5 + 1.5 fits in 4, a third does not
    _check_concurrency_limit(ray4, tmp_path, 2, num_cpus=1.5)


def test_zero_cpu_tasks_are_not_limited(ray4, tmp_path):
    ray = ray4
    started, release = tmp_path / "started", tmp_path / "release"

    @ray.remote(num_cpus=4)
    def hog(started_path, release_path):
        open(started_path, "w").close()
        deadline = time.time() + 40
        while not os.path.exists(release_path) and time.time() < deadline:
            time.sleep(0.01)
        return "hog done"

    @ray.remote(num_cpus=0)
    def free(i):
        return i

    @ray.remote(num_cpus=1)
    def needs_cpu():
        return "cpu"

    h = hog.remote(str(started), str(release))
    _wait_for_file(started)
    queued = needs_cpu.remote()
    # every CPU is held, yet zero-CPU tasks run
    assert ray.get([free.remote(i) for i in range(6)], timeout=40) == list(range(6))
    ready, _ = ray.wait([queued], timeout=0.5)
    assert ready == []  # while the one-CPU task waits
    release.touch()
    assert ray.get([h, queued], timeout=30) == ["hog done", "cpu"]


@pytest.mark.timeout(180)
def test_default_actors_need_no_free_cpu(ray4):
    """Actors that ask for nothing need a CPU only to be placed: any number of them live on a
    node whose CPUs are all held (here by two ``num_cpus=2`` actors)."""
    ray = ray4

    @ray.remote(num_cpus=2)
    class Holder:
        def ping(self):
            return "held"

    @ray.remote
    class Default:
        def __init__(self, i):
            self.i = i

        def get(self):
            return self.i

    holders = [Holder.remote() for _ in range(2)]
    assert ray.get([h.ping.remote() for h in holders], timeout=60) == ["held"] * 2
    assert ray.available_resources().get("CPU", 0) == 0
    actors = [Default.remote(i) for i in range(50)]
    assert ray.get([a.get.remote() for a in actors], timeout=150) == list(range(50))

    @ray.remote(num_cpus=1)
    def needs_cpu():
        return "cpu"

    ref = needs_cpu.remote()
    ready, _ = ray.wait([ref], timeout=0.5)
    assert ready == []  # the CPUs are still the holders'
    for actor in actors + holders:
        ray.kill(actor)
    assert ray.get(ref, timeout=60) == "cpu"


def test_infeasible_task_stays_pending(ray4):
    ray = ray4

    @ray.remote(num_cpus=64)
    def too_big():
        return 1

    @ray.remote(resources={"NoSuchResource": 1})
    def unknown_resource():
        return 1

    refs = [too_big.remote(), unknown_resource.remote()]
    ready, not_ready = ray.wait(refs, num_returns=2, timeout=1.0)
    assert ready == [] and not_ready == refs
    for ref in refs:
        ray.cancel(ref)
        with pytest.raises(ray.exceptions.TaskCancelledError):
            ray.get(ref, timeout=30)


def test_a_task_waiting_for_resources_does_not_hold_back_one_that_fits(ray4):
    ray = ray4

    @ray.remote
    class Holder:  # holds its resources for its life (a blocked task would lend its CPUs)
        def ready(self):
            return True

    @ray.remote
    def quick():
        return "quick"

    holders = [Holder.options(num_cpus=3).remote(), Holder.options(num_cpus=0, num_gpus=2).remote()]
    ray.get([h.ready.remote() for h in holders], timeout=60)  # one CPU of four left, no GPU
    waiting = [quick.options(num_cpus=2).remote(), quick.options(num_cpus=0, num_gpus=1).remote()]
    assert ray.get(quick.options(num_cpus=1).remote(), timeout=30) == "quick"
    ready, _ = ray.wait(waiting, num_returns=2, timeout=0.5)
    assert ready == []
    for holder in holders:
        ray.kill(holder)
    assert ray.get(waiting, timeout=60) == ["quick", "quick"]


# ----------------------------------------------------------------------------------------------
# custom resources
# ----------------------------------------------------------------------------------------------


def test_custom_resource_limits_concurrency(ray4, tmp_path):
    _check_concurrency_limit(ray4, tmp_path, 2, num_cpus=0.5, resources={"Custom": 1})


def test_custom_resource_fractional(ray4, tmp_path):
    ray = ray4
    barrier = _make_barrier_task(ray, num_cpus=0.5, resources={"Custom": 0.5})
    results = ray.get([barrier.remote(str(tmp_path), 4, i) for i in range(4)], timeout=50)
    assert results == [True] * 4


def test_fractions_that_add_up_to_the_whole_fit(ray4):
    """Taking 1.7 of 2 leaves exactly 0.3 (Ray counts in fixed point): a request for 0.3
    starts, one for 0.4 waits."""
    ray = ray4

    @ray.remote(num_cpus=0)
    class Holder:
        def ping(self):
            return "ok"

    big = Holder.options(resources={"Custom": 1.7}).remote()
    assert ray.get(big.ping.remote(), timeout=60) == "ok"
    too_big = Holder.options(resources={"Custom": 0.4}).remote()
    waiting = too_big.ping.remote()
    rest = Holder.options(resources={"Custom": 0.3}).remote()
    assert ray.get(rest.ping.remote(), timeout=60) == "ok"
    ready, _ = ray.wait([waiting], timeout=0.5)
    assert ready == []
    for actor in (big, too_big, rest):
        ray.kill(actor)


def test_a_fractional_gpu_count_above_one_is_refused_at_submission(ray4):
    """Ray accepts ``num_gpus=1.5`` when decorating and refuses it when the task is
    submitted (device counts above one must be whole)."""
    ray = ray4

    @ray.remote(num_gpus=1.5)
    def greedy():
        return 1

    with pytest.raises(ValueError):
        greedy.remote()
    assert ray.get(greedy.options(num_gpus=1).remote(), timeout=60) == 1


# ----------------------------------------------------------------------------------------------
# GPUs (fake: the cluster was started with num_gpus=2 on a machine that may have none)
# ----------------------------------------------------------------------------------------------


def test_gpu_tasks_limited_by_gpu_count(ray4, tmp_path):
    _check_concurrency_limit(ray4, tmp_path, 2, num_gpus=1)


def test_get_gpu_ids_in_concurrent_gpu_tasks(ray4, tmp_path):
    ray = ray4

    @ray.remote(num_gpus=1)
    def gpu_task(directory):
        ids = ray.get_gpu_ids()
        env = os.environ.get("CUDA_VISIBLE_DEVICES")
        # wait until the other task also holds its GPU
        open(os.path.join(directory, f"{os.getpid()}-{time.time()}"), "w").close()
        deadline = time.time() + 20
        while len(os.listdir(directory)) < 2 and time.time() < deadline:
            time.sleep(0.01)
        return ids, env, len(os.listdir(directory)) >= 2

    (ids_a, env_a, met_a), (ids_b, env_b, met_b) = ray.get(
        [gpu_task.remote(str(tmp_path)), gpu_task.remote(str(tmp_path))], timeout=50
    )
    assert met_a and met_b
    assert len(ids_a) == 1 and len(ids_b) == 1
    assert ids_a != ids_b
    assert {int(ids_a[0]), int(ids_b[0])} == {0, 1}
    assert env_a == str(ids_a[0])
    assert env_b == str(ids_b[0])


def test_get_gpu_ids_outside_tasks_is_empty(ray4):
    ray = ray4
    assert ray.get_gpu_ids() == []

    @ray.remote(num_gpus=0)
    def no_gpu():
        return ray.get_gpu_ids()

    assert ray.get(no_gpu.remote()) == []


def test_fractional_gpu_task_gets_one_id(ray4, tmp_path):
    ray = ray4

    @ray.remote(num_gpus=0.5)
    def half():
        return ray.get_gpu_ids(), os.environ.get("CUDA_VISIBLE_DEVICES")

    ids, env = ray.get(half.remote())
    assert len(ids) == 1
    assert int(ids[0]) in (0, 1)
    assert env == str(ids[0])

    # four half-GPU tasks fit on two GPUs at once
    barrier = _make_barrier_task(ray, num_gpus=0.5)
    assert (
        ray.get([barrier.remote(str(tmp_path), 4, i) for i in range(4)], timeout=50) == [True] * 4
    )


# ----------------------------------------------------------------------------------------------
# the variables a worker sets for its task
# ----------------------------------------------------------------------------------------------


@pytest.mark.skipif("OMP_NUM_THREADS" in os.environ, reason="set by the user: Ray keeps it")
def test_omp_num_threads_follows_the_cpus_of_the_task(ray4):
    ray = ray4

    @ray.remote
    def omp():
        return os.environ.get("OMP_NUM_THREADS")

    @ray.remote
    class Omp:
        def get(self):
            return os.environ.get("OMP_NUM_THREADS")

    assert ray.get(omp.options(num_cpus=2).remote(), timeout=60) == "2"
    assert ray.get(omp.remote(), timeout=60) == "1"  # a reused process drops the 2
    assert ray.get(omp.options(num_cpus=0.5).remote(), timeout=60) == "1"
    env = {"env_vars": {"OMP_NUM_THREADS": "3"}}
    assert ray.get(omp.options(num_cpus=2, runtime_env=env).remote(), timeout=60) == "3"
    assert ray.get(Omp.remote().get.remote(), timeout=60) == "1"
    assert ray.get(Omp.options(num_cpus=2).remote().get.remote(), timeout=60) == "2"


def test_task_without_gpus_keeps_the_visible_devices_of_its_process(ray4):
    ray = ray4
    expected = os.environ.get("CUDA_VISIBLE_DEVICES")  # the workers inherit the driver's

    @ray.remote(num_gpus=0)
    def visible():
        return os.environ.get("CUDA_VISIBLE_DEVICES")

    @ray.remote(num_gpus=1)
    def on_gpu():
        return ray.get_gpu_ids(), os.environ.get("CUDA_VISIBLE_DEVICES")

    assert ray.get(visible.remote(), timeout=60) == expected
    ids, env = ray.get(on_gpu.remote(), timeout=60)
    assert env == str(ids[0])
    # and once a GPU task ran (maybe in the same reused process), a task with none again sees
    # what its process had
    assert ray.get([visible.remote() for _ in range(4)], timeout=60) == [expected] * 4


# ----------------------------------------------------------------------------------------------
# runtime context
# ----------------------------------------------------------------------------------------------


def test_runtime_context_in_driver(ray4):
    ray = ray4
    ctx = ray.get_runtime_context()
    job_id = ctx.get_job_id()
    assert isinstance(job_id, str) and job_id
    assert isinstance(ctx.namespace, str) and ctx.namespace
    assert ctx.get_task_id() is None  # the driver is not a task
    assert ctx.get_actor_id() is None


def test_runtime_context_in_tasks(ray4):
    ray = ray4

    @ray.remote
    def info():
        ctx = ray.get_runtime_context()
        return ctx.get_job_id(), ctx.get_task_id(), ctx.namespace, ctx.get_actor_id()

    driver_ctx = ray.get_runtime_context()
    (job1, task1, ns1, actor1), (job2, task2, ns2, actor2) = ray.get([info.remote(), info.remote()])
    assert job1 == job2 == driver_ctx.get_job_id()
    assert ns1 == ns2 == driver_ctx.namespace
    assert isinstance(task1, str) and isinstance(task2, str)
    assert task1 != task2
    assert actor1 is None and actor2 is None


def test_runtime_context_in_actor(ray4):
    ray = ray4

    @ray.remote
    class Who:
        def me(self):
            ctx = ray.get_runtime_context()
            return ctx.get_actor_id(), ctx.get_task_id()

    a, b = Who.remote(), Who.remote()
    (a_id1, t1), (a_id2, t2), (b_id, _) = ray.get([a.me.remote(), a.me.remote(), b.me.remote()])
    assert isinstance(a_id1, str) and a_id1 == a_id2
    assert a_id1 != b_id
    assert t1 != t2


def test_head_node_has_rays_head_resource(ray4):
    ray = ray4
    head = "node:__internal_head__"
    assert ray.cluster_resources()[head] == 1

    @ray.remote(num_cpus=0, resources={head: 0.001})
    def on_head():
        return "ran on the head node"

    assert ray.get(on_head.remote(), timeout=60) == "ran on the head node"


def test_each_node_has_a_resource_named_after_its_address(ray4):
    ray = ray4
    for node in ray.nodes():
        if node["Alive"]:
            assert node["Resources"][f"node:{node['NodeManagerAddress']}"] == 1
    here = f"node:{ray.util.get_node_ip_address()}"
    assert ray.cluster_resources()[here] >= 1

    @ray.remote(num_cpus=0, resources={here: 0.01})
    def pinned():
        return ray.util.get_node_ip_address()

    assert f"node:{ray.get(pinned.remote(), timeout=60)}" == here


# ----------------------------------------------------------------------------------------------
# NodeAffinitySchedulingStrategy: Ray refuses a hard affinity it can never honour
# ----------------------------------------------------------------------------------------------


def _affinity(ray, node_id, soft, **private):
    from importlib import import_module

    strategies = import_module(f"{ray.__name__}.util.scheduling_strategies")
    return strategies.NodeAffinitySchedulingStrategy(node_id, soft=soft, **private)


def test_hard_affinity_to_unknown_node_fails_task_and_actor(ray4):
    ray = ray4
    unknown = ray.NodeID.from_random().hex()

    @ray.remote
    def node():
        return "ran"

    @ray.remote
    class Probe:
        def ping(self):
            return "ran"

    with pytest.raises(ray.exceptions.TaskUnschedulableError, match="not schedulable"):
        ray.get(node.options(scheduling_strategy=_affinity(ray, unknown, False)).remote(),
                timeout=60)
    probe = Probe.options(scheduling_strategy=_affinity(ray, unknown, False)).remote()
    with pytest.raises(ray.exceptions.ActorUnschedulableError, match="not schedulable"):
        ray.get(probe.ping.remote(), timeout=60)
    # soft: the unknown node is ignored
    soft = _affinity(ray, unknown, True)
    assert ray.get(node.options(scheduling_strategy=soft).remote(), timeout=60) == "ran"
    assert ray.get(Probe.options(scheduling_strategy=soft).remote().ping.remote(),
                   timeout=60) == "ran"


def test_hard_affinity_to_a_node_that_lacks_the_resource_fails(ray4):
    ray = ray4
    here = ray.get_runtime_context().get_node_id()

    @ray.remote
    def node():
        return ray.get_runtime_context().get_node_id()

    with pytest.raises(ray.exceptions.TaskUnschedulableError):
        ray.get(node.options(scheduling_strategy=_affinity(ray, here, False),
                             resources={"NoSuchThing": 1}).remote(), timeout=60)
    # a resource the node has: it runs there
    assert ray.get(node.options(scheduling_strategy=_affinity(ray, here, False),
                                resources={"Custom": 1}).remote(), timeout=60) == here


def test_fail_on_unavailable_refuses_a_busy_node_at_once(ray4):
    ray = ray4
    here = ray.get_runtime_context().get_node_id()

    @ray.remote
    class Holder:
        def node(self):
            return ray.get_runtime_context().get_node_id()

    busy = Holder.options(num_cpus=4).remote()  # every CPU of the node
    assert ray.get(busy.node.remote(), timeout=60) == here
    refused = Holder.options(num_cpus=1, scheduling_strategy=_affinity(
        ray, here, False, _fail_on_unavailable=True)).remote()
    try:
        with pytest.raises(ray.exceptions.ActorUnschedulableError):
            ray.get(refused.node.remote(), timeout=60)
    finally:
        ray.kill(busy)


def test_node_affinity_strategy_is_checked_when_built(ray_module):
    ray = ray_module
    node_id = ray.NodeID.from_random()
    assert _affinity(ray, node_id, True).node_id == node_id.hex()  # a NodeID becomes its hex
    for bad in ("not-hex", ray.NodeID.nil().hex()):
        with pytest.raises(ValueError, match="Invalid node_id"):
            _affinity(ray, bad, False)
    with pytest.raises(ValueError, match="_spill_on_unavailable"):
        _affinity(ray, node_id.hex(), False, _spill_on_unavailable=True)
    with pytest.raises(ValueError, match="_fail_on_unavailable"):
        _affinity(ray, node_id.hex(), True, _fail_on_unavailable=True)


def test_head_node_resource(ray_shared):
    # Ray's head node has the special resource node:__internal_head__ (and each node a
    # node:<ip> one): a little of it pins a task or an actor to the head
    ray = ray_shared
    assert ray.cluster_resources().get("node:__internal_head__") == 1.0

    @ray.remote(resources={"node:__internal_head__": 0.01})
    def on_head():
        return ray.get_runtime_context().get_node_id()

    @ray.remote(num_cpus=0, resources={"node:__internal_head__": 0.01})
    class OnHead:
        def node(self):
            return ray.get_runtime_context().get_node_id()

    head = [n["NodeID"] for n in ray.nodes()
            if n["Alive"] and "node:__internal_head__" in n["Resources"]]
    assert ray.get(on_head.remote(), timeout=60) in head
    assert ray.get(OnHead.remote().node.remote(), timeout=60) in head


@pytest.mark.parametrize("ray_start", [{"num_cpus": 0, "include_dashboard": False}],
                         indirect=True)
def test_default_actor_needs_a_node_with_cpus(ray_start):
    # Ray's rule: an actor asking for no resources needs 1 CPU to be scheduled (and holds
    # none while it runs), so it is never placed on a node without CPUs; one asking for
    # num_cpus=0 explicitly is
    ray = ray_start

    @ray.remote
    class Default:
        def ping(self):
            return "pong"

    @ray.remote(num_cpus=0)
    class Zero:
        def ping(self):
            return "pong"

    assert ray.get(Zero.remote().ping.remote(), timeout=60) == "pong"
    pending = Default.remote().ping.remote()
    ready, _ = ray.wait([pending], timeout=2)
    assert ready == []


_ACCELERATOR_VARIABLES = {"neuron_cores": "NEURON_RT_VISIBLE_CORES", "TPU": "TPU_VISIBLE_CHIPS",
                          "HPU": "HABANA_VISIBLE_MODULES", "NPU": "ASCEND_RT_VISIBLE_DEVICES"}


@pytest.mark.parametrize("ray_start", [{"num_cpus": 2, "include_dashboard": False,
                                        "resources": {name: 2 for name in
                                                      _ACCELERATOR_VARIABLES}}],
                         indirect=True)
@pytest.mark.parametrize("accelerator", sorted(_ACCELERATOR_VARIABLES))
def test_accelerators_other_than_gpus_get_ids_and_their_variable(ray_start, accelerator):
    """Declared accelerator resources (Ray's accelerator names) are handed out by id, as GPUs
    are: a task and an actor each hold one, see it in ``get_accelerator_ids()`` and in the
    variable the accelerator's runtime reads."""
    ray = ray_start
    variable = _ACCELERATOR_VARIABLES[accelerator]

    def seen() -> tuple[list[str], str | None]:
        return (ray.get_runtime_context().get_accelerator_ids()[accelerator],
                os.environ.get(variable))

    @ray.remote(resources={accelerator: 1})
    class Holder:
        def ids(self):
            return seen()

    @ray.remote(resources={accelerator: 1})
    def task():
        return seen()

    holder = Holder.remote()
    actor_ids, actor_variable = ray.get(holder.ids.remote(), timeout=60)
    task_ids, task_variable = ray.get(task.remote(), timeout=60)
    assert len(actor_ids) == 1 and len(task_ids) == 1
    assert actor_ids != task_ids  # two devices, one each
    assert sorted(actor_ids + task_ids) == ["0", "1"]
    assert actor_variable == actor_ids[0] and task_variable == task_ids[0]


@pytest.mark.parametrize("ray_start", [{"num_cpus": 1, "_memory": 2.2,
                                        "include_dashboard": False}], indirect=True)
def test_memory_is_counted_in_whole_bytes(ray_start):
    """The node's and a request's ``memory`` are rounded down to whole bytes: 2.9 fits in
    2.2, 3.1 does not."""
    ray = ray_start

    @ray.remote
    def noop():
        return 1

    assert ray.get(noop.options(memory=2.9).remote(), timeout=60) == 1
    ready, _ = ray.wait([noop.options(memory=3.1).remote()], timeout=2)
    assert ready == []


def test_override_resources_environment_variable(ray_fresh, monkeypatch):
    # Ray's RAY_OVERRIDE_RESOURCES: the node started by init has these, over init's arguments
    ray = ray_fresh
    monkeypatch.setenv("RAY_OVERRIDE_RESOURCES", '{"rl_custom1": 1, "rl_custom2": 2, "CPU": 3}')
    ray.init(resources={"rl_custom1": 3, "rl_custom3": 3}, include_dashboard=False)
    total = ray.cluster_resources()
    assert (total["rl_custom1"], total["rl_custom2"], total["rl_custom3"]) == (1, 2, 3)
    assert total["CPU"] == 3


@pytest.mark.parametrize("ray_start", [{"num_cpus": 1, "object_store_memory": 300 * 2**20}],
                         indirect=True)
def test_object_store_memory_is_reported_less_what_objects_use(ray_start):
    import numpy as np
    from compat_helpers import poll

    ray = ray_start
    mib = 2**20

    def free_mib():  # to the MiB: Ray's own objects take a little of the store
        return round(ray.available_resources().get("object_store_memory", -mib) / mib / 10)

    assert ray.cluster_resources()["object_store_memory"] == 300 * mib
    poll(free_mib, 30, timeout=60)  # 300 MiB, in tens
    ref = ray.put(np.zeros(100 * mib, dtype=np.uint8))
    poll(free_mib, 20, timeout=60)
    del ref
    poll(free_mib, 30, timeout=60)
