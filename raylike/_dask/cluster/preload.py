"""Dask preload (``--preload raylike._dask.cluster.preload``) of the embedded cluster's processes.

The scheduler and the worker install raylike's plugins as they start, before the worker joins,
instead of the driver registering them over RPC once it has connected: the plugins are ready
(and the node has started its child processes) by the time the driver's client connects.
Clusters raylike did not start get the same plugins from ``raylike._dask.client.connect.install``.
"""
from __future__ import annotations

from typing import Any


async def dask_setup(server: Any) -> None:
    """Called by Dask with the scheduler or the worker being started."""
    from distributed import Scheduler

    if isinstance(server, Scheduler):
        from raylike._dask import scheduler as _scheduler

        for name, plugin in _scheduler.plugins():
            server.add_plugin(plugin, name=name)
    else:
        from raylike._dask.worker import labels as _labels
        from raylike._dask.worker.node import PLUGIN_NAME, NodePlugin

        await _labels.dask_setup(server)  # it registers with its node labels

        await server.plugin_add(NodePlugin(), name=PLUGIN_NAME)
        await _scheduler_listening(server.scheduler.address)


async def _scheduler_listening(address: str, timeout: float = 30.0) -> None:
    """Return once the scheduler accepts connections: the two processes start together, and a
    worker that tries too early waits out Dask's connection back-off (≈0.1 s) to register."""
    import asyncio
    import time

    from raylike._dask.cluster.embedded import listening

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not listening(address, timeout=0.2):
        await asyncio.sleep(0.005)
