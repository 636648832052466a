"""``ray.tests.client_test_utils``: helpers Ray's tests share between the normal and the Ray
Client runs (raylike has only the normal one)."""
from __future__ import annotations

import asyncio
from typing import Any

__all__ = ["create_remote_signal_actor"]


def create_remote_signal_actor(ray: Any) -> Any:
    """An actor class made with ``ray.remote`` (of the module given: raylike, or Ray) that
    works as an event: ``wait()`` returns once ``send()`` was called (``send(clear=True)``
    releases the current waiters and blocks later ones)."""

    class SignalActor:
        def __init__(self) -> None:
            self._ready = asyncio.Event()

        def send(self, clear: bool = False) -> None:
            self._ready.set()
            if clear:
                self._ready.clear()

        async def wait(self, should_wait: bool = True) -> None:
            if should_wait:
                await self._ready.wait()

    return ray.remote(SignalActor)
