"""raylike's memory report in detail (``raylike._api.memory``, ``_dask.scheduler.memory``):
call sites, task arguments, task statuses, actor handles, a process's rows gone with it."""
from __future__ import annotations

import os
import time
from typing import Any

import numpy as np
import pytest

import raylike as ray
from raylike._private.internal_api import memory_summary

pytestmark = pytest.mark.timeout(180)
SITES = {"_system_config": {"record_ref_creation_sites": True}}


def _rows(info: str, object_hex: str) -> list[str]:
    return [line for line in info.splitlines() if object_hex in line]


def _report() -> str:
    return memory_summary(line_wrap=False)


def test_call_sites_are_recorded_when_asked() -> None:
    ray.init(num_cpus=1, include_dashboard=False, **SITES)
    ref = ray.put("sited")
    [row] = _rows(_report(), ref.hex())
    assert "(put object)" in row
    assert f"{__file__}:test_call_sites_are_recorded_when_asked:" in row


def test_call_sites_are_disabled_by_default() -> None:
    ray.init(num_cpus=1, include_dashboard=False)
    ref = ray.put("unsited")
    [row] = _rows(_report(), ref.hex())
    assert "| disabled" in row and "(put object)" not in row


@ray.remote
def holds(path: str, array: Any) -> str:
    while not os.path.exists(path):
        time.sleep(0.05)
    return memory_summary(line_wrap=False)


def test_a_large_argument_is_put_and_pinned_by_the_running_task(tmp_path: Any) -> None:
    ray.init(num_cpus=1, include_dashboard=False, **SITES)
    go = tmp_path / "go"
    ref = holds.remote(str(go), np.zeros(100_000))
    go.write_text("")
    info = ray.get(ref, timeout=60)
    argument = [r for r in info.splitlines() if "USED_BY_PENDING_TASK" in r]
    assert len(argument) == 1 and "(task call)" in argument[0] and "Driver" in argument[0]
    object_hex = argument[0].rsplit("|", 1)[1].strip()
    [worker_row] = [r for r in _rows(info, object_hex) if "Worker" in r]
    assert "PINNED_IN_MEMORY" in worker_row
    assert f"(deserialize task arg) {__name__}.holds" in worker_row
    [returned] = _rows(info, ref.hex())
    assert "SUBMITTED_TO_WORKER" in returned and "| ?" in returned


@ray.remote
def waits(path: str) -> None:
    while not os.path.exists(path):
        time.sleep(0.05)


@ray.remote
def after(_: Any) -> None:
    pass


def _status_of(ref: Any) -> str:
    [row] = _rows(_report(), ref.hex())
    return row.split("|")[4].strip()


def _until(check: Any) -> None:
    deadline = time.monotonic() + 60
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def test_statuses_of_the_tasks_a_driver_submitted(tmp_path: Any) -> None:
    ray.init(num_cpus=1, include_dashboard=False)
    go = tmp_path / "go"
    first = waits.remote(str(go))
    second = after.remote(first)
    never = after.options(num_gpus=1).remote(None)  # no node has a GPU
    _until(lambda: _status_of(first) == "SUBMITTED_TO_WORKER")
    assert _status_of(second) == "PENDING_ARGS_AVAIL"
    assert _status_of(never) == "PENDING_NODE_ASSIGNMENT"
    go.write_text("")
    ray.get(second, timeout=60)
    assert _status_of(first) == "FINISHED" and _status_of(second) == "FINISHED"
    assert _status_of(ray.put(1)) == "FINISHED"


def test_sizes_of_results_held_by_the_driver() -> None:
    # a leased task's result and a direct actor call's answer live with the driver, not in
    # Dask: their sizes come from there (Ray shows "?" only for objects not made yet)
    ray.init(num_cpus=1, include_dashboard=False)

    @ray.remote
    def make() -> bytes:
        return bytes(5000)

    keeper = Keeper.remote()
    refs = [make.remote(), keeper.keep.remote([ray.put(1)])]
    ray.get(refs)
    info = _report()
    for ref in refs:
        [row] = _rows(info, ref.hex())
        assert " ? " not in row, row
        assert " B " in row or "KiB" in row, row


@ray.remote
class Keeper:
    def __init__(self) -> None:
        self.kept: list[Any] = []

    def keep(self, refs: list[Any]) -> str:
        self.kept.append(refs[0])
        return refs[0].hex()


def test_an_actor_handle_and_the_refs_an_actor_keeps() -> None:
    ray.init(num_cpus=1, include_dashboard=False)
    keeper = Keeper.remote()
    object_hex = ray.get(keeper.keep.remote([ray.put("kept")]), timeout=60)
    info = _report()
    assert len([r for r in info.splitlines() if "ACTOR_HANDLE" in r]) == 1
    [row] = _rows(info, object_hex)
    assert "Worker" in row and "LOCAL_REFERENCE" in row
    del keeper
    _until(lambda: not _rows(_report(), object_hex))
    assert "ACTOR_HANDLE" not in _report()


def test_the_memory_command(capsys: Any) -> None:
    from raylike._dask.cluster.cli import main

    ray.init(num_cpus=1, include_dashboard=False)
    ref = ray.put("listed by the command")
    assert main(["memory", "--address", ray.get_runtime_context().gcs_address,
                 "--no-format"]) == 0
    out = capsys.readouterr().out
    [row] = _rows(out, ref.hex())
    assert "Driver" in row and "LOCAL_REFERENCE" in row and "Plasma memory usage" in out


@ray.remote
def stashes() -> str:
    import builtins

    builtins._raylike_test_stash = ray.put("kept by an idle process")  # type: ignore[attr-defined]
    return str(builtins._raylike_test_stash.hex())  # type: ignore[attr-defined]


def test_an_idle_process_is_asked_too() -> None:
    ray.init(num_cpus=1, include_dashboard=False)
    object_hex = ray.get(stashes.remote(), timeout=60)
    [row] = _rows(_report(), object_hex)  # its process is idle in the pool now
    assert "Worker" in row and "LOCAL_REFERENCE" in row
