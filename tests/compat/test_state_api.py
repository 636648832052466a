"""The state API (``ray.util.state``) and ``ray.timeline``: Ray API only.

Every query names the cluster (``address=`` the runtime context's GCS address): real Ray's
state API otherwise looks for *a* running Ray instance and refuses when it finds several.
Ray reports task states asynchronously, so each check waits for the state it expects. Each
test names its tasks and actors uniquely: the cluster is shared by the module.
"""
from __future__ import annotations

import importlib
import json
import os
import sys
import time
from typing import Any

import pytest

WAIT = 60.0  # seconds a check waits for Ray's asynchronous task events


class _State:
    """``ray.util.state`` of the module under test, bound to its cluster's address."""

    def __init__(self, ray: Any) -> None:
        self.mod = importlib.import_module(f"{ray.__name__}.util.state")
        self.exception = importlib.import_module(f"{ray.__name__}.util.state.exception")
        self.address = ray.get_runtime_context().gcs_address

    def __getattr__(self, name: str) -> Any:
        fn = getattr(self.mod, name)
        return lambda *args, **kwargs: fn(*args, address=self.address, **kwargs)


@pytest.fixture(scope="module")
def state(ray_dashboard_module: Any) -> _State:
    return _State(ray_dashboard_module)


def _until(check: Any, what: str) -> Any:
    deadline = time.monotonic() + WAIT
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def _states(state: _State, name: str) -> list[str]:
    return sorted(t["state"] for t in state.list_tasks(filters=[("name", "=", name)]))


def test_task_states_pending_running_finished_failed(ray_dashboard: Any, state: _State,
                                                     tmp_path: Any) -> None:
    ray = ray_dashboard
    go = tmp_path / "go"

    @ray.remote(num_cpus=0)
    def st_hold(path):
        while not os.path.exists(path):
            time.sleep(0.05)
        return 1

    @ray.remote(num_cpus=0)
    def st_after(x):
        return x

    @ray.remote
    def st_quick():
        return 1

    @ray.remote(max_retries=0)
    def st_fails():
        raise ValueError("state-boom")

    held = st_hold.remote(str(go))
    after = st_after.remote(held)
    assert ray.get(st_quick.remote()) == 1
    with pytest.raises(ValueError):
        ray.get(st_fails.remote())
    _until(lambda: _states(state, "st_hold") == ["RUNNING"], "st_hold RUNNING")
    _until(lambda: _states(state, "st_after") == ["PENDING_ARGS_AVAIL"], "st_after pending")
    _until(lambda: _states(state, "st_quick") == ["FINISHED"], "st_quick FINISHED")
    failed = _until(lambda: state.list_tasks(filters=[("name", "=", "st_fails"),
                                                      ("state", "=", "FAILED")], detail=True),
                    "st_fails FAILED")
    assert failed[0].error_type == "TASK_EXECUTION_EXCEPTION"
    assert "state-boom" in failed[0].error_message
    assert failed[0].type == "NORMAL_TASK" and failed[0].func_or_class_name == "st_fails"
    go.write_text("")
    assert ray.get(after) == 1
    _until(lambda: _states(state, "st_after") == ["FINISHED"], "st_after FINISHED")


def test_a_failed_task_stays_failed_after_its_ref_is_dropped(ray_dashboard: Any,
                                                            state: _State) -> None:
    ray = ray_dashboard

    @ray.remote(num_cpus=0, max_retries=0)
    def st_fails_dropped():
        raise KeyError("dropped-boom")

    with pytest.raises(KeyError):
        ray.get(st_fails_dropped.remote())  # its only ref goes with this line

    def rows() -> list[Any]:
        return state.list_tasks(filters=[("name", "=", "st_fails_dropped")], detail=True)

    _until(lambda: [r.state for r in rows()] == ["FAILED"], "st_fails_dropped FAILED")
    time.sleep(2)  # its error is let go by now: the row still says how it ended
    [row] = rows()
    assert (row.state, row.error_type) == ("FAILED", "TASK_EXECUTION_EXCEPTION")


