"""The public surface Ray programs touch: the top-level names, the modules imported by path,
and ``get_runtime_context()`` in the driver, a task, an actor and an async actor."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import warnings

import pytest
from compat_helpers import poll

# Ray 2.60's public top-level names (``dir(ray)`` without ``_`` names, right after import)
RAY_TOP_LEVEL = {
    "AUTO_INIT_APIS", "ActorClassID", "ActorID", "ClientBuilder", "ClusterID",
    "DynamicObjectRefGenerator", "FunctionID", "JobID", "Language", "LoggingConfig",
    "NON_AUTO_INIT_APIS", "NodeID", "ObjectID", "ObjectRef", "ObjectRefGenerator",
    "PlacementGroupID", "RESTORE_WORKER_MODE", "SCRIPT_MODE", "SPILL_WORKER_MODE", "TaskID",
    "UniqueID", "WORKER_MODE", "WorkerID", "actor", "available_resources", "cancel", "client",
    "client_builder", "cloudpickle", "cluster_resources", "core", "cross_language",
    "exceptions", "experimental", "get", "get_actor", "get_gpu_ids", "get_runtime_context",
    "init", "internal", "is_initialized", "java_actor_class", "java_function", "job_config",
    "kill", "log", "logger", "method", "nodes", "put", "ray", "ray_constants", "remote",
    "remote_function", "runtime_context", "runtime_env", "serialization", "shutdown", "state",
    "timeline", "util", "wait", "widgets", "worker",
}
GENERATORS = {"ObjectRefGenerator", "DynamicObjectRefGenerator"}  # added separately

HEX = re.compile(r"^[0-9a-f]+$")


def _is_hex(value, length):
    return isinstance(value, str) and len(value) == length and HEX.match(value) is not None


# ----------------------------------------------------------------------------------------------
# top-level names and modules
# ----------------------------------------------------------------------------------------------


def test_top_level_names_are_rays(ray_module):
    code = (f"import json, {ray_module.__name__} as ray\n"
            "print(json.dumps(sorted(n for n in dir(ray) if not n.startswith('_'))))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    names = set(json.loads(done.stdout.strip().splitlines()[-1]))
    assert names - RAY_TOP_LEVEL == set()
    assert RAY_TOP_LEVEL - names <= GENERATORS


def test_version_is_a_ray_version(ray_module):
    major, minor = (int(part) for part in ray_module.__version__.split(".")[:2])
    assert (major, minor) >= (2, 0)


def test_object_ref_types_for_isinstance(ray_shared):
    ray = ray_shared
    assert ray.ObjectID is ray.ObjectRef
    ref = ray.put(1)
    assert isinstance(ref, ray.ObjectRef) and isinstance(ref, ray.ObjectID)

    @ray.remote
    class A:
        def f(self):
            return 1

    handle = A.remote()
    assert isinstance(A, ray.actor.ActorClass)
    assert isinstance(handle, ray.actor.ActorHandle)
    assert isinstance(handle.f, ray.actor.ActorMethod)
    assert ray.get(handle.f.remote()) == 1


def test_modules_imported_by_path(ray_module):
    import importlib

    name = ray_module.__name__
    cloudpickle = importlib.import_module(f"{name}.cloudpickle")
    assert cloudpickle.loads(cloudpickle.dumps(lambda x: x + 1))(1) == 2
    accelerators = importlib.import_module(f"{name}.util.accelerators")
    assert accelerators.NVIDIA_TESLA_V100 == "V100"
    assert accelerators.NVIDIA_A100 == "A100"
    assert accelerators.NVIDIA_H100 == "H100"
    with pytest.warns(DeprecationWarning):
        assert accelerators.NVIDIA_TESLA_A100 == "A100"
    context_module = importlib.import_module(f"{name}.runtime_context")
    assert isinstance(context_module.RuntimeContext, type)
    assert callable(context_module.get_runtime_context)
    actor = importlib.import_module(f"{name}.actor")
    assert all(isinstance(getattr(actor, n), type)
               for n in ("ActorClass", "ActorHandle", "ActorMethod"))
    assert callable(importlib.import_module(f"{name}.util").get_node_ip_address)
    assert hasattr(importlib.import_module(f"{name}.experimental.tqdm_ray"), "tqdm")
    runtime_env = importlib.import_module(f"{name}.runtime_env")
    assert runtime_env.RuntimeEnv(env_vars={"A": "1"})["env_vars"] == {"A": "1"}
    assert ray_module.LoggingConfig(encoding="JSON").encoding == "JSON"
    with pytest.raises(ValueError):
        ray_module.LoggingConfig(encoding="XML")


def test_id_types(ray_module):
    ray = ray_module
    assert ray.JobID.from_int(1).hex() == "01000000"
    assert ray.JobID.from_hex("01000000") == ray.JobID.from_int(1)
    assert len(ray.NodeID.from_random().hex()) == 56
    assert len(ray.ActorID.nil().binary()) == 16
    assert ray.TaskID.nil().is_nil() and not ray.WorkerID.from_random().is_nil()
    assert ray.PlacementGroupID.size() == 18
    with pytest.raises(ValueError):
        ray.NodeID(b"short")


def test_cross_language_calls_are_refused_clearly(ray_module):
    with pytest.raises(Exception):  # noqa: B017 - Ray needs Java workers (none here either)
        ray_module.java_function("Cls", "f").remote()


# ----------------------------------------------------------------------------------------------
# get_runtime_context()
# ----------------------------------------------------------------------------------------------


def _make_probe():
    """A probe function defined in a function, so that it is pickled by value (workers cannot
    import this test module)."""

    def _probe(ray):
        ctx = ray.get_runtime_context()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            legacy = ctx.get()
        try:
            canceled = ctx.is_canceled()
        except RuntimeError:
            canceled = "refused"
        actor = None
        try:
            actor = ctx.current_actor
        except RuntimeError:
            pass
        return {
            "job": ctx.get_job_id(), "node": ctx.get_node_id(), "task": ctx.get_task_id(),
            "actor": ctx.get_actor_id(), "worker": ctx.get_worker_id(),
            "actor_name": ctx.get_actor_name(), "task_name": ctx.get_task_name(),
            "function_name": ctx.get_task_function_name(),
            "resources": ctx.get_assigned_resources(), "gpus": ctx.get_accelerator_ids()["GPU"],
            "pg": ctx.get_placement_group_id(), "env": ctx.get_runtime_env_string(),
            "namespace": ctx.namespace, "legacy_keys": sorted(legacy), "canceled": canceled,
            "has_self": actor is not None, "gcs": ctx.gcs_address,
        }

    return _probe


def test_runtime_context_in_the_driver(ray_shared):
    ray = ray_shared
    ctx = ray.get_runtime_context()
    assert _is_hex(ctx.get_job_id(), 8)
    assert _is_hex(ctx.get_node_id(), 56)
    assert _is_hex(ctx.get_worker_id(), 56)
    assert ctx.get_worker_id().startswith(ctx.get_job_id())
    assert ctx.get_task_id() is None and ctx.get_actor_id() is None
    assert ctx.get_task_name() is None and ctx.get_actor_name() is None
    assert ctx.get_placement_group_id() is None
    assert ctx.get_accelerator_ids()["GPU"] == []
    assert isinstance(ctx.namespace, str) and ctx.namespace
    assert isinstance(ctx.gcs_address, str) and ctx.gcs_address
    with pytest.raises(AssertionError):
        ctx.get_assigned_resources()
    with pytest.raises(RuntimeError):
        ctx.is_canceled()
    with pytest.raises(RuntimeError):
        ctx.current_actor  # noqa: B018
    with pytest.warns(DeprecationWarning):
        job = ctx.job_id
    assert isinstance(job, ray.JobID) and job.hex() == ctx.get_job_id()
    with pytest.warns(DeprecationWarning):
        legacy = ctx.get()
    assert set(legacy) == {"job_id", "node_id", "namespace"}  # no task or actor in a driver


def test_runtime_context_in_a_task(ray_shared):
    ray = ray_shared

    probe_in = _make_probe()

    @ray.remote
    def probe():
        return probe_in(ray)

    driver = ray.get_runtime_context()
    one, two = ray.get([probe.remote(), probe.options(name="renamed").remote()])
    assert one["job"] == driver.get_job_id() and one["namespace"] == driver.namespace
    assert _is_hex(one["task"], 48) and one["task"] != two["task"]
    assert one["task"].endswith(driver.get_job_id())  # a task outside an actor: nil actor part
    assert one["actor"] is None and one["actor_name"] is None and not one["has_self"]
    assert one["task_name"] == "probe" and two["task_name"] == "renamed"
    assert one["function_name"].endswith(".probe")
    assert one["resources"] == {"CPU": 1.0}
    assert one["gpus"] == [] and one["pg"] is None and one["env"] == "{}"
    assert _is_hex(one["worker"], 56) and one["worker"] != driver.get_worker_id()
    assert one["canceled"] is False
    assert one["legacy_keys"] == ["job_id", "namespace", "node_id", "task_id"]
    assert one["node"] == driver.get_node_id() and one["gcs"] == driver.gcs_address


def test_runtime_context_in_actors(ray_shared):
    ray = ray_shared

    probe_in = _make_probe()

    @ray.remote
    class Probe:
        def probe(self):
            return probe_in(ray)

        def myself(self):
            return ray.get_runtime_context().current_actor

        def answer(self):
            return 42

    @ray.remote
    class AsyncProbe:
        async def probe(self):
            return probe_in(ray)

    named = Probe.options(name="api-surface-probe").remote()
    unnamed = AsyncProbe.remote()
    first, second = ray.get([named.probe.remote(), named.probe.remote()])
    async_info = ray.get(unnamed.probe.remote())
    assert _is_hex(first["actor"], 32) and first["actor"] == second["actor"]
    assert first["actor"].endswith(first["job"])
    assert _is_hex(first["task"], 48) and first["task"].endswith(first["actor"])
    assert first["task"] != second["task"]
    assert first["actor_name"] == "api-surface-probe" and async_info["actor_name"] == ""
    assert first["task_name"] == "Probe.probe" and async_info["task_name"] == "AsyncProbe.probe"
    assert first["function_name"].endswith(".Probe.probe")
    assert first["resources"] == {} and first["has_self"] and async_info["has_self"]
    assert first["canceled"] is False and async_info["canceled"] == "refused"
    assert first["legacy_keys"] == ["actor_id", "job_id", "namespace", "node_id", "task_id"]
    assert async_info["actor"] != first["actor"]
    myself = ray.get(named.myself.remote())
    assert myself == named
    assert ray.get(myself.answer.remote(), timeout=60) == 42


def test_was_current_actor_reconstructed_is_a_property(ray_shared):
    ray = ray_shared

    @ray.remote
    class Fresh:
        def restarted(self):
            return ray.get_runtime_context().was_current_actor_reconstructed

    assert ray.get(Fresh.remote().restarted.remote()) is False


def test_timeline_is_a_list_of_trace_events(ray_shared, tmp_path):
    ray = ray_shared
    events = ray.timeline()
    assert isinstance(events, list)
    path = tmp_path / "trace.json"
    ray.timeline(filename=str(path))
    assert isinstance(json.loads(path.read_text()), list)


def test_tqdm_ray_in_tasks_and_actors(ray_shared):
    ray = ray_shared
    import importlib

    tqdm_ray = importlib.import_module(f"{ray.__name__}.experimental.tqdm_ray")

    @ray.remote
    def work(n):
        bar = tqdm_ray.tqdm(total=n, desc="work")
        for _ in range(n):
            bar.update(1)
        bar.set_description("done")
        bar.refresh()
        bar.close()
        return bar.n

    @ray.remote
    class Looper:
        def loop(self, n):
            return sum(tqdm_ray.tqdm(range(n), desc="loop"))

    assert ray.get(work.remote(5)) == 5
    assert ray.get(Looper.remote().loop.remote(4)) == 6
    bar = tqdm_ray.tqdm(["a", "b"])
    assert bar.total == 2 and list(bar) == ["a", "b"] and bar.n == 2
    bar.close()


def test_tqdm_ray_bars_of_workers_are_managed_by_the_driver(ray_shared):
    """A bar made in an actor reaches the driver's bar manager (grouped by process, its count
    and description kept); other output from workers hides the bars while it prints; a bar
    made in the driver updates the manager directly and leaves it once closed."""
    ray = ray_shared
    import importlib

    # Ray draws no bars without tqdm. The test environments leave tqdm out: with it installed,
    # Ray 2.60's driver dropped deduplicated log lines (test_logs); raylike's manager without
    # tqdm is covered by tests/raylike/test_runtime_context.py.
    pytest.importorskip("tqdm")
    tqdm_ray = importlib.import_module(f"{ray.__name__}.experimental.tqdm_ray")
    manager = tqdm_ray.instance()
    manager.bar_groups.clear()

    @ray.remote
    class Worker:
        def __init__(self):
            self.bar = tqdm_ray.tqdm(desc="remote-bar", total=50, flush_interval_s=0)
            self.bar.update(7)

        def speak(self):
            print("a line from the worker")

        def advance(self):
            self.bar.update(3)

    worker = Worker.remote()

    def remote_bars():
        return [bar for group in list(manager.bar_groups.values())
                for bar in list(group.bars_by_uuid.values()) if "remote-bar" in bar.bar.desc]

    poll(lambda: [bar.bar.n for bar in remote_bars()], [7])
    ray.get(worker.advance.remote())
    poll(lambda: [bar.bar.n for bar in remote_bars()], [10])
    hides = manager.num_hides
    ray.get(worker.speak.remote())
    poll(lambda: (manager.num_hides > hides, manager.in_hidden_state), (True, False))

    local = tqdm_ray.tqdm(desc="local-bar", total=10, flush_interval_s=0)
    local.update(4)
    mine = [group for group in manager.bar_groups.values() if group.pid == os.getpid()]
    assert len(mine) == 1
    (bar,) = mine[0].bars_by_uuid.values()
    assert bar.bar.n == 4 and "local-bar" in bar.bar.desc
    local.close()
    assert not mine[0].bars_by_uuid
    ray.kill(worker)
    for group in list(manager.bar_groups.values()):  # the actor's bar was never closed
        for each in list(group.bars_by_uuid.values()):
            each.bar.close()
    manager.bar_groups.clear()


def test_task_function_name_of_functions_defined_in_a_function(ray_shared):
    """Ray names a task's function ``module.name`` (``module.Class.method`` for an actor):
    a function or class defined inside another has no ``<locals>`` in it."""
    ray = ray_shared

    @ray.remote
    def inner():
        return ray.get_runtime_context().get_task_function_name()

    @ray.remote
    class Inner:
        def method(self):
            return ray.get_runtime_context().get_task_function_name()

    assert ray.get(inner.remote(), timeout=60) == f"{__name__}.inner"
    assert ray.get(Inner.remote().method.remote(), timeout=60) == f"{__name__}.Inner.method"


def test_task_function_name_of_an_async_actor_defined_in_a_function(ray_shared):
    """Ray 2.60 names an async actor's methods by the class's qualified name (with
    ``<locals>``), unlike a sync actor's."""
    ray = ray_shared

    @ray.remote
    class AsyncInner:
        async def method(self):
            return ray.get_runtime_context().get_task_function_name()

    name = ray.get(AsyncInner.remote().method.remote(), timeout=60)
    assert name == (f"{__name__}.test_task_function_name_of_an_async_actor_defined_in_a_"
                    "function.<locals>.AsyncInner.method")


def test_top_level_functions_and_modules(ray_module):
    # the functions at the top level are Ray's documented API (and the module __getattr__
    # that imports ray.autoscaler on first use); no standard module is reachable there
    import inspect

    ray = ray_module
    functions = {name for name, _ in inspect.getmembers(ray, inspect.isfunction)}
    assert functions == {
        "init", "is_initialized", "remote", "get", "wait", "put", "kill", "cancel",
        "get_actor", "get_gpu_ids", "shutdown", "method", "nodes", "timeline",
        "cluster_resources", "available_resources", "java_function", "java_actor_class",
        "client", "get_runtime_context", "__getattr__"}
    for name, module in inspect.getmembers(ray, inspect.ismodule):
        assert module.__name__.split(".")[0] == ray.__name__, name
    assert ray.autoscaler.__name__ == f"{ray.__name__}.autoscaler"
    with pytest.raises(AttributeError):
        ray.no_such_subpackage  # noqa: B018
