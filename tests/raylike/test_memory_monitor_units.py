"""The memory monitor's parts that need no cluster: Ray's killing policy as a pure function,
its settings and threshold, the memory readings, and a check over a fake node."""
from __future__ import annotations

import signal
import threading
from types import SimpleNamespace
from typing import Any

import pytest

from raylike._api import system_memory
from raylike._dask.worker import memory_monitor as mm
from raylike._dask.worker.oom_policy import Candidate, choose


def _task(key: str, owner: str, started: float, retriable: bool = True) -> Candidate:
    return Candidate(key=key, pid=1, owner=owner, retriable=retriable, started=started)


# -- the policy ---------------------------------------------------------------------------------
def test_nothing_to_choose():
    assert choose([]) is None


def test_retriable_work_goes_before_non_retriable():
    newest_fixed = _task("fixed", "a", started=10, retriable=False)
    older = _task("retriable", "b", started=1)
    assert choose([newest_fixed, older]) == (older, False)


def test_the_caller_with_most_running_tasks_loses_its_latest():
    tasks = [_task("a1", "a", 1), _task("a2", "a", 5), _task("a3", "a", 3),
             _task("b1", "b", 6), _task("b2", "b", 7)]
    assert choose(tasks) == (tasks[1], True)  # a has 3; its latest started at 5


def test_between_callers_as_busy_the_one_whose_first_task_started_later():
    tasks = [_task("a1", "a", 1), _task("a2", "a", 9), _task("b1", "b", 2), _task("b2", "b", 3)]
    assert choose(tasks) == (tasks[3], True)  # b's first started after a's


def test_a_callers_last_task_is_not_retried():
    only = _task("only", "a", 1)
    assert choose([only]) == (only, False)


def test_non_retriable_work_is_one_group_whatever_its_callers():
    tasks = [_task("a", "a", 1, False), _task("b", "b", 2, False), _task("c", "c", 3, False)]
    assert choose(tasks) == (tasks[2], False)  # the latest; never retried


def test_actors_are_chosen_by_the_same_rule():
    actor = Candidate(key="act", pid=2, owner="a", retriable=True, started=9, actor=True)
    task = _task("t", "a", 1)
    assert choose([task, actor]) == (actor, True)
    fixed_actor = Candidate(key="act", pid=2, owner="a", retriable=False, started=9, actor=True)
    assert choose([task, fixed_actor]) == (task, False)


# -- settings and threshold ---------------------------------------------------------------------
def test_settings_defaults_are_rays(monkeypatch):
    for name in ("memory_usage_threshold", "memory_monitor_refresh_ms", "min_memory_free_bytes",
                 "task_oom_retries", "task_oom_retry_delay_base_ms"):
        monkeypatch.delenv(f"RAY_{name}", raising=False)
    assert mm.Settings.from_env() == mm.Settings(0.95, 250, -1, -1, 1000)


def test_settings_from_rays_variables(monkeypatch):
    monkeypatch.setenv("RAY_memory_usage_threshold", "0.5")
    monkeypatch.setenv("RAY_memory_monitor_refresh_ms", "0")
    monkeypatch.setenv("RAY_min_memory_free_bytes", "1000")
    monkeypatch.setenv("RAY_task_oom_retries", "2")
    monkeypatch.setenv("RAY_task_oom_retry_delay_base_ms", "not a number")
    assert mm.Settings.from_env() == mm.Settings(0.5, 0, 1000, 2, 1000)
    monkeypatch.setenv("RAY_memory_usage_threshold", "1.5")  # out of range: the default
    assert mm.Settings.from_env().threshold == 0.95


def test_threshold_bytes_takes_the_larger_of_fraction_and_free_floor():
    assert mm.Settings(threshold=0.5).threshold_bytes(1000) == 500
    assert mm.Settings(threshold=0.5, min_free=100).threshold_bytes(1000) == 900
    assert mm.Settings(threshold=0.95, min_free=300).threshold_bytes(1000) == 950


def test_retry_delay():
    monitor = mm.MemoryMonitor(None, mm.Settings(oom_retries=1, retry_delay_base_ms=1000))
    retry, last = mm.Kill("m", True), mm.Kill("m", False)
    assert monitor.retry_delay(last, 3, 1, 1) is None  # its caller's last task: fails
    assert monitor.retry_delay(retry, 0, 1, 1) is None  # max_retries=0: no OOM retry
    assert monitor.retry_delay(retry, 3, 1, 1) == 2.0
    assert monitor.retry_delay(retry, 3, 2, 2) is None  # task_oom_retries=1 spent
    forever = mm.MemoryMonitor(None, mm.Settings(retry_delay_base_ms=1000))
    assert forever.retry_delay(retry, -1, 50, 50) == mm.MAX_RETRY_DELAY  # capped at 60 s


