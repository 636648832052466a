"""raylike's answers under the names of Ray's internal modules (``ray._private.*``,
``ray._raylet``, ``ray.core.generated``, ...) that Ray's own test files import: real behaviour
where raylike has it, a clear ``NotImplementedError`` where Ray's internal has no meaning."""
from __future__ import annotations

import copy
import gc
import logging
import sys
import time
from collections import namedtuple
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

import raylike as ray
from raylike._api.raylet import GcsClient, ObjectRefStreamEndOfStreamError
from raylike._common.test_utils import SignalActor, is_named_tuple
from raylike._private import (
    async_compat,
    client_mode_hook,
    internal_api,
    label_utils,
    services,
    state,
    utils,
    worker,
)
from raylike._private.test_utils import BatchQueue, wait_for_num_actors
from raylike.core.generated import common_pb2, gcs_pb2
from raylike.exceptions import ObjectRefStreamEndOfStreamError as PublicEndOfStream
from raylike.exceptions import RaySystemError
from raylike.util.placement_group import (
    _validate_bundle_label_selector,
    _validate_bundles,
    validate_placement_group,
)


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    ray.init(num_cpus=2)
    yield ray
    ray.shutdown()


# ---- without a cluster -------------------------------------------------------------------

def test_pure_helpers_of_private_utils(caplog: pytest.LogCaptureFixture) -> None:
    assert utils.get_ray_doc_version() == f"releases-{ray.__version__}"
    assert utils.parse_pg_formatted_resources_to_original(
        {"CPU_group_0_abc123": 1.0, "CPU_group_abc123": 1.0, "bundle_group_0_abc123": 1000.0,
         "memory": 5.0}) == {"CPU": 1.0, "memory": 5.0}
    assert utils.resolve_object_store_memory(10**9, 12345) == 12345
    assert utils.resolve_object_store_memory(10**9) == int(10**9 * 0.3)
    with caplog.at_level(logging.ERROR, logger=utils.logger.name):
        utils.try_import_each_module(["json", "no_such_module_for_raylike"])
    assert "no_such_module_for_raylike" in caplog.text
    if sys.platform.startswith("linux"):
        assert utils.get_current_node_cpu_model_name()


def test_label_selector_syntax_and_bundle_checks() -> None:
    assert label_utils.validate_label_selector({"ray.io/market-type": "!in(spot, od)"}) is None
    assert "key name" in label_utils.validate_label_selector({"bad key!": "x"})
    assert "selector value" in label_utils.validate_label_selector({"k": "in(a,"})
    _validate_bundle_label_selector([{"region": "us"}, {}])
    with pytest.raises(ValueError, match="must be a list of string dictionary"):
        _validate_bundle_label_selector([{"k": 1}])
    with pytest.raises(ValueError, match="GPU-domain"):
        _validate_bundle_label_selector([{"ray.io/accelerator-type": "GB200"}, {}])
    _validate_bundles([{"CPU": 1}])
    with pytest.raises(ValueError, match="only 0 values"):
        _validate_bundles([{"CPU": 0}])
    assert validate_placement_group([{"CPU": 1}], strategy="SPREAD")
    with pytest.raises(ValueError, match="length of `bundle_label_selector`"):
        validate_placement_group([{"CPU": 1}], bundle_label_selector=[{}, {}])


def test_no_client_mode_and_async_helpers() -> None:
    assert client_mode_hook.client_mode_should_convert() is False
    assert client_mode_hook.is_client_mode_enabled is False
    with pytest.raises(NotImplementedError, match="Ray Client"), \
            client_mode_hook.enable_client_mode():
        pass

    async def coro() -> None: ...

    class Mixed:
        async def a(self) -> None: ...

        def b(self) -> None: ...

    assert async_compat.is_async_func(coro) and not async_compat.is_async_func(len)
    assert async_compat.has_async_methods(Mixed)
    assert async_compat.sync_to_async(coro) is coro


