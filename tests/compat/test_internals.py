"""Ray internals that Ray's own tests and libraries use, where raylike gives the same answers:
the cluster's key-value store (``ray.experimental.internal_kv``) and the label-match
scheduling strategy's operators (``ray.util.scheduling_strategies``)."""
from __future__ import annotations

import importlib
import uuid
from typing import Any

import pytest


def _kv(ray: Any) -> Any:
    return importlib.import_module(f"{ray.__name__}.experimental.internal_kv")


def test_internal_kv_put_get_exists_delete(ray_shared: Any) -> None:
    kv = _kv(ray_shared)
    key = f"compat-{uuid.uuid4().hex}"
    assert kv._internal_kv_put(key, "one") is False  # not there before
    assert kv._internal_kv_get(key) == b"one"  # str in, bytes out
    assert kv._internal_kv_exists(key.encode())
    assert kv._internal_kv_put(key, b"two", overwrite=False) is True  # kept, not replaced
    assert kv._internal_kv_get(key) == b"one"
    assert kv._internal_kv_put(key, b"three") is True  # replaced
    assert kv._internal_kv_get(key) == b"three"
    assert kv._internal_kv_del(key) == 1
    assert kv._internal_kv_get(key) is None
    assert not kv._internal_kv_exists(key)


def test_internal_kv_namespaces_and_prefixes(ray_shared: Any) -> None:
    kv = _kv(ray_shared)
    space = f"ns-{uuid.uuid4().hex}"
    for name in ("pre-a", "pre-b", "other"):
        kv._internal_kv_put(name, name, namespace=space)
    assert kv._internal_kv_get("pre-a") is None  # another namespace
    assert sorted(kv._internal_kv_list("pre-", namespace=space)) == [b"pre-a", b"pre-b"]
    assert kv._internal_kv_del("pre-", del_by_prefix=True, namespace=space) == 2
    assert kv._internal_kv_list("", namespace=space) == [b"other"]
    kv._internal_kv_del("other", namespace=space)


def test_internal_kv_refuses_keys_with_the_reserved_prefix(ray_shared: Any) -> None:
    ray, kv = ray_shared, _kv(ray_shared)
    space = f"ns-{uuid.uuid4().hex}"
    with pytest.raises(ray.exceptions.RaySystemError):
        kv._internal_kv_put("@namespace_x", "v")
    with pytest.raises(ray.exceptions.RaySystemError):
        kv._internal_kv_get("@namespace_", namespace=space)
    with pytest.raises(ray.exceptions.RaySystemError):
        kv._internal_kv_del("@namespace_z", namespace=space)
    with pytest.raises(ray.exceptions.RaySystemError):
        kv._internal_kv_list("@namespace_", namespace=space)
    assert kv._internal_kv_list("", namespace=space) == []  # nothing was stored


def test_internal_kv_is_shared_with_tasks(ray_shared: Any) -> None:
    ray = ray_shared
    key = f"task-{uuid.uuid4().hex}"

    name = f"{ray.__name__}.experimental.internal_kv"

    @ray.remote
    def write(key: str) -> bool:
        import importlib  # the task imports the store's module itself: nothing of this file

        return bool(importlib.import_module(name)._internal_kv_put(key, "from a task"))

    assert ray.get(write.remote(key)) is False
    assert _kv(ray)._internal_kv_get(key) == b"from a task"
    _kv(ray)._internal_kv_del(key)


def test_label_match_operators_are_checked(ray_module: Any) -> None:
    strategies = importlib.import_module(f"{ray_module.__name__}.util.scheduling_strategies")
    assert strategies.In("a", "b").values == ["a", "b"]
    assert strategies.NotIn("a").values == ["a"]
    with pytest.raises(ValueError, match="non-empty"):
        strategies.In()
    with pytest.raises(ValueError, match="must be str"):
        strategies.NotIn("a", 1)
    hard = strategies.NodeLabelSchedulingStrategy({"region": strategies.Exists()})
    assert [(e.key, type(e.operator).__name__) for e in hard.hard] == [("region", "Exists")]
    assert hard.soft == []
    with pytest.raises(ValueError, match="cannot both be empty"):
        strategies.NodeLabelSchedulingStrategy({})
    with pytest.raises(ValueError, match="must be one of"):
        strategies.NodeLabelSchedulingStrategy({"region": "us"})
    with pytest.raises(ValueError, match="must be a map"):
        strategies.NodeLabelSchedulingStrategy(hard=None, soft=["x"])


