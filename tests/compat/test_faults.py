"""Fault tolerance through the Ray API: processes really die (``os._exit`` in the task, SIGKILL
from the driver), tasks are retried as the options say, actors restart, cancel reaches tasks that
wait on others, and values that cannot be pickled are refused clearly."""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest

# Anything that runs remotely is defined inside the test functions: module-level functions and
# classes are pickled by reference and the test module is not importable on workers.

pytestmark = pytest.mark.timeout(180)


def _attempts(path):
    """How many attempts a task that appends a line to ``path`` per attempt has made."""
    try:
        with open(path) as f:
            return len(f.readlines())
    except FileNotFoundError:
        return 0


def _wait_for(predicate, timeout=30.0, what="condition"):
    deadline = time.time() + timeout
    while not predicate():
        assert time.time() < deadline, f"{what} never became true"
        time.sleep(0.02)


def _crasher(ray, **options):
    """A task that records its attempt in a file and dies until ``survive_at`` attempts."""

    def crash_until(path, survive_at):
        with open(path, "a") as f:
            f.write(f"{os.getpid()}\n")
        with open(path) as f:
            attempt = len(f.readlines())
        if attempt < survive_at:
            os._exit(1)
        return attempt

    return ray.remote(**options)(crash_until) if options else ray.remote(crash_until)


# ----------------------------------------------------------------------------------------------
# tasks whose process dies
# ----------------------------------------------------------------------------------------------


def test_unlimited_retries_survive_more_crashes_than_the_default(ray_shared, tmp_path):
    ray = ray_shared
    crash_until = _crasher(ray, max_retries=-1)
    path = str(tmp_path / "attempts")
    assert ray.get(crash_until.remote(path, 6), timeout=120) == 6  # 5 crashes > default 3


def test_crash_retries_stop_at_max_retries(ray_shared, tmp_path):
    ray = ray_shared
    crash_until = _crasher(ray, max_retries=2)
    path = str(tmp_path / "attempts")
    with pytest.raises(ray.exceptions.WorkerCrashedError):
        ray.get(crash_until.remote(path, 100), timeout=120)
    assert _attempts(path) == 3  # the first run and two retries


def test_default_retries_are_three(ray_shared, tmp_path):
    ray = ray_shared
    crash_until = _crasher(ray)
    ok, failed = str(tmp_path / "ok"), str(tmp_path / "failed")
    assert ray.get(crash_until.remote(ok, 4), timeout=120) == 4
    with pytest.raises(ray.exceptions.WorkerCrashedError):
        ray.get(crash_until.remote(failed, 5), timeout=120)
    assert _attempts(failed) == 4


@pytest.mark.parametrize("max_retries", [0, 1])
def test_task_killed_from_outside(ray_shared, tmp_path, max_retries):
    ray = ray_shared

    @ray.remote(max_retries=max_retries)
    def sleeper(path):
        with open(path, "a") as f:
            f.write(f"{os.getpid()}\n")
        if _count(path) == 1:
            time.sleep(60)
        return "second attempt"

    def _count(path):
        with open(path) as f:
            return len(f.readlines())

    @ray.remote
    def square(x):
        return x * x

    path = tmp_path / "pids"
    ref = sleeper.remote(str(path))
    _wait_for(lambda: _attempts(path) == 1, what="the task started")
    os.kill(int(path.read_text().split()[0]), signal.SIGKILL)
    if max_retries:
        assert ray.get(ref, timeout=60) == "second attempt"
    else:
        with pytest.raises(ray.exceptions.WorkerCrashedError):
            ray.get(ref, timeout=60)
    # other work and the driver carry on
    assert ray.get([square.remote(i) for i in range(10)], timeout=60) == [i * i for i in
                                                                          range(10)]


