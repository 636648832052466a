"""``ray.init(address=...)``: raylike on a Dask cluster it did not start."""
from __future__ import annotations

import os
import time
from typing import Any

import psutil
import pytest
from distributed import Client

import raylike as ray
from raylike.exceptions import RaySystemError

pytestmark = pytest.mark.timeout(120)


@ray.remote
def double(x):
    return x * 2


@ray.remote
def fib(n):
    if n < 2:
        return n
    return sum(ray.get([fib.remote(n - 1), fib.remote(n - 2)]))


@ray.remote(num_gpus=1)
def on_gpu():
    return (ray.get_runtime_context().get_node_id(), ray.get_gpu_ids(),
            os.environ.get("CUDA_VISIBLE_DEVICES"))


@ray.remote
def where():
    return os.getpid(), ray.get_runtime_context().get_node_id()


def test_task_runs_and_resources_are_the_workers(two_worker_cluster: Any) -> None:
    ctx = ray.init(address=two_worker_cluster.address)
    assert ctx.address_info["address"] == two_worker_cluster.address
    assert ray.get(double.remote(21), timeout=30) == 42
    total = ray.cluster_resources()
    # hand-started workers have no CPU resource: raylike registers one CPU per thread
    assert total["CPU"] == 2 + 2
    assert total["GPU"] == 1
    assert len(ray.nodes()) == 2


def test_gpu_task_runs_on_the_gpu_worker(two_worker_cluster: Any) -> None:
    ray.init(address=two_worker_cluster.address)
    gpu_nodes = [n["NodeID"] for n in ray.nodes() if n["Resources"].get("GPU")]
    assert len(gpu_nodes) == 1
    for _ in range(3):  # not by luck: every GPU task lands there
        node_id, gpu_ids, visible = ray.get(on_gpu.remote(), timeout=30)
        assert node_id == gpu_nodes[0]
        assert gpu_ids == [0]
        assert visible == "0"


@ray.remote
def visible_gpus():
    return os.environ.get("CUDA_VISIBLE_DEVICES"), ray.get_gpu_ids()


def test_gpu_of_a_task_does_not_leak_into_later_tasks(dask_cluster: Any) -> None:
    # one thread: every task of this node runs in the same reused task process
    dask_cluster.start_worker(nthreads=1, resources="GPU=1")
    ray.init(address=dask_cluster.address)
    assert ray.get(visible_gpus.options(num_gpus=1).remote(), timeout=30) == ("0", [0])
    for _ in range(3):
        visible, ids = ray.get(visible_gpus.remote(), timeout=30)
        assert ids == []
        # a task given no GPU must not see one (Ray sets CUDA_VISIBLE_DEVICES="" for it)
        assert not visible, f"CPU task sees CUDA_VISIBLE_DEVICES={visible!r}"


def test_nested_tasks(two_worker_cluster: Any) -> None:
    ray.init(address=two_worker_cluster.address)
    # fib(5) has 15 tasks, each blocked in get: more than the 4 CPUs, so it needs the CPU of a
    # blocked task to go back to its node
    assert ray.get(fib.remote(5), timeout=60) == 5
    assert ray.get(fib.options(num_gpus=0.1).remote(3), timeout=60) == 2


def test_shutdown_leaves_the_cluster_running(two_worker_cluster: Any) -> None:
    ray.init(address=two_worker_cluster.address)
    assert ray.get(double.remote(1), timeout=30) == 2
    ray.shutdown()
    assert not ray.is_initialized()
    time.sleep(0.5)
    assert all(p.poll() is None for p in two_worker_cluster.processes())
    with Client(two_worker_cluster.address, timeout="10s", set_as_default=False) as client:
        assert len(client.scheduler_info(n_workers=-1)["workers"]) == 2
        assert client.submit(lambda: 1, pure=False).result(timeout=30) == 1
    # and raylike can connect again
    ray.init(address=two_worker_cluster.address)
    assert ray.get(double.remote(2), timeout=30) == 4


@pytest.mark.parametrize("address, variable", [
    ("auto", "RAY_ADDRESS"),
    ("auto", "DASK_SCHEDULER_ADDRESS"),
    (None, "RAY_ADDRESS"),
])
def test_address_from_environment(two_worker_cluster: Any, monkeypatch: pytest.MonkeyPatch,
                                  address: str | None, variable: str) -> None:
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    monkeypatch.delenv("DASK_SCHEDULER_ADDRESS", raising=False)
    monkeypatch.setenv(variable, two_worker_cluster.address)
    before = {p.pid for p in psutil.Process().children()}
    ctx = ray.init(address=address)
    assert ctx.address_info["address"] == two_worker_cluster.address
    # connected, not embedded: no scheduler or worker of its own
    assert {p.pid for p in psutil.Process().children()} <= before
    assert ray.cluster_resources()["CPU"] == 4
    assert ray.get(double.remote(5), timeout=30) == 10


