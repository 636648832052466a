"""The API around ``init`` and ``shutdown``: which calls start a cluster by themselves, what they
do when that is switched off (``RAY_ENABLE_AUTO_CONNECT=0``), and what refs and actor handles of
an earlier session do after ``shutdown`` (an error, promptly: never a hang)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time

import pytest


def _init(ray):
    ray.init(num_cpus=1, include_dashboard=False)


# ----------------------------------------------------------------------------------------------
# after shutdown
# ----------------------------------------------------------------------------------------------

def test_get_of_earlier_session_ref_raises(ray_fresh):
    ray = ray_fresh

    @ray.remote
    def one():
        return 1

    _init(ray)
    ref = one.remote()
    assert ray.get(ref, timeout=60) == 1
    ray.shutdown()
    start = time.time()
    with pytest.raises(ValueError, match="owner is unknown"):
        ray.get(ref, timeout=30)
    assert time.time() - start < 25  # an error, not the timeout
    assert ray.is_initialized()  # get started a new cluster first


def test_wait_on_earlier_session_ref_raises(ray_fresh):
    ray = ray_fresh
    _init(ray)
    ref = ray.put("old")
    ray.shutdown()
    start = time.time()
    with pytest.raises(ValueError, match="owner is unknown"):
        ray.wait([ref], timeout=30)
    assert time.time() - start < 25


def test_wait_on_earlier_and_current_refs_waits_for_the_current_ones(ray_fresh):
    """An earlier session's ref is never ready; only a wait on such refs alone is an error."""
    ray = ray_fresh
    _init(ray)
    old = ray.put("old")
    ray.shutdown()
    _init(ray)
    new = ray.put("new")
    ready, not_ready = ray.wait([new, old], num_returns=1, timeout=30)
    assert ready == [new] and not_ready == [old]
    with pytest.raises(ValueError, match="Ray object whose owner is unknown"):
        ray.wait(not_ready, timeout=30)


def test_earlier_session_ref_nested_in_arguments_is_refused(ray_fresh):
    ray = ray_fresh

    @ray.remote
    def show(value):
        return value

    _init(ray)
    old = ray.put("old")
    ray.shutdown()
    _init(ray)
    with pytest.raises(ValueError, match="Ray object whose owner is unknown"):
        show.remote([old])
    with pytest.raises(ValueError, match="Ray object whose owner is unknown"):
        show.remote(old)


def test_kill_of_an_earlier_session_actor_says_so(ray_fresh):
    ray = ray_fresh

    @ray.remote
    class Idle:
        pass

    _init(ray)
    actor = Idle.remote()
    ray.shutdown()
    _init(ray)
    with pytest.raises(ray.exceptions.ActorHandleNotFoundError,
                       match="not valid across Ray sessions"):
        ray.kill(actor)


def test_remote_call_after_shutdown_starts_a_new_cluster(ray_fresh):
    ray = ray_fresh

    @ray.remote
    def one():
        return 1

    _init(ray)
    assert ray.get(one.remote(), timeout=60) == 1
    ray.shutdown()
    assert not ray.is_initialized()
    assert ray.get(one.remote(), timeout=60) == 1
    assert ray.is_initialized()


def test_earlier_session_actor_handle_fails(ray_fresh):
    ray = ray_fresh

    @ray.remote
    class Echo:
        def echo(self, value):
            return value

    _init(ray)
    actor = Echo.remote()
    assert ray.get(actor.echo.remote(1), timeout=60) == 1
    ray.shutdown()
    start = time.time()
    with pytest.raises(Exception):  # noqa: B017 - Ray: a plain Exception naming the actor
        ray.get(actor.echo.remote(2), timeout=30)
    assert time.time() - start < 25


# ----------------------------------------------------------------------------------------------
# auto-init
# ----------------------------------------------------------------------------------------------

def _auto_init_calls(ray):
    @ray.remote
    class Plain:
        pass

    return {
        "get_runtime_context": lambda: ray.get_runtime_context().get_job_id(),
        "actor": lambda: Plain.remote(),
        "get_empty": lambda: ray.get([]),
        "wait_empty": lambda: ray.wait([]),
        "get_gpu_ids": lambda: ray.get_gpu_ids(),
        "list_named_actors": lambda: ray.util.list_named_actors(),
    }


@pytest.mark.parametrize("api", ["get_runtime_context", "actor", "get_empty", "wait_empty",
                                 "get_gpu_ids", "list_named_actors"])