def test_other_tasks_finish_while_one_crashes(ray_shared, tmp_path):
    ray = ray_shared
    crash_until = _crasher(ray, max_retries=0)

    @ray.remote
    def slow_square(x):
        time.sleep(0.05)
        return x * x

    refs = [slow_square.remote(i) for i in range(20)]
    bad = crash_until.remote(str(tmp_path / "attempts"), 100)
    assert ray.get(refs, timeout=60) == [i * i for i in range(20)]
    with pytest.raises(ray.exceptions.WorkerCrashedError):
        ray.get(bad, timeout=60)


def test_application_error_retries_with_unlimited_retries(ray_shared, tmp_path):
    ray = ray_shared

    @ray.remote(max_retries=-1, retry_exceptions=[ValueError])
    def flaky(path):
        with open(path, "a") as f:
            f.write("x\n")
        with open(path) as f:
            attempt = len(f.readlines())
        if attempt < 5:
            raise ValueError(f"attempt {attempt}")
        return attempt

    assert ray.get(flaky.remote(str(tmp_path / "attempts")), timeout=120) == 5


# ----------------------------------------------------------------------------------------------
# actors whose process dies
# ----------------------------------------------------------------------------------------------


def test_actor_killed_from_outside_fails_calls_in_flight_and_after(ray_shared):
    ray = ray_shared

    @ray.remote(max_restarts=0)
    class Sleeper:
        def pid(self):
            return os.getpid()

        def sleep(self):
            time.sleep(60)

    actor = Sleeper.remote()
    pid = ray.get(actor.pid.remote(), timeout=60)
    in_flight = actor.sleep.remote()
    time.sleep(0.5)
    os.kill(pid, signal.SIGKILL)
    with pytest.raises(ray.exceptions.RayActorError):
        ray.get(in_flight, timeout=60)
    with pytest.raises(ray.exceptions.ActorDiedError):
        ray.get(actor.pid.remote(), timeout=60)


def test_max_task_retries_resubmits_the_call_in_flight(ray_shared, tmp_path):
    ray = ray_shared

    @ray.remote(max_restarts=1, max_task_retries=1)
    class Phoenix:
        def __init__(self):
            self.calls = 0

        def die_once(self, marker):
            self.calls += 1
            if not os.path.exists(marker):
                open(marker, "w").close()
                os._exit(1)
            return self.calls, os.getpid()

    actor = Phoenix.remote()
    calls, _pid = ray.get(actor.die_once.remote(str(tmp_path / "died")), timeout=120)
    assert calls == 1  # ran again on the rebuilt actor, whose constructor ran afresh


def test_actor_restarts_after_sigkill_up_to_max_restarts(ray_shared):
    ray = ray_shared

    @ray.remote(max_restarts=2)
    class Counter:
        def __init__(self):
            self.n = 0

        def incr(self):
            self.n += 1
            return self.n, os.getpid()

    actor = Counter.remote()
    for _ in range(2):
        n, pid = ray.get(actor.incr.remote(), timeout=60)
        os.kill(pid, signal.SIGKILL)
        n, new_pid = _call_until_alive(ray, actor.incr)
        assert (n, new_pid != pid) == (1, True)  # a fresh constructor in a new process
    _n, pid = ray.get(actor.incr.remote(), timeout=60)
    os.kill(pid, signal.SIGKILL)
    with pytest.raises(ray.exceptions.ActorDiedError):
        _call_until_alive(ray, actor.incr)


