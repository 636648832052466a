"""Ray's ``ray._private.async_compat``: telling async callables apart and making event loops."""
from __future__ import annotations

import asyncio
import functools
import inspect
from collections.abc import Callable
from typing import Any

__all__ = ["get_new_event_loop", "has_async_methods", "is_async_func", "sync_to_async",
           "try_install_uvloop"]


def get_new_event_loop() -> asyncio.AbstractEventLoop:
    """A new event loop (asyncio's; raylike does not switch to uvloop)."""
    return asyncio.new_event_loop()


def try_install_uvloop() -> None:
    """Ray installs uvloop when present; raylike's actors run asyncio's own loop, so this
    leaves the event loop policy as it is."""


def is_async_func(func: Any) -> bool:
    """True for a coroutine function or an async generator function."""
    return inspect.iscoroutinefunction(func) or inspect.isasyncgenfunction(func)


@functools.lru_cache(maxsize=1024)
def has_async_methods(cls: Any) -> bool:
    """True if ``cls`` has at least one async method (such a class makes an async actor)."""
    return any(is_async_func(member) for _, member in inspect.getmembers(cls))


@functools.lru_cache(maxsize=1024)
def sync_to_async(func: Callable[..., Any]) -> Callable[..., Any]:
    """``func`` if it is async already, else a coroutine function calling it (blocking)."""
    if is_async_func(func):
        return func

    async def call(*args: Any, **kwargs: Any) -> Any:
        return func(*args, **kwargs)

    return call