def test_a_task_whose_process_exits_says_its_exit_code(ray_dashboard: Any,
                                                      state: _State) -> None:
    ray = ray_dashboard

    @ray.remote(num_cpus=0, max_retries=0)
    def st_exits_27():
        sys.exit(27)  # SystemExit: the worker exits with that code

    with pytest.raises(ray.exceptions.WorkerCrashedError):
        ray.get(st_exits_27.remote(), timeout=WAIT)

    def failed() -> list[Any]:
        return [r for r in state.list_tasks(filters=[("name", "=", "st_exits_27")], detail=True)
                if r.state == "FAILED"]

    [row] = _until(failed, "st_exits_27 FAILED")
    assert row.error_type == "WORKER_DIED"
    assert "Worker exits with an exit code 27" in (row.error_message or ""), row


def test_an_unschedulable_task_is_listed_failed(ray_dashboard: Any, state: _State) -> None:
    """A task with a hard affinity to a node that does not exist fails (Ray does not refuse
    the submission); the state API lists it FAILED with Ray's error type, even though its
    ref was dropped at once."""
    ray = ray_dashboard
    strategies = importlib.import_module(f"{ray.__name__}.util.scheduling_strategies")
    missing = "ab" * 28  # a node id no node has

    @ray.remote(num_cpus=0)
    def st_nowhere():
        return 1

    st_nowhere.options(scheduling_strategy=strategies.NodeAffinitySchedulingStrategy(
        node_id=missing, soft=False)).remote()

    def failed() -> list[Any]:
        return [r for r in state.list_tasks(filters=[("name", "=", "st_nowhere")], detail=True)
                if r.state == "FAILED"]

    [row] = _until(failed, "st_nowhere FAILED")
    assert row.error_type == "TASK_UNSCHEDULABLE_ERROR"


def test_parent_task_ids_name_the_submitting_task(ray_dashboard: Any, state: _State) -> None:
    """A task submitted by a task (from its own thread or one it started) names that task as
    its parent; the driver's tasks name the driver's task."""
    ray = ray_dashboard
    import threading

    @ray.remote(num_cpus=0)
    def st_child():
        return 1

    @ray.remote(num_cpus=0)
    def st_from_thread():
        return 2

    @ray.remote(num_cpus=0)
    def st_parent():
        got = []
        thread = threading.Thread(target=lambda: got.append(ray.get(st_from_thread.remote())))
        thread.start()
        thread.join()
        return ray.get(st_child.remote()) + got[0]

    assert ray.get(st_parent.remote(), timeout=WAIT) == 3

    def rows() -> dict[str, Any]:
        found = {}
        for name in ("st_parent", "st_child", "st_from_thread"):
            listed = state.list_tasks(filters=[("name", "=", name)], detail=True)
            if len(listed) != 1 or listed[0].state != "FINISHED":
                return {}
            found[name] = listed[0]
        return found

    found = _until(rows, "the three tasks FINISHED")
    parent = found["st_parent"]
    assert found["st_child"].parent_task_id == parent.task_id
    assert found["st_from_thread"].parent_task_id == parent.task_id
    assert parent.parent_task_id != parent.task_id
    assert parent.parent_task_id.endswith(parent.job_id)  # the driver's task


def test_actor_creation_and_exit_rows(ray_dashboard: Any, state: _State) -> None:
    """An actor whose constructor raises has its creation task listed FAILED (one that was
    made, FINISHED); a call that runs ``exit_actor()`` is an intended end: FINISHED."""
    ray = ray_dashboard

    @ray.remote(num_cpus=0)
    class StInitFails:
        def __init__(self):
            raise ValueError("no")

        def ready(self):
            return 1

    @ray.remote(num_cpus=0)
    class StExits:
        def ready(self):
            return 1

        def leave(self):
            ray.actor.exit_actor()

    broken = StInitFails.remote()
    with pytest.raises(ray.exceptions.RayActorError):
        ray.get(broken.ready.remote(), timeout=WAIT)
    leaving = StExits.remote()
    assert ray.get(leaving.ready.remote(), timeout=WAIT) == 1
    leaving.leave.remote()

    def states(name: str) -> list[str]:
        return [t.state for t in state.list_tasks(filters=[("name", "=", name)])]

    _until(lambda: states("StInitFails.__init__") == ["FAILED"], "the failed creation")
    _until(lambda: states("StExits.__init__") == ["FINISHED"], "the creation FINISHED")
    _until(lambda: states("StExits.leave") == ["FINISHED"], "the exit call FINISHED")


