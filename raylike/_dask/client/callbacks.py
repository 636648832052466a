"""Done callbacks on Dask futures, run on the client's event loop.

Dask's ``Future.add_done_callback`` hands each call to a thread pool of its own, which
refuses work once the interpreter has begun to exit. A script that ended with tasks still
pending (and so with raylike's callbacks on them: refs held until a task is done, ``wait``
counting) then printed one "cannot schedule new futures after interpreter shutdown"
traceback per future when ``shutdown`` cancelled them. raylike's callbacks are quick and
never block, so they run on the loop itself instead. Part of the Dask boundary.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from distributed import Future

from raylike._dask import internals

logger = logging.getLogger("raylike")
_LIVE = ("running", "connecting", "newly-created")


def when_done(fut: Any, fn: Callable[[Any], object]) -> None:
    """Call ``fn(fut)`` once ``fut`` is done (finished, erred or cancelled); at once if it is
    already, or if its client is closed. Anything else with ``add_done_callback`` (a
    ``concurrent.futures.Future``, ...) uses its own."""
    if not isinstance(fut, Future):
        fut.add_done_callback(fn)
        return
    loop = fut.client.loop
    if fut.done() or loop is None or fut.client.status not in _LIVE:
        _call(fn, fut)
        return

    async def wait() -> None:
        await internals.wait_future_state(fut)
        _call(fn, fut)

    loop.add_callback(wait)


def _call(fn: Callable[[Any], object], fut: Any) -> None:
    try:
        fn(fut)
    except Exception:  # a bug in raylike's callback: never a traceback from the event loop
        logger.debug("done callback %r failed", fn, exc_info=True)


class _ClosedStreamNote(logging.Filter):
    """Drops Dask's "Batched Comm Closed" note (INFO, with a ``CommClosedError`` traceback):
    the stream's connection closing under a message still in flight, which a shutdown that
    stops the cluster causes; any other record passes."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.getMessage()).startswith("Batched Comm Closed")


def quiet_closing() -> None:
    """Keep the note a closing stream leaves out of the user's stderr (once per process)."""
    batched = logging.getLogger("distributed.batched")
    if not any(isinstance(f, _ClosedStreamNote) for f in batched.filters):
        batched.addFilter(_ClosedStreamNote())


def quiet_timeouts(client: Any) -> None:
    """Keep Dask's batched-send timeouts out of the user's stderr at exit.

    Dask's ``BatchedSend`` waits on tornado's ``Event.wait(timeout)``, whose timeout future
    gets a ``TimeoutError("Timeout")``. When the client's loop stops (``shutdown``, or exit on
    a loaded machine) between that and the coroutine resuming, the future is collected unread
    and asyncio prints "Future exception was never retrieved ... TimeoutError: Timeout" (seen
    after doc samples that ended right after a burst of actor calls). Only that message is
    dropped; every other one goes to the loop's previous handler."""
    loop = getattr(getattr(client, "loop", None), "asyncio_loop", None)
    if loop is None:
        return
    previous = loop.get_exception_handler()

    def handler(loop: Any, context: dict[str, Any]) -> None:
        exc = context.get("exception")
        if (isinstance(exc, TimeoutError) and str(exc) == "Timeout"
                and str(context.get("message", "")).startswith("Future exception was never")):
            return
        if previous is not None:
            previous(loop, context)
        else:
            loop.default_exception_handler(context)

    loop.set_exception_handler(handler)