def test_calls_to_a_restarting_actor_without_retries_are_unavailable(ray_shared):
    """While an actor restarts (its new constructor waits here), a call in flight when its
    process died and a call made meanwhile fail with ``ActorUnavailableError`` (the actor may
    come back: not ``ActorDiedError``); a call with retries waits for the new process."""
    ray = ray_shared

    @ray.remote(num_cpus=0)
    class Gate:
        def __init__(self):
            self.opened = False

        def open(self):
            self.opened = True

        def is_open(self):
            return self.opened

    @ray.remote(num_cpus=0, max_restarts=1)
    class Slow:
        def __init__(self, gate):
            if ray.get_runtime_context().was_current_actor_reconstructed:
                while not ray.get(gate.is_open.remote()):
                    time.sleep(0.05)

        def pid(self):
            return os.getpid()

        def sleep(self):
            time.sleep(60)

    gate = Gate.remote()
    actor = Slow.remote(gate)
    pid = ray.get(actor.pid.remote(), timeout=60)
    in_flight = actor.sleep.remote()
    time.sleep(0.5)
    os.kill(pid, signal.SIGKILL)
    with pytest.raises(ray.exceptions.ActorUnavailableError):
        ray.get(in_flight, timeout=60)
    with pytest.raises(ray.exceptions.ActorUnavailableError):
        ray.get(actor.pid.remote(), timeout=60)
    patient = actor.pid.options(max_task_retries=-1).remote()
    ray.get(gate.open.remote(), timeout=60)
    assert ray.get(patient, timeout=60) != pid
    assert ray.get(actor.pid.remote(), timeout=60) != pid


def test_calls_wait_while_an_actor_that_never_started_restarts(ray_shared, tmp_path):
    """An actor whose first constructors crash is still being created, not restarting: a
    call made before it ever started waits for the constructor that succeeds (no retries
    needed), and runs once."""
    ray = ray_shared
    tries = tmp_path / "tries"

    @ray.remote(num_cpus=0, max_restarts=3)
    class Flaky:
        def __init__(self, path):
            with open(path, "a") as f:
                f.write("x")
            with open(path) as f:
                if len(f.read()) < 3:
                    os._exit(0)

        def ping(self):
            return "pong"

    actor = Flaky.remote(str(tries))
    assert ray.get(actor.ping.remote(), timeout=60) == "pong"
    assert tries.read_text() == "xxx"


def test_actor_died_error_says_whether_the_constructor_failed(ray_shared):
    ray = ray_shared

    @ray.remote(num_cpus=0)
    class Broken:
        def __init__(self):
            raise ValueError("no")

        def ping(self):
            return "pong"

    @ray.remote(num_cpus=0)
    class Fine:
        def ping(self):
            return "pong"

    with pytest.raises(ray.exceptions.ActorDiedError) as broken:
        ray.get(Broken.remote().ping.remote(), timeout=60)
    assert (broken.value.actor_init_failed, broken.value.preempted) == (True, False)
    fine = Fine.remote()
    assert ray.get(fine.ping.remote(), timeout=60) == "pong"
    ray.kill(fine)
    with pytest.raises(ray.exceptions.ActorDiedError) as killed:
        ray.get(fine.ping.remote(), timeout=60)
    assert (killed.value.actor_init_failed, killed.value.preempted) == (False, False)


@pytest.mark.parametrize("end", ["sigkill", "ray.kill"])
def test_actors_an_actor_created_die_with_it_unless_detached(ray_shared, end):
    ray = ray_shared

    @ray.remote(num_cpus=0, max_restarts=-1)
    class Child:
        def ping(self):
            return "pong"

    @ray.remote(num_cpus=0)
    class Parent:
        def make(self, name):
            self.owned = Child.remote()
            self.kept = Child.options(name=name, lifetime="detached").remote()
            ray.get([self.owned.ping.remote(), self.kept.ping.remote()])
            return self.owned, self.kept, os.getpid()

    parent = Parent.remote()
    owned, kept, pid = ray.get(parent.make.remote(f"kept-{end}"), timeout=60)
    if end == "sigkill":
        os.kill(pid, signal.SIGKILL)
    else:
        ray.kill(parent)
    deadline = time.time() + 60
    with pytest.raises(ray.exceptions.RayActorError):  # even with max_restarts=-1
        while time.time() < deadline:
            ray.get(owned.ping.remote(), timeout=60)
            time.sleep(0.2)
    assert ray.get(kept.ping.remote(), timeout=60) == "pong"
    ray.kill(kept)


def _call_until_alive(ray, method, timeout=60.0):
    """Call until the call survives (calls racing a restart may fail with RayActorError, or
    ActorDiedError once the actor is dead for good, which is raised at once)."""
    deadline = time.time() + timeout
    while True:
        try:
            return ray.get(method.remote(), timeout=timeout)
        except ray.exceptions.ActorDiedError:
            raise
        except ray.exceptions.RayActorError:
            if time.time() > deadline:
                raise
            time.sleep(0.2)