def test_address_without_scheme(two_worker_cluster: Any) -> None:
    host_port = two_worker_cluster.address.split("://", 1)[1]
    ctx = ray.init(address=host_port)
    assert ctx.address_info["address"] == two_worker_cluster.address
    assert ray.get(double.remote(3), timeout=30) == 6


def test_no_dashboard_named_for_a_scheduler_without_one(two_worker_cluster: Any,
                                                        capsys: pytest.CaptureFixture[str]
                                                        ) -> None:
    # started with --no-dashboard: Dask still reports a port (its HTTP server serves /health
    # there), but no dashboard page is served, so init names none
    ctx = ray.init(address=two_worker_cluster.address)
    assert ctx.dashboard_url is None
    assert ctx.address_info["webui_url"] is None
    assert "dashboard" not in capsys.readouterr().out


def test_auto_without_environment_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    monkeypatch.delenv("DASK_SCHEDULER_ADDRESS", raising=False)
    with pytest.raises(ConnectionError, match="RAY_ADDRESS"):
        ray.init(address="auto")
    assert not ray.is_initialized()


def test_client_instance_stays_usable(two_worker_cluster: Any) -> None:
    client = Client(two_worker_cluster.address, timeout="10s", set_as_default=False)
    try:
        ctx = ray.init(address=client)
        assert ctx.address_info["address"] == two_worker_cluster.address
        assert ray.get([double.remote(i) for i in range(4)], timeout=30) == [0, 2, 4, 6]
        ray.shutdown()
        assert client.status == "running"
        assert client.submit(lambda: 1, pure=False).result(timeout=30) == 1
    finally:
        client.close()


@pytest.mark.parametrize("kwargs", [{"num_cpus": 2}, {"num_gpus": 1}, {"resources": {"x": 1}}])
def test_resources_when_connecting_raise(two_worker_cluster: Any,
                                         kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="existing cluster"):
        ray.init(address=two_worker_cluster.address, **kwargs)
    assert not ray.is_initialized()


def test_nothing_listening_raises_system_error(unused_address: str) -> None:
    address = unused_address
    start = time.monotonic()
    with pytest.raises(RaySystemError) as info:
        ray.init(address=address)
    assert time.monotonic() - start < 20
    assert address in str(info.value)
    assert not ray.is_initialized()


def test_worker_with_nanny(dask_cluster: Any) -> None:
    nanny = dask_cluster.start_worker(nthreads=2, nanny=True)
    ray.init(address=dask_cluster.address)
    assert ray.get([double.remote(i) for i in range(6)], timeout=60) == [0, 2, 4, 6, 8, 10]
    assert ray.get(fib.remote(4), timeout=60) == 3
    pid, node_id = ray.get(where.remote(), timeout=30)
    # the task ran in a child process of the (daemonic) worker the nanny started
    assert pid in {p.pid for p in psutil.Process(nanny.pid).children(recursive=True)}
    assert node_id == ray.nodes()[0]["NodeID"]


@pytest.mark.timeout(120)
def test_cpu_work_spreads_over_the_nodes(two_worker_cluster: Any) -> None:
    ray.init(address=two_worker_cluster.address)

    @ray.remote
    def where() -> str:  # long enough that a loaded machine's second lease comes in time
        time.sleep(1.5)
        return ray.get_runtime_context().get_node_id()

    nodes = set(ray.get([where.remote() for _ in range(8)]))
    assert nodes == {n["NodeID"] for n in ray.nodes()}


@ray.remote
def pause(seconds):
    time.sleep(seconds)
    return seconds


def test_results_come_early_from_the_worker_that_ran_them(two_worker_cluster):
    """The driver watches a running task on every worker of its host: the one that runs it
    hands the result over as it ends, the other's watch is dropped, and neither keeps any."""
    from raylike._api.serialization import loads

    ray.init(address=two_worker_cluster.address)
    backend = ray._runtime.driver().backend
    deadline = time.monotonic() + 30
    while len(backend._local_lanes()) < 2:  # they open in the background at init
        assert time.monotonic() < deadline
        time.sleep(0.05)
    lanes = backend._local_lanes()
    ref = pause.remote(1.0)
    answers = [lane.watch([ref._key])[0] for lane in lanes]  # while it runs
    assert ray.get(ref, timeout=60) == 1.0  # with a timeout: Dask's way, not a watch
    deadline = time.monotonic() + 30
    while not any(answer.done() for answer in answers):
        assert time.monotonic() < deadline
        time.sleep(0.01)
    [(status, frames)] = [answer.result() for answer in answers if answer.done()]
    assert status == "ok" and loads(frames) == 1.0
    for lane, answer in zip(lanes, answers):
        if not answer.done():
            lane.unwatch([ref._key])
            assert answer.result(timeout=10) == ("absent", None)

    def watchers(dask_worker):
        from raylike._dask.worker.node import PLUGIN_NAME

        return len(dask_worker.plugins[PLUGIN_NAME].watchers)

    assert list(backend.client.run(watchers).values()) == [0, 0]
