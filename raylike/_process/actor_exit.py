"""What an actor's process runs when the actor ends gracefully (``__ray_terminate__``, its
handles gone out of scope, ``exit_actor()``): the instance's ``__ray_shutdown__()`` if it has
one, then the process's ``atexit`` handlers, as Ray does. ``ray.kill`` runs neither (it kills
the process). An error in either is printed and the actor still ends; if they take longer than
:data:`TIMEOUT`, the process ends without waiting for them (Ray's
``actor_graceful_shutdown_timeout_ms``, 30 s).

SIGTERM to the process of a concurrent actor (threaded or async) drains it, as in Ray: the
calls it holds run to their end (``get`` and calls still work in them), later calls fail, then
the process ends as a crash (exit code 1: the actor restarts if it may). A single-threaded
actor's process dies of it at once, as in Ray.
"""
from __future__ import annotations

import asyncio
import atexit
import inspect
import os
import signal
import threading
import traceback
from collections.abc import Callable
from typing import Any

TIMEOUT = 30.0  # seconds


def run_hooks(instance: Any, loop: asyncio.AbstractEventLoop | None) -> None:
    """Run the instance's ``__ray_shutdown__`` and the ``atexit`` handlers, at most
    :data:`TIMEOUT` seconds in all (then the process ends, with exit code 0)."""
    watchdog = threading.Timer(TIMEOUT, os._exit, (0,))
    watchdog.daemon = True
    watchdog.start()
    hook = getattr(instance, "__ray_shutdown__", None) if instance is not None else None
    if callable(hook):
        try:
            result = hook()
            if inspect.iscoroutine(result):
                _await(result, loop)
        except Exception:
            traceback.print_exc()
    atexit._run_exitfuncs()  # they print their own errors


def _await(coroutine: Any, loop: asyncio.AbstractEventLoop | None) -> None:
    """Wait for an async ``__ray_shutdown__``: on the actor's loop, unless that loop is the
    caller's (then on a loop of its own)."""
    if loop is not None and loop.is_running() and asyncio._get_running_loop() is not loop:
        asyncio.run_coroutine_threadsafe(coroutine, loop).result()
        return
    done = threading.Thread(target=asyncio.run, args=(coroutine,), daemon=True)
    done.start()
    done.join()


def drain_on_sigterm(stop: Callable[[int], None]) -> None:
    """Make SIGTERM call ``stop(1)`` (in a thread of its own: a handler runs in the main
    thread, which reads the worker's pipe). From the main thread only."""
    def drain(signum: int, frame: Any) -> None:
        threading.Thread(target=stop, args=(1,), daemon=True, name="raylike-sigterm").start()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, drain)
