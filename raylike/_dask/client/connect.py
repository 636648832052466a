"""Reaching a Dask cluster as a client: check that a scheduler answers (and speaks TLS when
it must), connect, install raylike's plugins on a cluster raylike did not start, ask the
scheduler a question without a client, wait for a worker, and tune the client's streams."""
from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import os
import time
from typing import Any

from distributed import Client

from raylike._dask import errors as _errors
from raylike._dask import internals
from raylike._dask.client.callbacks import quiet_closing, quiet_timeouts
from raylike._dask.cluster.embedded import listening
from raylike._dask.scheduler.refs import batch_interval

logger = logging.getLogger("raylike")


def check_scheduler(address: str, timeout: float = 10.0) -> None:
    """Raise ``ConnectionError`` unless a Dask scheduler answers at a ``tcp://`` ``address``
    (a ``distributed.Client`` waits forever on a server that is not Dask's, e.g. an HTTP port).
    Other schemes (``tls://`` needs the client's security settings) are not checked."""
    if not address.startswith("tcp://"):
        return
    if not listening(address, timeout=min(timeout, 5.0)):
        raise ConnectionError(f"no Dask scheduler answers at {address} (nothing listens there)")

    async def identity() -> Any:
        from distributed.core import rpc

        async with rpc(address) as scheduler:
            return await scheduler.identity()

    def ask() -> Any:  # in a thread of its own: the caller may be inside an event loop
        try:
            return asyncio.run(asyncio.wait_for(identity(), timeout))
        except (OSError, asyncio.TimeoutError):
            return None

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        info = pool.submit(ask).result()
    if not isinstance(info, dict) or info.get("type") != "Scheduler":
        raise ConnectionError(f"no Dask scheduler answers at {address} (no Dask reply within "
                              f"{timeout:.0f} s)")


def check_tls(address: str, security: Any) -> None:
    """Raise ``ConnectionError`` for a ``tls://`` address when this process has no certificate
    for it (Dask would raise an obscure ``TypeError`` from deep inside its comms)."""
    if not address.startswith("tls://"):
        return
    from distributed import Security

    args = (security or Security()).get_connection_args("client")
    if args.get("ssl_context") is None:
        raise ConnectionError(
            "no TLS certificate is configured for this client: set distributed.comm.tls.ca-file, "
            ".client.cert and .client.key in Dask's configuration (or the matching "
            "DASK_DISTRIBUTED__COMM__TLS__* variables), or pass ray.init(address=Client(address, "
            "security=...))")


def connect(address: str, *, direct: bool, timeout: float = 10.0, security: Any = None) -> Client:
    """A client of the scheduler at ``address``; a clear ``RaySystemError`` if none answers."""
    if not direct:  # an existing cluster (the embedded one was just started by us)
        try:
            check_scheduler(address, timeout)
            check_tls(address, security)
        except ConnectionError as exc:
            raise _errors.connect_error(address, exc) from None
    try:
        client = Client(address, timeout=f"{timeout}s", set_as_default=False,
                        direct_to_workers=direct or None, security=security)
    except (OSError, TimeoutError) as exc:
        raise _errors.connect_error(address, exc) from None
    quiet_timeouts(client)
    quiet_closing()  # a stream closing under a message in flight at exit: Dask's INFO note
    return client


def install(client: Client) -> None:
    """Register raylike's plugins: on the scheduler first (refs, actor registry), then on
    every worker, now and joining later (the node)."""
    from raylike._dask import scheduler as _scheduler
    from raylike._dask.worker import node as _node

    with _errors.dask_errors():
        for name, plugin in _scheduler.plugins():
            client.register_plugin(plugin, name=name)
        tune(client)
        client.register_plugin(_node.NodeInstaller(), name=_node.INSTALLER_NAME)


def ask_cluster(address: str, op: str, timeout: float = 10.0, **kwargs: Any) -> Any:
    """Call the scheduler handler ``op`` of the cluster at ``address`` through a client of
    its own (the ``raylike`` command, or the state API given an address), with raylike's
    state plugin registered (a no-op where it is)."""
    from raylike._dask.scheduler.state import STATE_PLUGIN, StatePlugin

    try:
        check_scheduler(address, timeout)
        client = Client(address, timeout=f"{timeout}s", set_as_default=False)
    except (OSError, TimeoutError) as exc:
        raise _errors.connect_error(address, exc) from None
    with client, _errors.dask_errors(op, address):
        client.register_plugin(StatePlugin(), name=STATE_PLUGIN)
        return client.sync(getattr(client.scheduler, op), **kwargs)


def register_job(client: Client, ip: str, entrypoint: str, namespace: str) -> str | None:
    """This driver's job id, from the cluster's job table (``scheduler.jobs``): Ray's counted
    ids; None where the scheduler has no job table (the caller draws one)."""
    try:
        return str(client.sync(client.scheduler.raylike_job_register, client=client.id,
                               pid=os.getpid(), ip=ip, entrypoint=entrypoint,
                               namespace=namespace))
    except Exception:  # a scheduler without raylike's job table
        logger.debug("no job table on the scheduler", exc_info=True)
        return None


def wait_for_worker(client: Client, timeout: float = 60.0) -> None:
    """Return once a worker runs. Dask's ``wait_for_workers`` asks the scheduler every 0.1 s,
    a long time next to an embedded cluster's start-up: ask every 5 ms first (a cheap call),
    then let Dask's own check (which also caches the scheduler's description) return at once."""

    async def running() -> None:
        deadline = time.monotonic() + timeout
        while not await client.scheduler.ncores_running() and time.monotonic() < deadline:
            await asyncio.sleep(0.005)

    client.sync(running)
    client.wait_for_workers(1, timeout=timeout)


def tune(client: Client) -> None:
    """Shorten the batching intervals of this client's streams, both ways."""
    interval = batch_interval()
    if interval <= 0 or client.scheduler_comm is None:
        return
    internals.set_client_interval(client, interval)
    try:
        client.sync(client.scheduler.raylike_tune, client=client.id, interval=interval)
    except Exception:  # a scheduler without raylike's plugin: the client side is enough
        logger.debug("could not tune the scheduler's stream to %s", client.id, exc_info=True)