# -- readings -----------------------------------------------------------------------------------
def _write(path: Any, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_snapshot_reads_meminfo(tmp_path):
    _write(tmp_path / "meminfo", "MemTotal: 1000 kB\nMemFree: 100 kB\nMemAvailable: 400 kB\n")
    assert system_memory.snapshot(str(tmp_path / "nocgroup"), str(tmp_path / "meminfo")) == \
        (600 * 1024, 1000 * 1024)


def test_snapshot_takes_a_lower_cgroup_v2_limit_less_its_file_cache(tmp_path):
    _write(tmp_path / "meminfo", "MemTotal: 1000 kB\nMemAvailable: 400 kB\n")
    cg = tmp_path / "cg"
    _write(cg / "memory.max", "512000\n")
    _write(cg / "memory.current", "300000\n")
    _write(cg / "memory.stat", "anon 1\ninactive_file 1000\nactive_file 2000\n")
    assert system_memory.snapshot(str(cg), str(tmp_path / "meminfo")) == (297000, 512000)
    _write(cg / "memory.max", "max\n")  # no limit: the machine's figures
    assert system_memory.snapshot(str(cg), str(tmp_path / "meminfo")) == \
        (600 * 1024, 1000 * 1024)


def test_snapshot_takes_a_lower_cgroup_v1_limit(tmp_path):
    _write(tmp_path / "meminfo", "MemTotal: 1000 kB\nMemAvailable: 400 kB\n")
    cg = tmp_path / "cg"
    _write(cg / "memory/memory.limit_in_bytes", "512000\n")
    _write(cg / "memory/memory.usage_in_bytes", "300000\n")
    _write(cg / "memory/memory.stat", "total_inactive_file 1000\ntotal_active_file 2000\n")
    assert system_memory.snapshot(str(cg), str(tmp_path / "meminfo")) == (297000, 512000)


def test_rays_private_helpers_read_this_machine():
    from raylike._private.utils import get_system_memory, get_used_memory

    assert 0 < get_used_memory() < get_system_memory()


# -- one check over a fake node -----------------------------------------------------------------
def _fake_node(scopes: dict[str, Any]) -> Any:
    worker = SimpleNamespace(address="tcp://127.0.0.1:1", log_event=lambda *a: None)
    return SimpleNamespace(running=scopes, actors={}, worker=worker, node_id="n" * 56)


def test_check_kills_the_chosen_process_once_and_records_why(monkeypatch):
    killed: list[tuple[int, int]] = []
    monkeypatch.setattr(mm.os, "kill", lambda pid, sig: killed.append((pid, sig)))
    monkeypatch.setattr(system_memory, "snapshot", lambda: (960, 1000))

    def scope(key: str, pid: int, started: float) -> Any:
        call = SimpleNamespace(parent_task_id=None, job_id="01000000", max_retries=3, name=key)
        return SimpleNamespace(call=call, child=SimpleNamespace(pid=pid), started=started)

    scopes = {"old": scope("old", 11, 1.0), "new": scope("new", 12, 2.0)}
    monitor = mm.MemoryMonitor(_fake_node(scopes), mm.Settings(threshold=0.9))
    assert monitor.check().key == "new"
    assert killed == [(12, signal.SIGKILL)]
    assert monitor.check() is None  # the killed one still runs: wait for it
    kill = monitor.take("new")
    assert kill is not None and kill.should_retry
    assert str(kill.error()).startswith("Task was killed due to the node running low on memory.")
    assert "pid=12" in str(kill.error()) and "(0.960000)" in str(kill.error())
    del scopes["new"]  # gone: the next check may kill again (its caller's last: no retry)
    assert monitor.check().key == "old"
    assert not monitor.take("old").should_retry


def test_below_the_threshold_nothing_is_killed(monkeypatch):
    monkeypatch.setattr(mm.os, "kill", lambda *a: pytest.fail("killed"))
    monkeypatch.setattr(system_memory, "snapshot", lambda: (800, 1000))
    node = _fake_node({"t": SimpleNamespace(call=SimpleNamespace(), child=None, started=0)})
    assert mm.MemoryMonitor(node, mm.Settings(threshold=0.9)).check() is None


def test_the_monitor_thread_stops(monkeypatch):
    monkeypatch.setattr(system_memory, "snapshot", lambda: (0, 1000))
    monitor = mm.MemoryMonitor(_fake_node({}), mm.Settings(refresh_ms=10))
    monitor.start()
    assert any(t.name == "raylike-memory-monitor" for t in threading.enumerate())
    monitor.stop()
    assert not any(t.name == "raylike-memory-monitor" for t in threading.enumerate())
    assert not monitor.wait(0)  # a retry waiting for its backoff ends at once


def test_disabled_monitor_starts_no_thread():
    monitor = mm.MemoryMonitor(_fake_node({}), mm.Settings(refresh_ms=0))
    monitor.start()
    assert monitor._thread is None
    monitor.stop()


def test_a_cancel_ends_the_backoff_wait():
    import time

    monitor = mm.MemoryMonitor(_fake_node({}), mm.Settings(refresh_ms=0))
    start = time.monotonic()
    assert monitor.wait(30, lambda: True)  # cancelled: returns at once, the node still runs
    assert monitor.wait(0.05)
    assert time.monotonic() - start < 10