# ----------------------------------------------------------------------------------------------
# cancel of a task that waits on others
# ----------------------------------------------------------------------------------------------


def test_recursive_cancel_reaches_the_tasks_a_waiting_task_submitted(ray_shared, tmp_path):
    ray = ray_shared
    beats = tmp_path / "beats"

    @ray.remote(max_retries=0)
    def child(path):
        deadline = time.time() + 60
        while time.time() < deadline:
            with open(path, "a") as f:
                f.write(".")
            time.sleep(0.05)
        return "child finished"

    @ray.remote(max_retries=0)
    def parent(path):
        return ray.get(child.remote(path))

    ref = parent.remote(str(beats))
    _wait_for(lambda: beats.exists() and beats.stat().st_size > 2, what="the child beats")
    ray.cancel(ref, recursive=True)
    with pytest.raises(ray.exceptions.TaskCancelledError):
        ray.get(ref, timeout=30)
    time.sleep(1.0)  # the child may write one more beat while it is being stopped
    size = beats.stat().st_size
    time.sleep(1.0)
    assert beats.stat().st_size == size, "the child still runs after a recursive cancel"


# ----------------------------------------------------------------------------------------------
# values that cannot be pickled
# ----------------------------------------------------------------------------------------------


def test_unpicklable_argument_is_a_type_error_naming_it(ray_shared):
    ray = ray_shared

    @ray.remote
    def f(x):
        return 1

    with pytest.raises(TypeError, match="(?i)lock.*") as info:
        ray.get(f.remote(threading.Lock()), timeout=30)
    assert "serializ" in str(info.value).lower()
    assert ray.get(f.remote(1), timeout=30) == 1


def test_unpicklable_put_is_a_type_error_naming_it(ray_shared):
    ray = ray_shared
    with pytest.raises(TypeError, match="(?i)could not serialize.*lock"):
        ray.put(threading.Lock())
    assert ray.get(ray.put(1)) == 1


def test_unpicklable_return_value_fails_the_task_clearly(ray_shared):
    ray = ray_shared

    @ray.remote
    def g():
        return threading.Lock()

    @ray.remote
    def h():
        return "fine"

    with pytest.raises(ray.exceptions.RayTaskError) as info:
        ray.get(g.remote(), timeout=30)
    assert isinstance(info.value, TypeError)
    text = str(info.value).lower()
    assert "lock" in text and ("pickle" in text or "serializ" in text)
    assert ray.get(h.remote(), timeout=30) == "fine"


SUBREAPER = {"_system_config": {"kill_child_processes_on_worker_exit_with_raylet_subreaper": True}}


@pytest.mark.skipif(not os.uname().sysname == "Linux", reason="a Linux-only Ray feature")
@pytest.mark.parametrize("ray_start", [SUBREAPER], indirect=True)
def test_subreaper_kills_what_a_killed_actor_left_running(ray_start):
    # with the flag, the node adopts and kills the processes an actor process leaves when it
    # is SIGKILLed (Ray: within 10 s), grandchildren included
    import subprocess

    import psutil

    ray = ray_start

    @ray.remote
    class Spawner:
        def spawn(self):
            # a shell that starts a sleep of its own: an orphaned tree of two
            shell = subprocess.Popen(["/bin/sh", "-c", "sleep 1000 & wait"])
            return shell.pid

        def die(self):
            os.kill(os.getpid(), signal.SIGKILL)

    spawner = Spawner.remote()
    shell = ray.get(spawner.spawn.remote(), timeout=60)
    _wait_for(lambda: len(psutil.Process(shell).children()) == 1, what="the sleep started")
    sleeper = psutil.Process(shell).children()[0].pid
    spawner.die.remote()

    def gone(pid):
        try:
            return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            return True

    _wait_for(lambda: gone(shell) and gone(sleeper), timeout=60, what="the orphans were killed")