def test_api_call_auto_initialises(ray_fresh, api):
    ray = ray_fresh
    import importlib

    importlib.import_module(f"{ray.__name__}.util")
    _auto_init_calls(ray)[api]()
    assert ray.is_initialized()


@pytest.mark.parametrize("api", ["kill", "cancel"])
def test_misused_call_auto_initialises_then_raises(ray_fresh, api):
    ray = ray_fresh
    call = {"kill": ray.kill, "cancel": ray.cancel}[api]
    with pytest.raises((TypeError, ValueError)):
        call("not a handle or a ref")
    assert ray.is_initialized()


@pytest.mark.parametrize("api", ["cluster_resources", "available_resources", "nodes"])
def test_state_api_does_not_auto_initialise(ray_fresh, api):
    ray = ray_fresh
    with pytest.raises(ray.exceptions.RaySystemError, match="has not been started"):
        getattr(ray, api)()
    assert not ray.is_initialized()


AUTO_CONNECT_OFF = """
import json, sys, importlib
ray = importlib.import_module(sys.argv[1])
importlib.import_module(sys.argv[1] + ".util")

@ray.remote
def task():
    return 1

@ray.remote
class Actor:
    pass

calls = {
    "put": lambda: ray.put(1),
    "remote": lambda: task.remote(),
    "actor": lambda: Actor.remote(),
    "get": lambda: ray.get([]),
    "wait": lambda: ray.wait([]),
    "get_actor": lambda: ray.get_actor("nobody"),
    "kill": lambda: ray.kill(None),
    "cancel": lambda: ray.cancel(None),
    "get_gpu_ids": lambda: ray.get_gpu_ids(),
    "list_named_actors": lambda: ray.util.list_named_actors(),
}
out = {}
for name, call in calls.items():
    try:
        call()
        out[name] = "returned"
    except Exception as exc:
        out[name] = [type(exc).__name__, str(exc)]
out["initialized"] = ray.is_initialized()
print("RESULT" + json.dumps(out))
"""


def test_auto_connect_disabled_raises_system_error(ray_module):
    env = dict(os.environ, RAY_ENABLE_AUTO_CONNECT="0")
    env.pop("RAY_ADDRESS", None)
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(AUTO_CONNECT_OFF),
                           ray_module.__name__], env=env, capture_output=True, text=True,
                          timeout=120)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT")]
    assert lines, proc.stderr[-2000:]
    out = json.loads(lines[-1][len("RESULT"):])
    assert out.pop("initialized") is False
    for name, result in out.items():
        assert result != "returned", name
        kind, message = result
        assert kind == "RaySystemError", (name, result)
        assert "Ray has not been started yet" in message, (name, message)


def test_auto_init_switched_off_in_the_program(ray_fresh):
    # Ray's ray._private.auto_init_hook.enable_auto_connect, set by the program itself
    ray = ray_fresh
    import importlib

    hook = importlib.import_module(f"{ray.__name__}._private.auto_init_hook")
    before = hook.enable_auto_connect
    hook.enable_auto_connect = False
    try:
        for call in (lambda: ray.put(1), lambda: ray.get([]), lambda: ray.wait([]),
                     lambda: ray.get_actor("nobody"), ray.get_gpu_ids):
            with pytest.raises(ray.exceptions.RaySystemError, match="not been started"):
                call()
        assert not ray.is_initialized()
    finally:
        hook.enable_auto_connect = before
    assert ray.get(ray.put(7), timeout=60) == 7  # on again: the call starts Ray
    assert ray.is_initialized()


@pytest.mark.parametrize("default", ["detached", "non_detached"])
def test_job_default_actor_lifetime(ray_fresh, default):
    ray = ray_fresh
    from importlib import import_module

    job_config = import_module(f"{ray.__name__}.job_config")
    ray.init(num_cpus=2, include_dashboard=False,
             job_config=job_config.JobConfig(default_actor_lifetime=default))

    @ray.remote(num_cpus=0)
    class Child:
        def ready(self):
            return "ok"

    @ray.remote(num_cpus=0)
    class Owner:
        def make(self):
            self.child = Child.remote()  # no lifetime given: the job's default
            assert ray.get(self.child.ready.remote()) == "ok"
            return self.child

    owner = Owner.remote()
    child = ray.get(owner.make.remote(), timeout=60)
    ray.kill(owner)  # a detached child outlives its owner; a non-detached one dies with it

    def child_alive():
        try:
            return ray.get(child.ready.remote(), timeout=30) == "ok"
        except ray.exceptions.RayActorError:
            return False

    if default == "detached":
        time.sleep(2)
        assert child_alive()
        ray.kill(child)
    else:
        deadline = time.monotonic() + 60
        while child_alive():
            assert time.monotonic() < deadline, "the child outlived its owner"
            time.sleep(0.2)


