"""Ray's memory monitor (out-of-memory prevention): a task or actor process that takes the
node's memory over ``memory_usage_threshold`` is killed, retried or failed with
``OutOfMemoryError``.

The machine is shared: the threshold is set 2.5 GB above the memory used when the test starts
(``used`` and ``total`` as Ray's monitor reads them, from ``/proc/meminfo``), and every
allocation is bounded (at most 4 GB) so that a test whose monitor fails cannot take the machine.
Real Ray 2.60 kills by start time unless ``worker_killing_policy_by_group`` brings back the
group-by-owner policy its documentation describes (and raylike implements): the tests ask for it.
"""

from __future__ import annotations

import os
import sys

import pytest

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="the memory monitor runs on Linux only")

# bytes above the use before ``init`` at which the monitor kills: room for the cluster's own
# processes (≈1 GB with Ray's) and a task holding 0.5 GB, so that only a leak crosses it
MARGIN = int(2.5 * 2**30)
CHUNK = 100 * 2**20  # bytes a leaking task takes at each step
MAX_CHUNKS = 40  # a leak ends there if the monitor did not stop it (4 GB)


def _meminfo() -> tuple[int, int]:
    with open("/proc/meminfo") as f:
        fields = {line.split(":")[0]: int(line.split()[1]) * 1024 for line in f}
    return fields["MemTotal"] - fields["MemAvailable"], fields["MemTotal"]


def _init(ray, **extra):
    used, total = _meminfo()
    if total - used < MAX_CHUNKS * CHUNK + MARGIN:  # room for a leak a failed monitor lets run
        pytest.skip(f"needs {(MAX_CHUNKS * CHUNK + MARGIN) / 2**30:.1f} GiB free memory "
                    f"(this machine has {(total - used) / 2**30:.1f})")
    config = {"memory_usage_threshold": (used + MARGIN) / total,
              "memory_monitor_refresh_ms": 100, "task_oom_retry_delay_base_ms": 100,
              "worker_killing_policy_by_group": True, **extra}
    ray.init(num_cpus=2, _system_config=config)


def test_leaking_task_that_retries_for_ever_fails_with_oom(ray_fresh):
    ray = ray_fresh
    _init(ray)

    @ray.remote(max_retries=-1)
    def leaks():
        import time

        chunks = []
        for _ in range(MAX_CHUNKS):  # touched bytes: resident at once
            chunks.append(bytearray(b"\1" * CHUNK))
            time.sleep(0.05)
        return "not killed"

    # the caller's last task on the node: it fails at once, whatever its max_retries
    with pytest.raises(ray.exceptions.OutOfMemoryError) as info:
        ray.get(leaks.remote(), timeout=100)
    assert "running low on memory" in str(info.value)


def test_retriable_task_killed_beside_another_of_its_caller_is_retried(ray_fresh, tmp_path):
    ray = ray_fresh
    _init(ray)
    attempts = str(tmp_path / "attempts")
    held = str(tmp_path / "held")

    @ray.remote
    def holder(held, attempts):
        import time

        memory = bytearray(b"\1" * (5 * CHUNK))  # noqa: F841 (held while it runs)
        open(held, "w").close()
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:  # until the other task has run twice
            if os.path.exists(attempts) and len(open(attempts).read().split()) >= 2:
                return "held"
            time.sleep(0.1)
        return "the other task never ran again"

    @ray.remote
    def hog(attempts):
        with open(attempts, "a") as f:
            f.write("attempt\n")
        count = len(open(attempts).read().split())
        if count == 1:  # the first attempt leaks until the monitor kills it
            import time

            chunks = []
            for _ in range(MAX_CHUNKS):
                chunks.append(bytearray(b"\1" * CHUNK))
                time.sleep(0.05)
            return "not killed"
        return count

    first = holder.remote(held, attempts)
    deadline_waits = 0
    while not os.path.exists(held):  # the holder started first (the monitor kills the latest)
        import time

        time.sleep(0.1)
        deadline_waits += 1
        assert deadline_waits < 1200, "the first task never started"
    second = hog.remote(attempts)
    assert ray.get(second, timeout=100) == 2
    assert ray.get(first, timeout=100) == "held"


def test_actor_without_restarts_killed_for_memory_fails_its_call(ray_fresh):
    ray = ray_fresh
    _init(ray)

    @ray.remote(max_restarts=0)
    class Leaker:
        def __init__(self):
            self.chunks = []

        def leak(self):
            import time

            for _ in range(MAX_CHUNKS):
                self.chunks.append(bytearray(b"\1" * CHUNK))
                time.sleep(0.05)
            return "not killed"

        def ping(self):
            return "pong"

    leaker = Leaker.remote()
    assert ray.get(leaker.ping.remote(), timeout=120) == "pong"
    with pytest.raises(ray.exceptions.OutOfMemoryError):
        ray.get(leaker.leak.remote(), timeout=100)
    with pytest.raises(ray.exceptions.OutOfMemoryError):  # it is dead of it
        ray.get(leaker.ping.remote(), timeout=120)


def test_restartable_actor_killed_for_memory_restarts_then_fails_with_oom(ray_fresh):
    ray = ray_fresh
    _init(ray)

    @ray.remote(max_restarts=1, max_task_retries=1)
    class Leaker:
        def __init__(self):
            self.chunks = []

        def leak(self):
            import time

            for _ in range(MAX_CHUNKS):
                self.chunks.append(bytearray(b"\1" * CHUNK))
                time.sleep(0.05)
            return "not killed"

        def pid(self):
            return os.getpid()

    leaker = Leaker.remote()
    assert ray.get(leaker.pid.remote(), timeout=120) > 0  # alive
    # killed, restarted, the call run again and killed again: no restart is left
    with pytest.raises(ray.exceptions.OutOfMemoryError):
        ray.get(leaker.leak.remote(), timeout=100)
    with pytest.raises(ray.exceptions.OutOfMemoryError):  # dead of it
        ray.get(leaker.pid.remote(), timeout=120)