def test_drivers_are_listed_as_driver_tasks_when_asked(ray_dashboard: Any) -> None:
    """``exclude_driver=False`` lists each job's driver as a RUNNING ``DRIVER_TASK`` row;
    by default drivers are left out."""
    ray = ray_dashboard
    client_mod = importlib.import_module(f"{ray.__name__}.util.state")
    common = importlib.import_module(f"{ray.__name__}.util.state.common")
    client = client_mod.StateApiClient(address=ray.get_runtime_context().gcs_address)
    job_id = ray.get_runtime_context().get_job_id()

    def drivers(exclude: bool) -> list[Any]:
        rows = client.list(common.StateResource.TASKS, options=common.ListApiOptions(
            exclude_driver=exclude, filters=[("job_id", "=", job_id)]),
            raise_on_missing_output=False)
        return [row for row in rows if row["type"] == "DRIVER_TASK"]

    [row] = _until(lambda: drivers(False), "this driver's row")
    assert row["state"] == "RUNNING"
    assert drivers(True) == []


def test_rows_are_dataclasses_with_item_access(ray_dashboard: Any, state: _State) -> None:
    ray = ray_dashboard

    @ray.remote
    def st_rows():
        return ray.get_runtime_context().get_task_id()

    task_id = ray.get(st_rows.remote())
    row = _until(lambda: state.get_task(task_id), "get_task")
    assert row.task_id == row["task_id"] == task_id
    assert row.name == "st_rows" and row.get("state") in ("RUNNING", "FINISHED")
    assert row.job_id == ray.get_runtime_context().get_job_id()
    assert state.get_task("00" * 24) is None


def test_filters_and_limit(ray_dashboard: Any, state: _State) -> None:
    ray = ray_dashboard

    @ray.remote
    def st_many(i):
        return i

    ray.get([st_many.remote(i) for i in range(5)])
    _until(lambda: _states(state, "st_many") == ["FINISHED"] * 5, "five st_many FINISHED")
    assert len(state.list_tasks(filters=[("name", "=", "st_many")], limit=2)) == 2
    assert _states(state, "ST_MANY") == ["FINISHED"] * 5  # strings compare without case
    others = state.list_tasks(filters=[("name", "!=", "st_many")], limit=10_000)
    assert all(t.name != "st_many" for t in others)
    assert state.list_tasks(filters=[("name", "=", "st_many"), ("state", "=", "FAILED")]) == []
    with pytest.raises(state.exception.RayStateApiException, match="not supported"):
        state.list_tasks(filters=[("no_such_column", "=", "x")])
    with pytest.raises(ValueError, match="predicate"):
        state.list_tasks(filters=[("state", ">", "x")])
    for unknown in (state.list_actors, state.list_nodes):  # states are checked there
        with pytest.raises(state.exception.RayStateApiException, match="state"):
            unknown(filters=[("state", "=", "NO_SUCH_STATE")])
    assert all(a.state == "ALIVE" for a in state.list_actors(filters=[("state", "=", "alive")]))


