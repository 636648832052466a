"""Ray's test helpers as raylike provides them (``raylike._private.test_utils``,
``raylike._common``): what Ray's own test files import."""
from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time

import pytest

import raylike as ray
from raylike._common import network_utils, utils
from raylike._common.test_utils import (
    Semaphore,
    SignalActor,
    async_wait_for_condition,
    run_string_as_driver,
    wait_for_condition,
)
from raylike._private import test_utils


def test_wait_for_condition_returns_raises_and_names_the_last_error():
    calls = []
    wait_for_condition(lambda: calls.append(1) or len(calls) >= 3, retry_interval_ms=1)
    assert len(calls) == 3
    with pytest.raises(RuntimeError, match="(?s)wasn.t met.*ZeroDivisionError"):
        wait_for_condition(lambda: 1 / 0, timeout=0.2, retry_interval_ms=10)
    with pytest.raises(ZeroDivisionError):
        wait_for_condition(lambda: 1 / 0, timeout=5, raise_exceptions=True)
    wait_for_condition(lambda x: x == 2, x=2)


def test_async_wait_for_condition_takes_coroutines():
    state = {"n": 0}

    async def ready():
        state["n"] += 1
        return state["n"] > 2

    asyncio.run(async_wait_for_condition(ready, retry_interval_ms=1))
    with pytest.raises(RuntimeError):
        asyncio.run(async_wait_for_condition(lambda: False, timeout=0.1))


def test_drivers_run_in_their_own_process():
    out = run_string_as_driver("import os\nprint('pid', os.getpid())")
    assert out.startswith("pid") and str(os.getpid()) not in out
    with pytest.raises(subprocess.CalledProcessError):
        run_string_as_driver("raise SystemExit(3)")
    proc = test_utils.run_string_as_driver_nonblocking("import sys; print('x'); "
                                                       "print('y', file=sys.stderr)")
    assert proc.wait(timeout=60) == 0
    assert proc.stdout.read() == b"x\n" and proc.stderr.read() == b"y\n"
    assert test_utils.run_string_as_driver_stdout_stderr("print(1)") == ("1\n", "")
    with pytest.raises(subprocess.TimeoutExpired):
        run_string_as_driver("import time; time.sleep(60)", timeout=1)


def test_pid_helpers():
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(0.3)"])
    test_utils.wait_for_pid_to_exit(proc.pid, timeout=30)
    with pytest.raises(TimeoutError):
        test_utils.wait_for_pid_to_exit(os.getpid(), timeout=0.2)


def test_network_and_common_utils():
    assert network_utils.build_address("::1", 80) == "[::1]:80"
    assert network_utils.parse_address("[::1]:80") == ("::1", "80")
    assert network_utils.parse_address("127.0.0.1:6379") == ("127.0.0.1", "6379")
    assert network_utils.parse_address("nohost") is None
    assert 0 < network_utils.find_free_port() < 65536
    assert utils.decode(b"abc") == "abc" and utils.hex_to_binary("ff") == b"\xff"
    utils.reset_ray_address()
    assert test_utils.generate_system_config_map(a=1) == {"_system_config": {"a": 1}}
    assert test_utils.client_test_enabled() is False


def test_no_meaning_helpers_raise_clearly():
    with pytest.raises(NotImplementedError, match="get_redis_cli.*Redis"):
        test_utils.get_redis_cli(6379, False)
    with pytest.raises(NotImplementedError, match="RayletKiller"):
        test_utils.RayletKiller.remote()
    with pytest.raises(RuntimeError, match="ray.init"):  # it reads a driver's errors
        test_utils.init_error_pubsub()


@pytest.mark.timeout(120)
def test_signal_and_semaphore_actors_coordinate_tasks():
    ray.init(num_cpus=2)
    try:
        signal = SignalActor.remote()

        @ray.remote
        def waiter(sig):
            ray.get(sig.wait.remote())
            return "released"

        ref = waiter.remote(signal)
        wait_for_condition(lambda: ray.get(signal.cur_num_waiters.remote()) == 1, timeout=60)
        assert ray.wait([ref], timeout=0.2)[0] == []
        ray.get(signal.send.remote())
        assert ray.get(ref, timeout=60) == "released"
        sema = Semaphore.remote(value=1)
        ray.get(sema.acquire.remote())
        assert ray.get(sema.locked.remote()) is True
        ray.get(sema.release.remote())
        assert ray.get(sema.locked.remote()) is False
        assert ray.get(test_utils.put_object(5, use_ray_put=False)) == 5
        actor = SignalActor.remote()
        start = time.monotonic()
        test_utils.kill_actor_and_wait_for_failure(actor)
        assert time.monotonic() - start < 60
    finally:
        ray.shutdown()


def test_defer_sigint_delivers_at_the_end_of_the_block():
    import signal

    from raylike._private.utils import DeferSigint

    reached_end = False
    with pytest.raises(KeyboardInterrupt):
        with DeferSigint():
            signal.raise_signal(signal.SIGINT)
            reached_end = True
    assert reached_end


def test_convert_actor_state_names_rays_numbers() -> None:
    from raylike._private.test_utils import convert_actor_state

    assert convert_actor_state(2) == "ALIVE" and convert_actor_state(4) == "DEAD"
    assert convert_actor_state(None) is None and convert_actor_state(0) is None  # as Ray's
    assert convert_actor_state("PENDING_CREATION") == "PENDING_CREATION"