@pytest.mark.timeout(180)
@pytest.mark.parametrize("argument", [{"_system_config": {"object_timeout_milliseconds": 200}},
                                      {"object_store_memory": 100 * 1024 * 1024}])
def test_connecting_to_a_cluster_refuses_what_configures_one(ray_fresh, argument):
    import importlib

    ray = ray_fresh
    cluster = importlib.import_module(f"{ray.__name__}.cluster_utils").Cluster()
    try:
        cluster.add_node(num_cpus=1)
        cluster.wait_for_nodes()
        with pytest.raises(ValueError, match="existing cluster"):
            ray.init(address=cluster.address, **argument)
        assert not ray.is_initialized()
        ray.init(address=cluster.address)  # without it, the same call connects

        @ray.remote
        def f():
            return "connected"

        assert ray.get(f.remote(), timeout=60) == "connected"
    finally:
        ray.shutdown()
        cluster.shutdown()


@pytest.mark.parametrize("name", ["CPU", "GPU", "memory", "object_store_memory"])
def test_init_refuses_a_default_resource_as_custom(ray_fresh, name):
    ray = ray_fresh
    with pytest.raises(AssertionError, match=f"`{name}` cannot be a custom resource"):
        ray.init(resources={name: 4}, include_dashboard=False)
    assert not ray.is_initialized()


def test_init_refuses_a_relative_temp_dir(ray_fresh):
    ray = ray_fresh
    with pytest.raises(ValueError, match="absolute"):
        ray.init(_temp_dir="relative_dir", include_dashboard=False)
    assert not ray.is_initialized()


def test_test_cluster_starts_again_after_shutdown(ray_fresh):
    """``cluster_utils.Cluster``: after ``shutdown()``, ``add_node()`` starts a new head that a
    driver can join."""
    import importlib

    ray = ray_fresh
    cluster = importlib.import_module(f"{ray.__name__}.cluster_utils").Cluster()

    @ray.remote
    def one():
        return 1

    try:
        for _ in range(2):
            cluster.add_node(num_cpus=1)
            ray.init(address=cluster.address)
            assert ray.get(one.remote(), timeout=120) == 1
            ray.shutdown()
            cluster.shutdown()
    finally:
        ray.shutdown()
        cluster.shutdown()


SITE_FLAGS = """
import json, sys
import {module} as ray
ray.init(num_cpus=1, include_dashboard=False)

@ray.remote
def flags():
    return sys.flags.no_user_site

print("RESULT" + json.dumps([sys.flags.no_user_site, ray.get(flags.remote(), timeout=60)]))
ray.shutdown()
"""


@pytest.mark.timeout(180)
def test_tasks_run_with_the_drivers_no_user_site_flag(ray_module):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    env.pop("RAY_ADDRESS", None)
    proc = subprocess.run([sys.executable, "-s", "-c",
                           SITE_FLAGS.format(module=ray_module.__name__)],
                          env=env, capture_output=True, text=True, timeout=150)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT")]
    assert lines, proc.stderr[-2000:]
    assert json.loads(lines[-1][len("RESULT"):]) == [1, 1]  # python -s, in the task too


@pytest.mark.timeout(180)
@pytest.mark.parametrize("how", ["argument", "RAY_ADDRESS"])
def test_init_auto_joins_the_cluster_started_last(ray_fresh, monkeypatch, how):
    """``init(address="auto")``, or ``init()`` with ``RAY_ADDRESS=auto``, joins the cluster
    started last on this machine (here a ``cluster_utils.Cluster``'s head): it sees that
    cluster's nodes."""
    import importlib

    ray = ray_fresh
    cluster = importlib.import_module(f"{ray.__name__}.cluster_utils").Cluster()
    try:
        cluster.add_node(num_cpus=1, resources={"compat_head": 1})
        cluster.add_node(num_cpus=1)
        cluster.wait_for_nodes()
        if how == "argument":
            ray.init(address="auto")
        else:
            monkeypatch.setenv("RAY_ADDRESS", "auto")
            ray.init()
        alive = [n for n in ray.nodes() if n["Alive"]]
        assert len(alive) == 2
        assert ray.cluster_resources().get("compat_head") == 1
    finally:
        ray.shutdown()
        cluster.shutdown()