def test_actor_tasks_and_actors_alive_then_dead(ray_dashboard: Any, state: _State) -> None:
    ray = ray_dashboard

    @ray.remote(num_cpus=0)
    class StActor:
        def ping(self):
            return ray.get_runtime_context().get_actor_id()

    actor = StActor.options(name="st_actor").remote()
    actor_id = ray.get(actor.ping.remote())
    row = _until(lambda: state.get_actor(actor_id), "get_actor")
    assert row["state"] == row.state == "ALIVE"
    # Ray names an actor's class by its qualified name (``<locals>`` here), as its metadata
    # and the handle's repr do
    qualname = StActor.__ray_metadata__.class_name
    assert qualname.endswith("<locals>.StActor")
    assert row.class_name == qualname and row.name == "st_actor"
    assert repr(actor).startswith(f"Actor({qualname}, ")
    assert [a.actor_id for a in state.list_actors(
        filters=[("class_name", "=", row.class_name)])] == [actor_id]
    calls = _until(lambda: state.list_tasks(filters=[("actor_id", "=", actor_id),
                                                     ("type", "=", "ACTOR_TASK")]),
                   "the actor call")
    assert calls[0].name.endswith("StActor.ping")
    summary = state.summarize_actors()["cluster"]
    assert summary["summary"][row.class_name]["state_counts"] == {"ALIVE": 1}
    ray.kill(actor)
    dead = _until(lambda: (a := state.get_actor(actor_id)) is not None and a.state == "DEAD"
                  and a, "the actor DEAD")
    assert dead.death_cause is not None


def test_summarize_tasks(ray_dashboard: Any, state: _State) -> None:
    ray = ray_dashboard

    @ray.remote
    def st_summed():
        return 1

    ray.get([st_summed.remote() for _ in range(3)])

    def counted() -> Any:
        summary = state.summarize_tasks()["cluster"]
        entry = summary["summary"].get("st_summed")
        return entry is not None and entry["state_counts"] == {"FINISHED": 3} and summary

    summary = _until(counted, "three st_summed FINISHED")
    assert summary["summary"]["st_summed"]["type"] == "NORMAL_TASK"
    assert summary["total_tasks"] >= 3


def test_nodes_and_objects(ray_dashboard: Any, state: _State) -> None:
    ray = ray_dashboard
    nodes = state.list_nodes()
    assert len(nodes) == 1 and nodes[0].state == "ALIVE" and nodes[0].is_head_node
    assert nodes[0].resources_total["CPU"] == 2.0
    assert state.get_node(nodes[0].node_id).node_id == nodes[0].node_id
    ref = ray.put(list(range(1000)))
    found = _until(lambda: state.list_objects(filters=[("object_id", "=", ref.hex())]),
                   "the put object")
    assert found[0].object_id == ref.hex()
    assert state.summarize_objects()["cluster"]["total_objects"] >= 1
    workers = state.list_workers()
    assert workers and all(w.worker_type in ("DRIVER", "WORKER") for w in workers)


def test_timeline_has_task_events(ray_dashboard: Any, tmp_path: Any) -> None:
    ray = ray_dashboard

    @ray.remote
    def st_traced():
        time.sleep(0.05)
        return 1

    ray.get([st_traced.remote() for _ in range(2)])

    def traced() -> list[dict[str, Any]]:
        return [e for e in ray.timeline() if "st_traced" in e.get("cat", "")]

    events = _until(lambda: len(traced()) >= 2 and traced(), "two st_traced events")
    for event in events:
        assert event["ph"] == "X" and event["dur"] >= 0 and event["ts"] > 0
        assert {"cat", "name", "pid", "tid", "ts", "dur", "args"} <= set(event)
    path = tmp_path / "trace.json"
    assert ray.timeline(filename=str(path)) is None
    written = json.loads(path.read_text())
    assert isinstance(written, list) and any("st_traced" in e.get("cat", "") for e in written)