def test_nodes_name_each_nodes_sockets(ray_shared: Any) -> None:
    """``ray.nodes()`` names each node's object store and raylet sockets; the driver's
    ``address_info`` names its own node's, which Ray's tests match against ``ray.nodes()``."""
    ray = ray_shared
    nodes = [n for n in ray.nodes() if n["Alive"]]
    stores = [n["ObjectStoreSocketName"] for n in nodes]
    assert all(stores) and len(set(stores)) == len(nodes)
    assert all(n["RayletSocketName"] for n in nodes)
    worker = importlib.import_module(f"{ray.__name__}._private.worker")
    assert worker._global_node.address_info["object_store_address"] in stores


def test_wait_for_num_actors_takes_rays_state_numbers(ray_dashboard: Any) -> None:
    """Ray's test helper takes an actor state as its number in Ray's enum
    (``gcs_utils.ActorTableData.DEAD``)."""
    ray = ray_dashboard  # Ray's state API needs its dashboard
    test_utils = importlib.import_module(f"{ray.__name__}._private.test_utils")
    gcs_utils = importlib.import_module(f"{ray.__name__}._private.gcs_utils")

    @ray.remote(num_cpus=0)
    class Doomed:
        def ping(self) -> int:
            return 1

    actor = Doomed.remote()
    assert ray.get(actor.ping.remote(), timeout=60) == 1
    test_utils.wait_for_num_actors(1, gcs_utils.ActorTableData.ALIVE, timeout=60)
    ray.kill(actor)
    test_utils.wait_for_num_actors(1, gcs_utils.ActorTableData.DEAD, timeout=60)


def test_defer_sigint_only_in_the_main_thread(ray_module: Any) -> None:
    import threading

    utils = importlib.import_module(f"{ray_module.__name__}._private.utils")
    seen: list[Any] = []

    def elsewhere() -> None:
        with utils.DeferSigint.create_if_main_thread() as cm:
            seen.append(cm)

    thread = threading.Thread(target=elsewhere)
    thread.start()
    thread.join(timeout=60)
    assert len(seen) == 1 and not isinstance(seen[0], utils.DeferSigint)
    assert isinstance(utils.DeferSigint.create_if_main_thread(), utils.DeferSigint)


def test_collections_split(ray_module: Any) -> None:
    split = importlib.import_module(f"{ray_module.__name__}._private.collections_utils").split
    letters = list("abcdefg")
    assert list(split(letters, 3)) == [["a", "b", "c"], ["d", "e", "f"], ["g"]]
    assert list(split(letters, 7)) == [letters]
    assert list(split(letters, 100)) == [letters]
    assert list(split([], 2)) == []


def test_log_deduplicator_folds_lines_across_processes(ray_module: Any) -> None:
    logging_mod = importlib.import_module(f"{ray_module.__name__}._private.ray_logging")
    clock = [1000.0]
    dedup = logging_mod.LogDeduplicator(10, None, None, _timesource=lambda: clock[0])

    def batch(pid: int, *lines: str) -> dict[str, Any]:
        return {"ip": "10.0.0.1", "pid": pid, "lines": list(lines)}

    # first sight: shown; the same process again: shown too
    assert dedup.deduplicate(batch(1, "loading shard 17")) == [batch(1, "loading shard 17")]
    assert dedup.deduplicate(batch(1, "loading shard 18")) == [batch(1, "loading shard 18")]
    # other processes within the window: held (their batch comes back with no lines)
    clock[0] += 1
    assert dedup.deduplicate(batch(2, "loading shard 3", "done")) == [batch(2, "done")]
    assert dedup.deduplicate(batch(3, "loading shard 9")) == [batch(3)]
    # after the window, the next batch brings the folded line, in green, with its count
    clock[0] += 20
    out = dedup.deduplicate(batch(4, "unrelated"))
    assert out[0] == batch(4, "unrelated")
    folded = [b for b in out[1:] if b["pid"] == 3]
    assert len(folded) == 1
    line = folded[0]["lines"][0]
    assert line.startswith("loading shard 9\x1b[32m [repeated 2x across cluster]")
    assert line.endswith("\x1b[0m")
    # a line held once is shown plain at the flush
    clock[0] += 1
    dedup.deduplicate(batch(5, "unrelated"))
    assert dedup.flush() == [batch(5, "unrelated")]
    assert dedup.flush() == []


