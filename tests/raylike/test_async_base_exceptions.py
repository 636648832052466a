"""``SystemExit`` and ``KeyboardInterrupt`` in an async actor's methods. Ray's own asyncio
thread dies on these and the call never answers (so no compat test can cover them): raylike
answers as it does for a sync actor, and its loop goes on."""
from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from typing import Any

import pytest

import raylike as ray

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(autouse=True)
def _raylike_shutdown() -> Iterator[None]:  # the conftest's would end the shared cluster
    yield


def _async_raiser() -> Any:
    @ray.remote
    class AsyncRaiser:
        async def pid(self) -> int:
            return os.getpid()

        async def interrupt(self) -> None:
            raise KeyboardInterrupt

        async def leave(self, code: int) -> None:
            sys.exit(code)

        async def exit_in_group(self) -> None:
            raise BaseExceptionGroup("group", [SystemExit(3)])  # noqa: F821

    return AsyncRaiser


def test_keyboard_interrupt_in_async_method_is_a_cancellation(cluster: None) -> None:
    actor = _async_raiser().remote()
    pid = ray.get(actor.pid.remote(), timeout=60)
    with pytest.raises(ray.exceptions.TaskCancelledError):
        ray.get(actor.interrupt.remote(), timeout=60)
    assert ray.get(actor.pid.remote(), timeout=60) == pid


@pytest.mark.parametrize("code", [0, 2])
def test_system_exit_in_async_method_ends_the_actor(cluster: None, code: int) -> None:
    actor = _async_raiser().remote()
    ray.get(actor.pid.remote(), timeout=60)
    with pytest.raises(ray.exceptions.ActorDiedError):
        ray.get(actor.leave.remote(code), timeout=60)
    with pytest.raises(ray.exceptions.ActorDiedError):
        ray.get(actor.pid.remote(), timeout=60)


@pytest.mark.skipif(sys.version_info < (3, 11), reason="exception groups are Python 3.11+")
def test_group_holding_system_exit_is_a_task_error(cluster: None) -> None:
    actor = _async_raiser().remote()
    pid = ray.get(actor.pid.remote(), timeout=60)
    with pytest.raises(ray.exceptions.RayTaskError, match="group"):
        ray.get(actor.exit_in_group.remote(), timeout=60)
    assert ray.get(actor.pid.remote(), timeout=60) == pid


def test_driver_keeps_working_after_system_exit_in_task(cluster: None) -> None:
    """A dual of ``SystemExit`` raised inside Dask's event loop used to close it ("IOLoop is
    closed" for every later call)."""
    @ray.remote(max_retries=0)
    def leave() -> None:
        sys.exit(1)

    @ray.remote
    def one() -> int:
        return 1

    with pytest.raises(ray.exceptions.WorkerCrashedError):
        ray.get(leave.remote(), timeout=60)
    assert ray.get([one.remote() for _ in range(5)], timeout=60) == [1] * 5
    assert ray.get(ray.put("still here"), timeout=60) == "still here"