SIGTERM_DRIVER = """
import importlib, os, signal, sys
marker = sys.argv[2]

def own_handler(signum, frame):
    open(marker, "w").close()
    sys.exit(0)

signal.signal(signal.SIGTERM, own_handler)
ray = importlib.import_module(sys.argv[1])
if sys.argv[3] == "init":
    ray.init(num_cpus=1, include_dashboard=False)
os.kill(os.getpid(), signal.SIGTERM)
"""


@pytest.mark.parametrize("init", ["import_only", "init"])
def test_init_makes_sigterm_exit_the_driver(ray_module, tmp_path, init):
    """``import`` leaves the driver's SIGTERM handler alone; ``init`` replaces it with one that
    exits with the signal's number (so ``atexit`` shuts the cluster down)."""
    marker = tmp_path / "handler-ran"
    proc = subprocess.run([sys.executable, "-c", SIGTERM_DRIVER, ray_module.__name__,
                           str(marker), init], capture_output=True, text=True, timeout=180)
    if init == "init":
        # 15 (sys.exit(signum)); real Ray's exit status came out 0 once in CI on a loaded
        # machine (its own shutdown at exit raced it): what matters is that the driver ended
        # through Ray's handler, not the program's own
        assert proc.returncode in (15, 0), proc.stderr[-2000:]
        assert not marker.exists()
    else:
        assert proc.returncode == 0, proc.stderr[-2000:]
        assert marker.exists()


def test_node_name_is_the_ip_unless_init_names_the_node(ray_fresh):
    ray = ray_fresh
    ray.init(num_cpus=1, include_dashboard=False)
    ip = ray.util.get_node_ip_address()
    assert [n["NodeName"] for n in ray.nodes() if n["Alive"]] == [ip]
    ray.shutdown()
    ray.init(num_cpus=1, include_dashboard=False, _node_name="named_head")
    assert [n["NodeName"] for n in ray.nodes() if n["Alive"]] == ["named_head"]


def test_session_dir_is_under_the_temp_dir(ray_fresh, monkeypatch):
    """``address_info["session_dir"]`` is a directory under Ray's temporary directory: the
    one ``init(_temp_dir=...)`` names, else ``RAY_TMPDIR``'s."""
    import shutil
    import tempfile

    ray = ray_fresh
    roots = [tempfile.mkdtemp(prefix="rt", dir="/tmp") for _ in range(2)]  # short: Ray's sockets
    try:
        monkeypatch.setenv("RAY_TMPDIR", roots[0])
        context = ray.init(num_cpus=1, include_dashboard=False)
        assert context.address_info["session_dir"].startswith(roots[0] + os.sep)
        assert os.path.isdir(context.address_info["session_dir"])
        ray.shutdown()
        context = ray.init(num_cpus=1, include_dashboard=False, _temp_dir=roots[1])
        assert context.address_info["session_dir"].startswith(roots[1] + os.sep)
        assert os.path.isdir(context.address_info["session_dir"])
        assert ray.get_runtime_context().get_temp_dir() == roots[1]
    finally:
        ray.shutdown()
        for root in roots:
            shutil.rmtree(root, ignore_errors=True)


SECOND_DRIVER = """
import sys
ray = __import__(sys.argv[1])
ray.init(address=sys.argv[2], namespace="shared")
actor = ray.get_actor("kept")
print("RESULT", ray.get(actor.ping.remote(), timeout=60))
"""


def test_detached_actor_answers_a_second_driver(ray_fresh):
    # a driver that connects to a running cluster calls a detached actor another driver made,
    # and its connecting does not disturb the actor for the first driver
    ray = ray_fresh
    context = ray.init(num_cpus=1, namespace="shared", include_dashboard=False)

    @ray.remote(num_cpus=0)
    class Kept:
        def ping(self):
            return "pong"

    actor = Kept.options(name="kept", lifetime="detached").remote()
    try:
        assert ray.get(actor.ping.remote(), timeout=60) == "pong"
        proc = subprocess.run([sys.executable, "-c", SECOND_DRIVER, ray.__name__,
                               context.address_info["address"]], capture_output=True,
                              text=True, timeout=180)
        lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT")]
        assert lines == ["RESULT pong"], proc.stderr[-2000:]
        assert ray.get(actor.ping.remote(), timeout=60) == "pong"
    finally:
        ray.kill(actor)


