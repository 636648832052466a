"""Helpers shared by the compatibility tests (Ray API only, module passed in)."""
from __future__ import annotations

import asyncio
import time
from typing import Any


def make_signal(ray: Any) -> Any:
    """An actor-based event: ``wait`` blocks until ``send`` has been called."""

    @ray.remote(num_cpus=0)
    class Signal:
        def __init__(self):
            self.event = asyncio.Event()

        async def wait(self):
            await self.event.wait()

        async def send(self):
            self.event.set()

    return Signal.remote()


def poll(fn: Any, expected: Any, timeout: float = 30.0) -> None:
    """Call ``fn`` until it returns ``expected``; fail with its last answer after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        got = fn()
        if got == expected:
            return
        assert time.monotonic() < deadline, f"still {got!r}, expected {expected!r}"
        time.sleep(0.05)
