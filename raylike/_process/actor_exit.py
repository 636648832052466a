"""What an actor's process runs when the actor ends gracefully (``__ray_terminate__``, its
handles gone out of scope, ``exit_actor()``): the instance's ``__ray_shutdown__()`` if it has
one, then the process's ``atexit`` handlers, as Ray does. ``ray.kill`` runs neither (it kills
the process). An error in either is printed and the actor still ends; if they take longer than
:data:`TIMEOUT`, the process ends without waiting for them (Ray's
``actor_graceful_shutdown_timeout_ms``, 30 s).
"""
from __future__ import annotations

import asyncio
import atexit
import inspect
import os
import threading
import traceback
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