def test_protobuf_stand_ins_keep_enum_values_and_refuse_use() -> None:
    assert gcs_pb2.ActorTableData.ActorState.DEAD == 4
    assert gcs_pb2.ActorTableData.ActorState.Name(2) == "ALIVE"
    assert common_pb2.TaskStatus.Value("RUNNING") == 8
    message = gcs_pb2.ActorTableData(name="x")
    assert message.name == "x"
    with pytest.raises(NotImplementedError, match="raylike"):
        message.SerializeToString()
    with pytest.raises(NotImplementedError, match="raylike"):
        gcs_pb2.ResourceUsageBatchData.FromString(b"")
    with pytest.raises(RaySystemError, match="ray.init"):  # real now: it needs a cluster
        internal_api.memory_summary()


def test_end_of_stream_error_is_the_public_class_and_named_tuples() -> None:
    assert ObjectRefStreamEndOfStreamError is PublicEndOfStream
    assert is_named_tuple(namedtuple("P", "x y")) and not is_named_tuple(tuple)


def test_address_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    assert services.get_ray_address_from_environment("host:1", None) == "host:1"
    assert services.get_ray_address_from_environment(None, None) is None
    with pytest.raises(ConnectionError):
        services.get_ray_address_from_environment("auto", None)
    monkeypatch.setenv("RAY_ADDRESS", "other:2")
    assert services.get_ray_address_from_environment(None, None) == "other:2"


def test_util_keeps_placement_group_a_function() -> None:
    import raylike.util

    raylike.util.__setattr__("placement_group", sys.modules["raylike.util.placement_group"])
    assert callable(raylike.util.placement_group)
    assert raylike.util.state.list_actors  # a submodule reached as an attribute
    from raylike import cloudpickle

    assert cloudpickle.loads(cloudpickle.dumps(raylike.util)) is raylike.util  # by name


# ---- on a cluster ------------------------------------------------------------------------

def test_private_state_and_worker_views(cluster: Any) -> None:
    @ray.remote
    class Actor:
        def where(self) -> tuple[str, int | None]:
            return worker.global_worker.node.unique_id, worker.global_worker.mode

    actor = Actor.remote()
    node, mode = ray.get(actor.where.remote())
    assert mode == worker.WORKER_MODE and worker.global_worker.mode == worker.SCRIPT_MODE
    assert node in state.total_resources_per_node()
    assert state.total_resources_per_node()[node]["CPU"] == 2.0
    wait_for_num_actors(1, "ALIVE")
    entry = state.actors()[actor._actor_id.hex()]
    # the qualified name, as Ray 2.60 records the class (``<locals>`` included)
    assert entry["State"] == "ALIVE" and entry["ActorClassName"] == Actor.__qualname__
    assert state.current_node_id() in state.node_ids()
    assert services.remaining_processes_alive()
    with pytest.raises(NotImplementedError, match="core_worker.get_owner_address"):
        worker.global_worker.core_worker.get_owner_address  # noqa: B018
    ray.kill(actor)


def test_job_id_from_driver_id_and_actor_id_attribute(cluster: Any) -> None:
    driver = ray.WorkerID(worker.global_worker.worker_id)
    job = utils.compute_job_id_from_driver(driver)
    assert job.hex() == ray.get_runtime_context().get_job_id()
    assert utils.compute_driver_id_from_job(job) == driver
    with pytest.raises(TypeError):
        utils.compute_job_id_from_driver(driver.hex())

    @ray.remote
    class Actor:
        pass

    actor = Actor.remote()
    assert actor._ray_actor_id == actor._actor_id  # the attribute Ray's handle has
    ray.kill(actor)


def _counts(before: frozenset[bytes] = frozenset()) -> dict[bytes, tuple[int, int]]:
    """The process's reference table, without the refs in ``before`` (refs an earlier test
    of the session left alive, a warning's record of an object, say, are not this test's)."""
    gc.collect()
    table = worker.global_worker.core_worker.get_all_reference_counts()
    return {k: (v["local"], v["submitted"]) for k, v in table.items() if k not in before}


def _until(expected: dict[Any, tuple[int, int]], timeout: float = 30.0,
           before: frozenset[bytes] = frozenset()) -> None:
    want = {ref.hex().encode("ascii"): counts for ref, counts in expected.items()}
    deadline = time.monotonic() + timeout
    while _counts(before) != want:
        assert time.monotonic() < deadline, f"{_counts(before)} != {want}"
        time.sleep(0.05)