def test_a_running_actor_call_is_found_by_its_refs_task_id(ray_dashboard: Any,
                                                         state: _State) -> None:
    """An actor call's ``ref.task_id()`` is the ``task_id`` of its row, and the row says
    RUNNING while the call runs; the id ends with the actor's id, as Ray's do."""
    ray = ray_dashboard

    @ray.remote
    class StCallHolder:
        def __init__(self):
            import threading

            self.go = threading.Event()

        def st_hold_call(self):
            self.go.wait(120)
            return "done"

        def release(self):
            self.go.set()

    holder = StCallHolder.options(max_concurrency=2).remote()
    ref = holder.st_hold_call.remote()
    task_id = ref.task_id().hex()
    assert task_id.endswith(holder._actor_id.hex())

    def running() -> bool:
        rows = state.list_tasks(filters=[("task_id", "=", task_id)])
        return bool(rows) and rows[0]["state"] == "RUNNING"

    _until(running, "the actor call to run")
    ray.get(holder.release.remote(), timeout=WAIT)
    assert ray.get(ref, timeout=WAIT) == "done"


def test_a_running_task_row_names_its_process(ray_dashboard: Any, state: _State,
                                              tmp_path: Any) -> None:
    ray = ray_dashboard
    go = tmp_path / "go-pid"

    @ray.remote(num_cpus=0)
    def st_where(path):
        while not os.path.exists(path):
            time.sleep(0.05)
        return os.getpid(), ray.get_runtime_context().get_node_id()

    ref = st_where.remote(str(go))
    rows = _until(lambda: [t for t in state.list_tasks(filters=[("name", "=", "st_where")])
                           if t.state == "RUNNING" and t.worker_pid], "st_where's process")
    go.write_text("")
    pid, node_id = ray.get(ref)
    assert rows[0].worker_pid == pid and rows[0].node_id == node_id and rows[0].worker_id


def test_a_worker_killed_by_sigterm_is_listed_dead(ray_dashboard: Any, state: _State) -> None:
    import signal

    ray = ray_dashboard

    @ray.remote
    def st_whoami():
        return os.getpid(), ray.get_runtime_context().get_worker_id()

    pid, worker_id = ray.get(st_whoami.remote())
    os.kill(pid, signal.SIGTERM)

    def dead() -> Any:
        worker = state.get_worker(worker_id)
        return worker if worker is not None and not worker.is_alive else None

    worker = _until(dead, "the killed worker listed dead")
    assert worker.exit_type == "SYSTEM_ERROR" and "SIGTERM" in worker.exit_detail
    assert worker.pid == pid


def test_an_object_row_names_its_holder(ray_dashboard: Any, state: _State) -> None:
    ray = ray_dashboard
    ref = ray.put("st-object-holder")
    object_hex = ref.hex()
    [row] = _until(lambda: state.list_objects(filters=[("object_id", "=", object_hex)]),
                   "the put object")
    assert row.reference_type == "LOCAL_REFERENCE" and row.type == "DRIVER"
    assert row.pid == os.getpid() and row.task_status == "FINISHED"
    del ref
    assert state.list_objects(filters=[("object_id", "=", object_hex)]) == []


def test_enable_task_events_false_keeps_tasks_out(ray_dashboard: Any, state: _State) -> None:
    """``enable_task_events=False`` (task, actor, ``.options``) keeps tasks out of the state
    API; a method's own ``@ray.method(enable_task_events=...)`` overrides its actor's."""
    ray = ray_dashboard

    @ray.remote(num_cpus=0, enable_task_events=False)
    def st_hidden_task():
        return 1

    @ray.remote(num_cpus=0)
    def st_shown_task():
        return 2

    @ray.remote(num_cpus=0)
    class StQuiet:
        def st_quiet_default(self):
            return ray.get_runtime_context().get_actor_id()

        @ray.method(enable_task_events=True)
        def st_quiet_loud(self):
            return 4

    actor = StQuiet.options(enable_task_events=False).remote()
    actor_id = ray.get(actor.st_quiet_default.remote(), timeout=60)
    assert ray.get(actor.st_quiet_loud.remote(), timeout=60) == 4
    assert ray.get(st_hidden_task.remote(), timeout=60) == 1
    assert ray.get(st_shown_task.options(name="st_shown_2").remote(), timeout=60) == 2
    assert ray.get(st_shown_task.options(enable_task_events=False,
                                         name="st_hidden_2").remote(), timeout=60) == 2
    _until(lambda: _states(state, "st_shown_2") == ["FINISHED"], "the shown task")
    names = _until(lambda: {t.name for t in state.list_tasks(
        filters=[("actor_id", "=", actor_id)])}, "the loud method")
    assert all(name.endswith("st_quiet_loud") for name in names)  # no __init__, no quiet
    for hidden in ("st_hidden_task", "st_hidden_2"):
        assert _states(state, hidden) == []