def _gone(pid):
    """Whether ``pid`` no longer runs (a zombie waiting for init counts as gone)."""
    import psutil

    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


@pytest.mark.skipif(not os.uname().sysname == "Linux", reason="Ray kills them on Linux")
@pytest.mark.parametrize("end", ["ray.kill", "exit_actor"])
def test_a_dead_actors_child_processes_are_killed(ray_shared, end):
    # Ray's kill_child_processes_on_worker_exit (on by default): a worker that ends takes the
    # processes it started with it; while it lives, they live
    import subprocess

    ray = ray_shared

    @ray.remote
    class Spawner:
        def spawn(self):
            self.child = subprocess.Popen(["sleep", "1000"])
            return self.child.pid

        def leave(self):
            ray.actor.exit_actor()

    spawner = Spawner.remote()
    child = ray.get(spawner.spawn.remote(), timeout=60)
    assert not _gone(child)
    if end == "ray.kill":
        ray.kill(spawner)
    else:
        with pytest.raises(ray.exceptions.RayActorError):
            ray.get(spawner.leave.remote(), timeout=60)
    _wait_for(lambda: _gone(child), timeout=60, what="the actor's child was killed")


@pytest.mark.skipif(not os.uname().sysname == "Linux", reason="Ray kills them on Linux")
def test_a_task_process_that_exits_takes_its_children(ray_shared, tmp_path):
    import subprocess

    ray = ray_shared
    path = str(tmp_path / "child.pid")

    @ray.remote(max_retries=0)
    def spawn_and_exit():
        with open(path, "w") as f:
            f.write(str(subprocess.Popen(["sleep", "1000"]).pid))
        os._exit(1)  # the task's process ends

    with pytest.raises(ray.exceptions.WorkerCrashedError):
        ray.get(spawn_and_exit.remote(), timeout=60)
    with open(path) as f:
        child = int(f.read())
    _wait_for(lambda: _gone(child), timeout=60, what="the task process's child was killed")


@pytest.mark.skipif(not os.uname().sysname == "Linux", reason="a Linux-only Ray feature")
@pytest.mark.parametrize("ray_start", [SUBREAPER], indirect=True)
def test_subreaper_flag_makes_the_worker_adopt_and_reap(ray_start):
    # with the flag, a worker is a subreaper (a daemon it starts stays its child) and ignores
    # SIGCHLD, so that its finished children are reaped without a wait
    import subprocess

    import psutil

    ray = ray_start

    @ray.remote
    class Worker:
        def daemon(self):
            out = subprocess.check_output("nohup sleep 1000 >/dev/null 2>&1 & echo $!",
                                          shell=True, text=True)
            return int(out.strip())

        def reaped(self):
            pid = subprocess.Popen(["true"]).pid
            deadline = time.time() + 30
            while time.time() < deadline:
                if not psutil.pid_exists(pid):
                    return True
                time.sleep(0.1)
            return False

        def pid(self):
            return os.getpid()

    worker = Worker.remote()
    daemon = ray.get(worker.daemon.remote(), timeout=60)
    try:
        _wait_for(lambda: psutil.Process(daemon).ppid() == ray.get(worker.pid.remote()),
                  timeout=30, what="the daemon was adopted by its worker")
        assert ray.get(worker.reaped.remote(), timeout=60)
    finally:
        ray.kill(worker)
    _wait_for(lambda: _gone(daemon), timeout=60, what="the daemon was killed with its worker")


@pytest.mark.parametrize("ray_start", [{"num_cpus": 2, "resources": {"slot": 1},
                                        "include_dashboard": False}], indirect=True)