@pytest.mark.timeout(180)
def test_jobs_never_share_a_worker_process(ray_fresh):
    """A task of a second driver (job) on the same cluster never runs in a process that ran
    the first one's tasks: what one job imported or set there stays with it."""
    import importlib

    ray = ray_fresh
    cluster = importlib.import_module(f"{ray.__name__}.cluster_utils").Cluster()

    @ray.remote
    def mark():
        previous = getattr(sys, "_compat_job_marker", None)
        sys._compat_job_marker = ray.get_runtime_context().get_job_id()
        return previous, os.getpid()

    try:
        cluster.add_node(num_cpus=1)
        cluster.wait_for_nodes()
        ray.init(address=cluster.address)
        first = [ray.get(mark.remote(), timeout=60) for _ in range(3)]
        assert first[0][0] is None
        ray.shutdown()
        ray.init(address=cluster.address)
        second = [ray.get(mark.remote(), timeout=60) for _ in range(3)]
        assert second[0][0] is None  # a process of its own: no marker of the first job
        assert {pid for _, pid in second}.isdisjoint({pid for _, pid in first})
    finally:
        ray.shutdown()
        cluster.shutdown()


@pytest.mark.timeout(300)
@pytest.mark.parametrize("graceful", [True, False])
def test_nodes_lists_a_removed_node_as_dead(ray_fresh, graceful):
    """``ray.nodes()`` keeps a node that left, ``Alive`` false, with why: ``DeathReason`` 2
    (unexpected termination) for a node killed, 1 or 2 for one stopped with SIGTERM (raylike:
    1 only where its Dask worker says it is closing, as one with a nanny does)."""
    import importlib

    ray = ray_fresh
    cluster = importlib.import_module(f"{ray.__name__}.cluster_utils").Cluster()
    try:
        cluster.add_node(num_cpus=1)
        ray.init(address=cluster.address)
        worker = cluster.add_node(num_cpus=1)
        cluster.wait_for_nodes()
        gone = worker.node_id
        assert any(n["NodeID"] == gone and n["Alive"] for n in ray.nodes())
        cluster.remove_node(worker, allow_graceful=graceful)
        deadline = time.monotonic() + 120  # Ray notices a lost node after its health checks
        while True:
            dead = [n for n in ray.nodes() if n["NodeID"] == gone and not n["Alive"]]
            if dead:
                break
            assert time.monotonic() < deadline, "the removed node is not listed as dead"
            time.sleep(0.5)
        assert dead[0]["DeathReason"] in ((1, 2) if graceful else (2,))
        assert dead[0]["DeathReasonMessage"]
        assert sum(n["Alive"] for n in ray.nodes()) == 1
    finally:
        ray.shutdown()
        cluster.shutdown()


INIT_LOGS = """
import logging, sys
ray = __import__(sys.argv[1])
logging.basicConfig(level=logging.INFO, format="ROOT %(message)s")  # the program's own logging
ray.init(num_cpus=1, configure_logging=sys.argv[2] == "1")
ray.shutdown()
"""


@pytest.mark.timeout(240)
def test_init_says_it_started_a_local_instance_once(ray_module):
    """``init`` logs Ray's "Started a local Ray instance." line at INFO on its own handler
    (shown once, whatever the root logger has); ``configure_logging=False`` does not use
    that handler (Ray then shows nothing; raylike leaves the record to the program's own
    logging)."""
    env = dict(os.environ)
    env.pop("RAY_ADDRESS", None)
    said = {}
    for configure in ("1", "0"):
        proc = subprocess.run([sys.executable, "-c", INIT_LOGS, ray_module.__name__, configure],
                              env=env, capture_output=True, text=True, timeout=200)
        assert proc.returncode == 0, proc.stderr[-2000:]
        said[configure] = [line for line in (proc.stdout + proc.stderr).splitlines()
                           if "Started a local Ray instance." in line]
    assert len(said["1"]) == 1 and "INFO" in said["1"][0], said
    assert not said["1"][0].startswith("ROOT"), said
    assert all(line.startswith("ROOT") for line in said["0"]), said