def test_reference_table_counts_local_and_submitted_refs(cluster: Any) -> None:
    signal = SignalActor.remote()  # an actor handle's own ref is not counted
    earlier = frozenset(_counts())  # refs alive before this test: not its own
    _until({}, before=earlier)
    x = ray.put(np.zeros(1000))
    x_copy = copy.copy(x)
    _until({x: (2, 0)}, before=earlier)
    del x_copy

    @ray.remote
    def use(value: Any, nested: Any, signal: Any) -> int:
        ray.get(signal.wait.remote())
        return 1

    y = ray.put(2)
    result = use.remote(x, [y], signal)
    _until({x: (1, 1), y: (1, 1), result: (1, 0)}, before=earlier)
    ray.get(signal.send.remote())
    ray.get(result)
    _until({x: (1, 0), y: (1, 0), result: (1, 0)}, before=earlier)
    del x, y, result
    _until({}, before=earlier)


def test_object_exists_until_freed(cluster: Any) -> None:
    ref = ray.put(np.zeros(10_000))
    object_id = ref.binary()
    core = worker.global_worker.core_worker
    assert core.object_exists(ray.ObjectRef(object_id))
    del ref
    deadline = time.monotonic() + 30
    while core.object_exists(ray.ObjectRef(object_id)):
        assert time.monotonic() < deadline, "the object was never freed"
        time.sleep(0.05)


def test_internal_kv_through_gcs_client(cluster: Any) -> None:
    client = GcsClient(address=ray.get_runtime_context().gcs_address)
    assert client.internal_kv_put(b"k", b"v", False, b"ns") == 1  # added
    assert client.internal_kv_put(b"k", b"w", False, b"ns") == 0  # there already: kept
    assert client.internal_kv_get(b"k", b"ns") == b"v"
    assert client.internal_kv_keys(b"", b"ns") == [b"k"]
    assert client.internal_kv_del(b"k", False, b"ns") == 1
    assert not client.internal_kv_exists(b"k", b"ns")
    with pytest.raises(NotImplementedError, match="GcsClient.get_all_node_info"):
        client.get_all_node_info()


def test_batch_queue_hands_out_batches(cluster: Any) -> None:
    queue = BatchQueue()
    queue.put_nowait_batch([1, 2, 3])
    assert queue.get_batch(2) == [1, 2]
    assert queue.get_batch() == [3]  # all there is, without waiting
    from raylike.util.queue import Empty

    with pytest.raises(Empty):
        queue.get_batch(first_timeout=0.1)
    queue.put_nowait(4)
    assert queue.get_batch(3, total_timeout=0.2) == [4]
    queue.shutdown()


def test_object_an_actor_stops_holding_is_freed(cluster: Any) -> None:
    """An actor that drops its last ref to an object (``self.x = None``) and gets no further
    call frees it: the release goes with the call's answer."""

    @ray.remote
    class Holder:
        def hold(self, refs: list[Any]) -> None:
            self.refs = refs

        def drop(self) -> None:
            self.refs = None

    ref = ray.put(np.zeros(10_000))
    object_id = ref.binary()
    holder = Holder.remote()
    ray.get(holder.hold.remote([ref]))
    del ref
    core = worker.global_worker.core_worker
    time.sleep(0.5)
    assert core.object_exists(ray.ObjectRef(object_id))  # the actor holds it
    ray.get(holder.drop.remote())
    deadline = time.monotonic() + 30
    while core.object_exists(ray.ObjectRef(object_id)):
        assert time.monotonic() < deadline, "the object was never freed"
        time.sleep(0.05)
    ray.kill(holder)


def test_killed_actors_constructor_arguments_are_freed(cluster: Any) -> None:
    """``ray.kill`` frees the objects the creator kept for the actor's restarts, though its
    handle is still held."""

    @ray.remote(num_cpus=0)
    class Holder:
        def __init__(self, value: Any) -> None:
            self.value = value

        def ready(self) -> bool:
            return True

    ref = ray.put(np.zeros(10_000))
    object_id = ref.binary()
    holder = Holder.remote({"ref": ref})
    assert ray.get(holder.ready.remote())
    del ref
    ray.kill(holder)
    core = worker.global_worker.core_worker
    deadline = time.monotonic() + 30
    while core.object_exists(ray.ObjectRef(object_id)):
        assert time.monotonic() < deadline, "the argument was never freed"
        time.sleep(0.05)
    assert holder is not None