def test_tasks_of_a_dead_actor_are_killed(ray_start):
    # fate sharing: when an actor's process dies, the tasks it submitted die with it, so
    # what they held is free again
    ray = ray_start

    @ray.remote(resources={"slot": 1})
    def hold_slot():
        time.sleep(1000)

    @ray.remote(resources={"slot": 1})
    def probe():
        return True

    @ray.remote(num_cpus=0)
    class Parent:
        def pid(self):
            return os.getpid()

        def start(self):
            ray.get(hold_slot.remote())

    def slot_free():
        ready, _ = ray.wait([probe.remote()], timeout=1)
        return bool(ready)

    parent = Parent.remote()
    pid = ray.get(parent.pid.remote(), timeout=60)
    parent.start.remote()
    deadline = time.time() + 60
    while slot_free():
        assert time.time() < deadline, "the child task never took the slot"
    os.kill(pid, signal.SIGKILL)
    deadline = time.time() + 60
    while not slot_free():
        assert time.time() < deadline, "the dead actor's task still holds the slot"


@pytest.mark.timeout(300)
def test_calls_in_flight_on_a_lost_node_run_again_where_the_actor_restarts(ray_fresh):
    """Ray: calls sent to an actor whose node dies are retried once the actor restarted
    (elsewhere), within their ``max_task_retries``; queued ones keep their order."""
    import importlib

    ray = ray_fresh
    cluster = importlib.import_module(f"{ray.__name__}.cluster_utils").Cluster(
        initialize_head=True, head_node_args={"num_cpus": 0})
    try:
        ray.init(address=cluster.address)
        doomed = cluster.add_node(num_cpus=1)
        cluster.wait_for_nodes()

        @ray.remote(num_cpus=1, max_restarts=-1, max_task_retries=-1)
        class Echo:
            def echo(self, value, delay):
                time.sleep(delay)
                return value

        actor = Echo.remote()
        assert ray.get(actor.echo.remote("ready", 0), timeout=120) == "ready"
        refs = [actor.echo.remote(i, 0.5) for i in range(6)]
        cluster.remove_node(doomed, allow_graceful=False)
        cluster.add_node(num_cpus=1)
        assert ray.get(refs, timeout=180) == list(range(6))
    finally:
        ray.shutdown()
        cluster.shutdown()


@pytest.mark.skipif(not os.uname().sysname == "Linux", reason="a Linux-only Ray feature")
def test_task_and_actor_processes_are_the_oom_killers_first_choice(ray_shared):
    # Ray's worker_oom_score_adjustment (1000 by default)
    ray = ray_shared

    def score():
        with open("/proc/self/oom_score_adj") as f:
            return int(f.read())

    @ray.remote
    class Actor:
        def score(self):
            return score()

    assert ray.get(ray.remote(score).remote(), timeout=60) == 1000
    assert ray.get(Actor.remote().score.remote(), timeout=60) == 1000


def test_calls_without_retries_fail_fast_while_the_actor_restarts(ray_shared):
    # Ray: while an actor restarts, a call with max_task_retries=0 fails at once
    # (RayActorError) instead of waiting for the new process; once it is alive, calls run
    from compat_helpers import make_signal

    ray = ray_shared
    gate = make_signal(ray)

    @ray.remote(max_restarts=1, max_task_retries=0)
    class SlowToRestart:
        def __init__(self, gate):
            if ray.get_runtime_context().was_current_actor_reconstructed:
                ray.get(gate.wait.remote())

        def ping(self):
            return "pong"

    actor = SlowToRestart.remote(gate)
    assert ray.get(actor.ping.remote(), timeout=60) == "pong"
    ray.kill(actor, no_restart=False)
    with pytest.raises(ray.exceptions.RayActorError):
        deadline = time.time() + 60
        while time.time() < deadline:  # the kill is asynchronous: until it has happened,
            ray.get(actor.ping.remote(), timeout=60)  # a call may still reach the old process
            time.sleep(0.1)
    ray.get(gate.send.remote(), timeout=60)
    _wait_for(lambda: _ping_or_none(ray, actor) == "pong", timeout=60,
              what="the restarted actor answers")


def _ping_or_none(ray, actor):
    try:
        return ray.get(actor.ping.remote(), timeout=60)
    except ray.exceptions.RayActorError:
        return None