def test_log_deduplicator_allow_and_skip(ray_module: Any) -> None:
    logging_mod = importlib.import_module(f"{ray_module.__name__}._private.ray_logging")
    dedup = logging_mod.LogDeduplicator(10, "KEEP", "DROP")
    first = {"ip": "n", "pid": 1, "lines": ["step KEEP", "note"]}
    assert dedup.deduplicate(first) == [first]
    second = {"ip": "n", "pid": 2, "lines": ["step KEEP", "note", "noise DROP"]}
    assert dedup.deduplicate(second) == [{"ip": "n", "pid": 2, "lines": ["step KEEP"]}]


def test_external_storage_urls_and_file_spilling(ray_module: Any, tmp_path: Any) -> None:
    from unittest import mock

    storage_mod = importlib.import_module(f"{ray_module.__name__}._private.external_storage")
    url = storage_mod.create_url_with_offset(url="/data/spill/abc", offset=24, size=100)
    parsed = storage_mod.parse_url_with_offset(url)
    assert (parsed.base_url, parsed.offset, parsed.size) == ("/data/spill/abc", 24, 100)
    with pytest.raises(ValueError):
        storage_mod.parse_url_with_offset("/data/spill/abc")

    storage = storage_mod.FileSystemStorage("ab12", str(tmp_path))
    objects = [(b"first-data", b"meta", None), (b"second", b"", None)]
    with mock.patch.object(storage_mod.FileSystemStorage, "_get_objects_from_store",
                           return_value=objects):
        urls = storage.spill_objects(["r1", "r2"], [b"owner-1", b"owner-2"])
        again = storage.spill_objects(["r1", "r2"], [b"owner-1", b"owner-2"])
    assert len(urls) == 2
    first, second = (storage_mod.parse_url_with_offset(u.decode()) for u in urls)
    assert first.base_url == second.base_url  # the objects of one spill share a file
    assert (first.offset, first.size) == (0, 24 + 7 + 4 + 10)
    assert (second.offset, second.size) == (first.size, 24 + 7 + 0 + 6)
    assert storage_mod.parse_url_with_offset(again[0].decode()).base_url != first.base_url
    spill_dir = tmp_path / "ray_spilled_objects_ab12"
    assert len(list(spill_dir.iterdir())) == 2
    with open(first.base_url, "rb") as f:
        data = f.read()
    assert data[24:24 + 7] == b"owner-1" and data[35:45] == b"first-data"
    storage.delete_spilled_objects(urls)
    assert len(list(spill_dir.iterdir())) == 1


def test_global_node_session_dir(ray_shared: Any) -> None:
    import os

    node = importlib.import_module(f"{ray_shared.__name__}._private.worker")._global_node
    assert node._session_dir == node.get_session_dir_path()
    assert os.path.isdir(node._session_dir)


def test_job_table_and_next_job_id(ray_shared: Any) -> None:
    """``ray._private.state.jobs()`` lists this driver's job (its id, pid, not dead); job ids
    are counted: ``next_job_id()`` takes the next number each time."""
    ray = ray_shared
    import os

    state = importlib.import_module(f"{ray.__name__}._private.state")
    job_id = ray.get_runtime_context().get_job_id()
    mine = [job for job in state.jobs() if job["JobID"] == job_id]
    assert len(mine) == 1, state.jobs()
    assert mine[0]["DriverPid"] == os.getpid() and not mine[0]["IsDead"]
    assert mine[0]["StartTime"] > 0 and mine[0]["EndTime"] == 0
    first, second = state.next_job_id(), state.next_job_id()
    assert first.int() + 1 == second.int()
    assert first.int() > int.from_bytes(bytes.fromhex(job_id), "little")
