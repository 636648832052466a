"""Runtime lifecycle: init / shutdown / is_initialized, auto-init, cluster resources.

This module deliberately does not use ``ray_shared``: several tests need no cluster at all
(``ray_fresh``) and would shut a shared one down under the others' feet.
"""

from __future__ import annotations

import importlib
import os
import time

import pytest


def _poll(fn, predicate, timeout=20.0):
    """Call ``fn`` until ``predicate(result)`` holds (resource views may lag a little)."""
    deadline = time.time() + timeout
    while True:
        value = fn()
        if predicate(value) or time.time() > deadline:
            return value
        time.sleep(0.05)


def _wait_for_file(path, timeout=30.0):
    deadline = time.time() + timeout
    while not os.path.exists(path):
        assert time.time() < deadline, f"{path} never appeared"
        time.sleep(0.01)


# ----------------------------------------------------------------------------------------------
# init / shutdown
# ----------------------------------------------------------------------------------------------


def test_init_twice_raises_runtime_error(ray_start):
    ray = ray_start
    assert ray.is_initialized()
    with pytest.raises(RuntimeError):
        ray.init(num_cpus=1)
    # the failed call left the running cluster alone
    assert ray.is_initialized()
    assert ray.cluster_resources()["CPU"] == 2

    # ignore_reinit_error turns the second init into a no-op
    ray.init(ignore_reinit_error=True)
    assert ray.is_initialized()
    assert ray.cluster_resources()["CPU"] == 2

    @ray.remote
    def f():
        return "alive"

    assert ray.get(f.remote()) == "alive"


def test_is_initialized_shutdown_and_reinit(ray_fresh):
    ray = ray_fresh
    assert not ray.is_initialized()
    ray.init(num_cpus=1, include_dashboard=False)
    assert ray.is_initialized()

    @ray.remote
    def f(x):
        return x * 3

    assert ray.get(f.remote(2)) == 6
    ray.shutdown()
    assert not ray.is_initialized()

    # a second cluster can be started in the same process, with different settings
    ray.init(num_cpus=2, include_dashboard=False)
    assert ray.is_initialized()
    assert ray.cluster_resources()["CPU"] == 2
    assert ray.get(f.remote(5)) == 15
    ray.shutdown()
    assert not ray.is_initialized()


def test_shutdown_without_cluster_is_a_no_op(ray_fresh):
    ray = ray_fresh
    assert not ray.is_initialized()
    ray.shutdown()
    ray.shutdown()
    assert not ray.is_initialized()


def test_init_as_context_manager(ray_fresh):
    ray = ray_fresh
    with ray.init(num_cpus=1, include_dashboard=False) as ctx:
        assert ctx is not None
        assert ray.is_initialized()

        @ray.remote
        def f():
            return "inside"

        assert ray.get(f.remote()) == "inside"
    assert not ray.is_initialized()


def test_init_with_dashboard_serves_the_state_api(ray_fresh):
    """``include_dashboard=True`` starts the cluster (with the dashboard's web pages where
    they can be served) and the state API answers."""
    ray = ray_fresh
    list_actors = importlib.import_module(f"{ray.__name__}.util.state").list_actors
    ctx = ray.init(num_cpus=1, include_dashboard=True)
    assert ray.is_initialized()
    assert ctx.address_info["webui_url"] == ctx.dashboard_url

    @ray.remote
    class Probe:
        def ping(self):
            return "pong"

    probe = Probe.remote()
    assert ray.get(probe.ping.remote()) == "pong"
    rows = _poll(list_actors, lambda r: any(a.state == "ALIVE" for a in r))
    assert [a.class_name.rsplit(".", 1)[-1] for a in rows if a.state == "ALIVE"] == ["Probe"]


def test_init_returns_rays_context(ray_fresh):
    ray = ray_fresh
    ctx = ray.init(num_cpus=1, include_dashboard=False)
    info = ctx.address_info
    assert {"address", "gcs_address", "node_id", "node_ip_address", "session_dir",
            "webui_url"} <= set(info)
    assert isinstance(info["address"], str) and info["address"]
    assert info["node_id"] == ray.get_runtime_context().get_node_id()
    assert hasattr(ctx, "dashboard_url") and ctx.python_version.count(".") == 2
    assert ctx.ray_version == ray.__version__
    with pytest.warns(DeprecationWarning):
        assert ctx["address"] == info["address"]  # the old dict-like access, deprecated
    ctx.disconnect()
    assert not ray.is_initialized()


@pytest.mark.parametrize("namespace, error", [(123, TypeError), ("", ValueError)])
def test_init_checks_the_namespace(ray_fresh, namespace, error):
    ray = ray_fresh
    with pytest.raises(error):
        ray.init(num_cpus=1, include_dashboard=False, namespace=namespace)


def test_actor_and_get_actor_check_the_namespace(ray_start):
    ray = ray_start

    @ray.remote
    class A:
        pass

    with pytest.raises(TypeError):
        A.options(name="a", namespace=123).remote()
    with pytest.raises(ValueError):
        A.options(name="a", namespace="").remote()
    with pytest.raises(TypeError):
        ray.get_actor("a", namespace=123)


def test_init_namespace_is_the_context_namespace(ray_fresh):
    ray = ray_fresh
    ray.init(num_cpus=1, include_dashboard=False, namespace="compat-ns")
    assert ray.get_runtime_context().namespace == "compat-ns"


