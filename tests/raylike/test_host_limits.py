"""A node's default size inside a container (``raylike._api.host_limits``): cgroup v1 and v2
CPU quotas, cpusets and memory limits, read from files given here."""
from __future__ import annotations

import logging
import multiprocessing
from pathlib import Path

import pytest

from raylike._api import host_limits


def _file(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_cgroup_v1_quota_and_cpuset(tmp_path: Path) -> None:
    def cpus(quota: str, period: str, cpuset: str) -> float | None:
        return host_limits.docker_cpus(_file(tmp_path, "q", quota), _file(tmp_path, "p", period),
                                       _file(tmp_path, "s", cpuset), "/nonexistent")

    assert cpus("-1", "100000", "0-63") == 64  # no quota: the cpuset
    assert cpus("-1", "100000", "0-10,20,50-63") == 26
    assert cpus("42", "100", "0-63") == 0.42  # the smaller of the two
    assert cpus("400000", "100000", "0-1") == 2
    assert cpus("0", "100000", "") == 1  # a zero quota counts as one CPU


def test_cgroup_v2_cpu_max(tmp_path: Path) -> None:
    def cpus(text: str) -> float | None:
        return host_limits.docker_cpus("/nonexistent", "/nonexistent", "/nonexistent",
                                       _file(tmp_path, "cpu.max", text))

    assert cpus("200000 100000") == 2.0
    assert cpus("max 100000") is None
    assert host_limits.docker_cpus("/no", "/no", "/no", "/no") is None


def test_num_cpus_prefers_the_container_limit(monkeypatch: pytest.MonkeyPatch,
                                              caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.delenv("RAY_USE_MULTIPROCESSING_CPU_COUNT", raising=False)
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    machine = multiprocessing.cpu_count()
    with caplog.at_level(logging.WARNING, logger=host_limits.logger.name):
        assert host_limits.num_cpus(docker=lambda: machine + 3.5,
                                    warning_disabled=False) == machine + 3
    assert "Detecting docker specified CPUs" in caplog.text
    assert "truncated" in caplog.text
    assert host_limits.num_cpus(truncate=False, docker=lambda: 1.5,
                                warning_disabled=True) == 1.5
    assert host_limits.num_cpus(docker=lambda: None) == machine

    def broken() -> float:
        raise OSError("no cgroups here")

    assert host_limits.num_cpus(docker=broken) == machine
    monkeypatch.setenv("RAY_USE_MULTIPROCESSING_CPU_COUNT", "1")
    assert host_limits.num_cpus(docker=lambda: 1.0) == machine


def test_system_memory_is_the_smaller_of_limit_and_machine(tmp_path: Path) -> None:
    import psutil

    total = psutil.virtual_memory().total
    assert host_limits.system_memory(_file(tmp_path, "v1", "100"), "/no") == 100
    assert host_limits.system_memory(_file(tmp_path, "v1b", str(2**64)), "/no") == total
    assert host_limits.system_memory("/no", _file(tmp_path, "v2", "100\n")) == 100
    assert host_limits.system_memory("/no", _file(tmp_path, "v2b", "max")) == total