def test_actor_repr_name_is_its_own_repr(ray_dashboard: Any, state: _State) -> None:
    ray = ray_dashboard

    @ray.remote(num_cpus=0)
    class StNamed:
        def __init__(self, label):
            self.label = label

        def __repr__(self):
            return self.label

        def me(self):
            return ray.get_runtime_context().get_actor_id()

    @ray.remote(num_cpus=0)
    class StPlain:
        def me(self):
            return ray.get_runtime_context().get_actor_id()

    named = ray.get(StNamed.remote("st-repr-1").me.remote(), timeout=60)
    plain = ray.get(StPlain.remote().me.remote(), timeout=60)
    row = _until(lambda: (a := state.get_actor(named)) is not None and a.repr_name and a,
                 "the actor's repr_name")
    assert row.repr_name == "st-repr-1"
    assert _until(lambda: state.get_actor(plain), "the plain actor").repr_name == ""


def test_actor_task_names_use_the_actors_repr(ray_dashboard: Any, state: _State) -> None:
    """An actor call's task is named ``<repr>.<method>`` when the class defines ``__repr__``
    (unless the call was given a name); its function stays ``<Class>.<method>``."""
    ray = ray_dashboard

    @ray.remote(num_cpus=0)
    class StRepr:
        def __init__(self, label):
            self.label = label

        def __repr__(self):
            return self.label

        def st_repr_call(self):
            return 1

    plain, named = StRepr.remote("st-repr-plain"), StRepr.remote("st-repr-named")
    ray.get([plain.st_repr_call.remote(),
             named.st_repr_call.options(name="st-custom").remote()], timeout=60)

    def rows(actor: Any) -> list[Any]:
        return state.list_tasks(filters=[("actor_id", "=", actor._actor_id.hex()),
                                         ("type", "=", "ACTOR_TASK")], detail=True)

    # Ray may list a call before its actor's repr is known: wait for the final names
    plain_rows = _until(lambda: [t for t in rows(plain)
                                 if t.name == "st-repr-plain.st_repr_call"], "the repr name")
    named_rows = _until(lambda: [t for t in rows(named) if t.name == "st-custom"],
                        "the given name")
    assert len(plain_rows) == len(named_rows) == 1
    for row in plain_rows + named_rows:
        assert row.func_or_class_name == "StRepr.st_repr_call"
    for actor in (plain, named):
        ray.kill(actor)


@pytest.mark.parametrize("strategy", ["DEFAULT", "SPREAD"])
def test_a_task_interrupted_by_cancel_is_listed_finished(ray_dashboard: Any, state: _State,
                                                         tmp_path: Any, strategy: str) -> None:
    """Ray lists a task that ``ray.cancel`` interrupted as it ran (no ``force``) as FINISHED,
    with no error type (its ref raises ``RayTaskError(TaskCancelledError)``)."""
    ray = ray_dashboard
    started = tmp_path / "started"
    name = f"st_interrupted_{strategy.lower()}"

    @ray.remote(num_cpus=0, max_retries=0)
    def spin(path):
        open(path, "w").close()
        while True:
            time.sleep(0.01)

    ref = spin.options(name=name, scheduling_strategy=strategy).remote(str(started))
    _until(started.exists, "the task to start")
    ray.cancel(ref)
    with pytest.raises(ray.exceptions.TaskCancelledError):
        ray.get(ref, timeout=WAIT)
    rows = _until(lambda: [t for t in state.list_tasks(filters=[("name", "=", name)],
                                                       detail=True)
                           if t["state"] in ("FINISHED", "FAILED")], "the task's end")
    assert [(t["state"], t["error_type"]) for t in rows] == [("FINISHED", None)]