def test_init_unknown_keyword_raises(ray_fresh):
    ray = ray_fresh
    # Ray rejects unknown keywords with RuntimeError ("Unknown keyword argument(s): ...")
    with pytest.raises(RuntimeError, match="not_a_real_option"):
        ray.init(num_cpus=1, not_a_real_option=True)
    assert not ray.is_initialized()


def test_init_checks_the_object_spilling_config(ray_fresh, tmp_path):
    import json

    ray = ray_fresh
    with pytest.raises(ValueError):
        ray.init(num_cpus=1, _system_config={
            "object_spilling_config": json.dumps({"type": "no-such-storage"})})
    assert not ray.is_initialized()
    good = {"type": "filesystem", "params": {"directory_path": str(tmp_path)}}
    for bad_params in ({"random_arg": "abc"}, {"buffer_size": "abc"}):
        config = {"type": "filesystem", "params": {**good["params"], **bad_params}}
        with pytest.raises(Exception):  # noqa: B017 - Ray's own exception is an assert's
            ray.init(num_cpus=1, _system_config={"object_spilling_config": json.dumps(config)})
        assert not ray.is_initialized()
    ray.init(num_cpus=1, _system_config={"object_spilling_config": json.dumps(good)})
    assert ray.get(ray.put("spill config accepted")) == "spill config accepted"


def test_put_auto_initialises(ray_fresh):
    ray = ray_fresh
    assert not ray.is_initialized()
    ref = ray.put({"auto": True})
    assert ray.is_initialized()
    assert ray.get(ref) == {"auto": True}


def test_remote_call_auto_initialises(ray_fresh):
    ray = ray_fresh
    assert not ray.is_initialized()

    @ray.remote  # decorating alone does not start anything
    def f():
        return "auto"

    assert not ray.is_initialized()
    ref = f.remote()
    assert ray.is_initialized()
    assert ray.get(ref) == "auto"
    assert ray.cluster_resources().get("CPU", 0) >= 1


# ----------------------------------------------------------------------------------------------
# cluster resources
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "ray_start",
    [{"num_cpus": 3, "num_gpus": 2, "resources": {"Custom": 2, "Other": 3}}],
    indirect=True,
)
def test_cluster_and_available_resources(ray_start, tmp_path):
    ray = ray_start
    total = ray.cluster_resources()
    assert total["CPU"] == 3
    assert total["GPU"] == 2
    assert total["Custom"] == 2
    assert total["Other"] == 3

    idle = _poll(ray.available_resources, lambda r: r.get("CPU") == 3)
    assert idle["CPU"] == 3 and idle["GPU"] == 2 and idle["Custom"] == 2

    # while a task holds resources they disappear from available_resources (the task makes no
    # Ray calls, so it keeps its CPU for its whole run)
    started, release = tmp_path / "started", tmp_path / "release"

    @ray.remote(num_cpus=1, num_gpus=1, resources={"Custom": 1})
    def hold(started_path, release_path):
        open(started_path, "w").close()
        deadline = time.time() + 40
        while not os.path.exists(release_path) and time.time() < deadline:
            time.sleep(0.01)
        return "released"

    ref = hold.remote(str(started), str(release))
    _wait_for_file(started)
    busy = _poll(ray.available_resources, lambda r: r.get("CPU") == 2 and r.get("Custom") == 1)
    assert busy["CPU"] == 2
    assert busy["GPU"] == 1
    assert busy["Custom"] == 1
    assert ray.cluster_resources()["CPU"] == 3  # totals do not change

    release.touch()
    assert ray.get(ref, timeout=30) == "released"
    after = _poll(ray.available_resources, lambda r: r.get("CPU") == 3 and r.get("Custom") == 2)
    assert after["CPU"] == 3 and after["GPU"] == 2 and after["Custom"] == 2


def test_task_depth_counts_levels_of_nesting(ray_shared):
    ray = ray_shared
    from importlib import import_module

    def depth():
        return import_module(f"{ray.__name__}._private.worker").global_worker.task_depth

    @ray.remote
    def leaf():
        return depth()

    @ray.remote
    class Holder:
        def depths(self):
            return depth(), ray.get(leaf.remote())

    @ray.remote
    def middle():
        import threading

        seen = {}
        # a task submitted from a thread of the task is nested in it too
        thread = threading.Thread(target=lambda: seen.update(t=ray.get(leaf.remote())))
        thread.start()
        thread.join()
        return depth(), ray.get(leaf.remote()), seen["t"], ray.get(Holder.remote().depths.remote())

    assert depth() == 0
    assert ray.get(leaf.remote(), timeout=60) == 1
    assert ray.get(middle.remote(), timeout=60) == (1, 2, 2, (2, 3))


def test_tasks_see_their_nodes_raylet_pid(ray_shared):
    # Ray sets RAY_RAYLET_PID in a worker: the pid of its node's process (a live one)
    import psutil

    ray = ray_shared

    @ray.remote
    def raylet_pid():
        return int(os.environ["RAY_RAYLET_PID"]), os.getpid()

    @ray.remote
    class Actor:
        def raylet_pid(self):
            return int(os.environ["RAY_RAYLET_PID"]), os.getpid()

    for raylet, own in (ray.get(raylet_pid.remote(), timeout=60),
                        ray.get(Actor.remote().raylet_pid.remote(), timeout=60)):
        assert raylet != own
        assert psutil.pid_exists(raylet)
