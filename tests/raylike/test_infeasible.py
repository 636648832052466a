"""Requests no node can satisfy: a warning naming what was asked, and the work waits."""
from __future__ import annotations

import logging

import pytest

import raylike as ray


@pytest.mark.timeout(60)
def test_infeasible_task_and_actor_warn_and_wait(caplog):
    ray.init(num_cpus=2, include_dashboard=False)

    @ray.remote(num_gpus=3)
    def needs_gpus():
        return 1

    @ray.remote(resources={"TPU": 1})
    class NeedsTpu:
        def ping(self):
            return "pong"

    with caplog.at_level(logging.WARNING, logger="raylike"):
        ref = needs_gpus.remote()
        actor = NeedsTpu.remote()
    messages = [r.getMessage() for r in caplog.records]
    assert any("needs_gpus" in m and "'GPU': 3.0" in m for m in messages), messages
    assert any("NeedsTpu" in m and "'TPU': 1.0" in m for m in messages), messages
    with pytest.raises(ray.exceptions.GetTimeoutError):
        ray.get(ref, timeout=1)
    with pytest.raises(ray.exceptions.GetTimeoutError):
        ray.get(actor.ping.remote(), timeout=1)
    # the cluster keeps working
    assert ray.get(ray.remote(lambda: 5).remote()) == 5


@pytest.mark.timeout(60)
def test_feasible_requests_do_not_warn(caplog):
    ray.init(num_cpus=2, num_gpus=1, include_dashboard=False)

    @ray.remote(num_gpus=1)
    def one_gpu():
        return ray.get_gpu_ids()

    with caplog.at_level(logging.WARNING, logger="raylike"):
        assert ray.get(one_gpu.remote()) == [0]
    assert not [r for r in caplog.records if "no node" in r.getMessage()]
