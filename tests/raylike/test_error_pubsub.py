"""Errors pushed to drivers (Ray's error pubsub, read through Ray's test utilities): what is
published, when, and what is not."""
from __future__ import annotations

import logging
import os
import time

import pytest

import raylike as ray
from raylike._private import ray_constants, test_utils, utils


@pytest.fixture
def pubsub():
    ray.init(num_cpus=2, include_dashboard=False)
    sub = test_utils.init_error_pubsub()
    yield sub
    sub.close()


def _types(messages):
    return [m["type"] for m in messages]


@pytest.mark.timeout(60)
def test_a_published_error_reaches_subscribers_and_the_driver_output(pubsub, capsys):
    """The driver shows it as Ray does: a line of the raylet on stdout."""
    utils.publish_error_to_driver(ray_constants.DASHBOARD_AGENT_DIED_ERROR, "agent gone")
    errors = test_utils.get_error_message(pubsub, 1, ray_constants.DASHBOARD_AGENT_DIED_ERROR)
    assert [e["error_message"] for e in errors] == ["agent gone"]
    out = ""
    deadline = time.monotonic() + 10
    while "agent gone" not in out and time.monotonic() < deadline:
        time.sleep(0.05)
        out += capsys.readouterr().out
    assert "(raylet) agent gone" in out


@pytest.mark.timeout(60)
def test_published_errors_go_to_the_log_when_output_is_not_forwarded(caplog):
    ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False)
    with caplog.at_level(logging.WARNING, logger="raylike"):
        utils.publish_error_to_driver(ray_constants.DASHBOARD_AGENT_DIED_ERROR, "agent lost")
        deadline = time.monotonic() + 10
        while "agent lost" not in caplog.text and time.monotonic() < deadline:
            time.sleep(0.05)
    assert "agent lost" in caplog.text


@pytest.mark.timeout(60)
def test_a_task_process_that_dies_is_reported(pubsub):
    @ray.remote(max_retries=0)
    def die():
        os._exit(1)

    with pytest.raises(ray.exceptions.WorkerCrashedError):
        ray.get(die.remote())
    errors = test_utils.get_error_message(pubsub, 1, ray_constants.WORKER_DIED_PUSH_ERROR)
    assert len(errors) == 1
    assert "died or was killed while executing" in errors[0]["error_message"]


@pytest.mark.timeout(60)
def test_an_actor_process_that_dies_is_reported_but_not_one_ended_on_purpose(pubsub):
    @ray.remote
    class Actor:
        def ping(self):
            return 1

        def crash(self):
            exit()  # code None: a crash, as in Ray

    dropped = Actor.remote()
    ray.get(dropped.ping.remote())
    del dropped
    killed = Actor.remote()
    ray.get(killed.ping.remote())
    ray.kill(killed)
    ended = Actor.remote()
    with pytest.raises(ray.exceptions.ActorDiedError):
        ray.get(ended.__ray_terminate__.remote())
    assert test_utils.get_error_message(pubsub, 1, timeout=2) == []

    crashing = Actor.remote()
    with pytest.raises(ray.exceptions.RayActorError):
        ray.get(crashing.crash.remote())
    errors = test_utils.get_error_message(pubsub, 1, ray_constants.WORKER_DIED_PUSH_ERROR)
    assert len(errors) == 1


@pytest.mark.timeout(90)
def test_many_processes_on_a_node_are_reported_at_each_multiple_of_its_cpus(pubsub):
    @ray.remote(num_cpus=0)
    class Sleeper:
        def __init__(self):
            time.sleep(1000)

    first = [Sleeper.remote() for _ in range(20)]  # noqa: F841 - they must stay alive
    errors = test_utils.get_error_message(pubsub, 1, ray_constants.WORKER_POOL_LARGE_ERROR)
    assert len(errors) == 1
    assert "worker processes have been started on node" in errors[0]["error_message"]
    more = [Sleeper.remote() for _ in range(6)]  # noqa: F841
    errors = test_utils.get_error_message(pubsub, 1, ray_constants.WORKER_POOL_LARGE_ERROR)
    assert len(errors) == 1


@pytest.mark.timeout(60)
def test_a_detached_actor_in_the_anonymous_namespace_is_warned_of(pubsub):
    @ray.remote
    class Named:
        def ping(self):
            return 1

    actor = Named.options(name="pinger", lifetime="detached").remote()
    errors = test_utils.get_error_message(pubsub, 1)
    assert _types(errors) == [ray_constants.DETACHED_ACTOR_ANONYMOUS_NAMESPACE_ERROR]
    ray.kill(actor)


@pytest.mark.timeout(60)
def test_no_anonymous_namespace_warning_with_a_namespace():
    ray.init(num_cpus=1, include_dashboard=False, namespace="mine")
    sub = test_utils.init_error_pubsub()

    @ray.remote
    class Named:
        def ping(self):
            return 1

    actor = Named.options(name="pinger", lifetime="detached").remote()
    assert ray.get(actor.ping.remote()) == 1
    assert test_utils.get_error_message(sub, 1, timeout=2) == []
    ray.kill(actor)
    sub.close()


@pytest.mark.timeout(120)
def test_many_calls_queued_on_one_actor_are_warned_of_at_5000_then_10000(pubsub):
    @ray.remote(num_cpus=0)
    class Slow:
        def wait(self):
            time.sleep(1000)

    actor = Slow.remote()
    refs = [actor.wait.remote() for _ in range(10_001)]
    errors = test_utils.get_error_message(pubsub, 2, ray_constants.EXCESS_QUEUEING_WARNING)
    texts = [e["error_message"] for e in errors]
    assert "More than 5000 tasks are pending submission to actor" in texts[0]
    assert "More than 10000 tasks are pending submission to actor" in texts[1]
    ray.kill(actor)
    del refs


@pytest.mark.timeout(60)
def test_init_error_pubsub_needs_a_driver():
    with pytest.raises(RuntimeError):
        test_utils.init_error_pubsub()


@pytest.mark.timeout(60)
@pytest.mark.parametrize("log_to_driver", [True, False])
def test_the_log_subscriber_gets_the_lines_of_the_job(log_to_driver, capsys):
    ray.init(num_cpus=1, include_dashboard=False, log_to_driver=log_to_driver)
    sub = test_utils.init_log_pubsub()

    @ray.remote
    def speak():
        print("hello from a task")

    ray.get(speak.remote())
    batches = test_utils.get_log_message(sub, 1, timeout=20,
                                         matcher=lambda line: "hello from" in line)
    assert batches and "hello from a task" in batches[0]
    sub.close()
    shown = "hello from a task" in capsys.readouterr().out
    assert shown == log_to_driver
