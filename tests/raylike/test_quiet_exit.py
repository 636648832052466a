"""Scripts end quietly: no Dask or tornado traceback at ``shutdown()`` or at interpreter exit,
whatever the script leaves behind (pending tasks and their refs, generators, actors it killed
or that exited, ``wait`` in flight), with or without ``shutdown()``; a user's own error is
still shown. Each script runs in a process of its own, as a user would run it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap

import pytest

NOISE = re.compile(r"Traceback|Error|Exception|Task was destroyed|cannot schedule")

PENDING_WITHOUT_SHUTDOWN = """
    import time
    import raylike as ray
    ray.init(num_cpus=2, include_dashboard=False)

    @ray.remote
    def f(x):
        return x

    @ray.remote
    def slow(x):
        time.sleep(5)
        return x

    print(sum(ray.get([f.remote(i) for i in range(20)])))
    nested = [slow.remote(1)]
    pending = [f.remote(nested) for _ in range(10)] + [slow.remote(i) for i in range(5)]
"""

LEFT_BEHIND = """
    import time
    import raylike as ray
    ray.init(num_cpus=2, include_dashboard=False)

    @ray.remote
    def slow(x):
        time.sleep(5)
        return x

    @ray.remote
    def gen(n):
        for i in range(n):
            yield i

    @ray.remote
    class A:
        def echo(self, v):
            return v

        def bye(self):
            ray.actor.exit_actor()

    a = A.remote()
    nested = [slow.remote(1)]
    held = [A.remote().echo.remote(nested), slow.remote(nested)]
    g = gen.remote(1000)
    print(next(g))
    ready, rest = ray.wait([slow.remote(2) for _ in range(3)], timeout=0.1)
    a.bye.remote()
    b = A.remote()
    ray.kill(b)
    big = ray.put(bytes(20_000_000))
    {end}
"""

USER_ERROR = """
    import raylike as ray
    ray.init(num_cpus=2, include_dashboard=False)

    @ray.remote
    def boom():
        raise ValueError("the user's own error")

    ray.get(boom.remote())
"""


def _run(tmp_path, source: str, *flags: str) -> subprocess.CompletedProcess[str]:
    script = tmp_path / "script.py"
    script.write_text(textwrap.dedent(source))
    return subprocess.run([sys.executable, *flags, str(script)], capture_output=True,
                          text=True, timeout=180, cwd=tmp_path)


@pytest.mark.parametrize("flags", [(), ("-X", "dev")], ids=["plain", "dev-mode"])
def test_pending_tasks_at_exit_without_shutdown_print_nothing(tmp_path, flags):
    for _ in range(2):  # the race is timing-bound: more than one try
        done = _run(tmp_path, PENDING_WITHOUT_SHUTDOWN, *flags)
        assert done.returncode == 0, done.stderr
        assert not NOISE.search(done.stderr), done.stderr


@pytest.mark.parametrize("end", ["", "ray.shutdown()"], ids=["exit", "shutdown"])
def test_what_a_script_leaves_behind_ends_quietly(tmp_path, end):
    done = _run(tmp_path, LEFT_BEHIND.format(end=end), "-X", "dev")
    assert done.returncode == 0, done.stderr
    assert not NOISE.search(done.stderr), done.stderr


def test_a_user_error_is_still_shown(tmp_path):
    done = _run(tmp_path, USER_ERROR)
    assert done.returncode == 1
    assert "ValueError" in done.stderr and "the user's own error" in done.stderr
    assert "cannot schedule" not in done.stderr


UNREAD_TIMEOUT = """
    import asyncio
    import gc
    import raylike as ray
    from raylike import _runtime
    ray.init(num_cpus=1, include_dashboard=False)
    loop = _runtime.driver().client.loop.asyncio_loop

    async def drop(exc):  # what a BatchedSend stopped mid-wait leaves: a failed future, unread
        fut = loop.create_future()
        fut.set_exception(exc)
        del fut
        gc.collect()

    asyncio.run_coroutine_threadsafe(drop(TimeoutError("Timeout")), loop).result()
    asyncio.run_coroutine_threadsafe(drop(ValueError("still shown")), loop).result()
    ray.shutdown()
"""


def test_an_unread_dask_timeout_is_not_printed(tmp_path):
    done = _run(tmp_path, UNREAD_TIMEOUT)
    assert done.returncode == 0, done.stderr
    assert "TimeoutError" not in done.stderr, done.stderr
    assert "ValueError: still shown" in done.stderr  # other unread errors still reach stderr


def test_a_user_error_shows_no_dask_frames(tmp_path):
    done = _run(tmp_path, USER_ERROR)
    assert done.returncode == 1
    assert "the user's own error" in done.stderr
    assert f"{os.sep}distributed{os.sep}" not in done.stderr, done.stderr  # the gather
    assert "execute_task" not in done.stderr, done.stderr  # the worker's frames


SETUP_ERROR = """
    import raylike as ray
    ray.init(num_cpus=1, include_dashboard=False)

    @ray.remote(runtime_env={"conda": {"dependencies": ["toolz"]}})
    def f():
        return 1

    ray.get(f.remote())
"""


def test_a_worker_side_error_shows_no_dask_frames(tmp_path):
    done = _run(tmp_path, SETUP_ERROR)
    assert done.returncode == 1
    assert "RuntimeEnvSetupError" in done.stderr
    assert f"{os.sep}distributed{os.sep}" not in done.stderr, done.stderr
    assert "execute_task" not in done.stderr, done.stderr


def test_the_note_of_a_stream_closed_under_a_message_is_dropped(caplog):
    import logging

    from raylike._dask.client.callbacks import quiet_closing

    quiet_closing()
    quiet_closing()  # once per process, however often
    batched = logging.getLogger("distributed.batched")
    with caplog.at_level(logging.INFO, logger="distributed.batched"):
        batched.info("Batched Comm Closed %r", "<TCP (closed)>")
        batched.info("another note")
    assert [r.getMessage() for r in caplog.records] == ["another note"]
    assert len(batched.filters) == 1
