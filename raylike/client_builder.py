"""``ray.client(address)``: Ray's builder API for connecting (``ClientBuilder``).

raylike has no Ray Client (``ray://``) protocol: a Dask scheduler address is reached directly,
so ``ray.client("tcp://host:8786").namespace("ns").connect()`` is ``ray.init`` with that address
and namespace, and returns its context. A ``ray://`` address is refused as ``init`` refuses it.
"""
from __future__ import annotations

from typing import Any

from raylike import _runtime

__all__ = ["ClientBuilder", "client"]


class ClientBuilder:
    """Collects ``init`` arguments; ``connect()`` connects."""

    def __init__(self, address: str | None) -> None:
        self.address = address
        self._namespace: str | None = None
        self._env: dict[str, Any] | None = None
        self._kwargs: dict[str, Any] = {}

    def env(self, env: dict[str, Any]) -> ClientBuilder:
        """The runtime environment of the job (accepted; raylike sets none up)."""
        self._env = env
        return self

    def namespace(self, namespace: str) -> ClientBuilder:
        """The namespace of the job's named actors."""
        self._namespace = namespace
        return self

    def connect(self) -> _runtime.RayContext:
        """``ray.init`` with what was collected; returns its context."""
        return _runtime.init(self.address, namespace=self._namespace, runtime_env=self._env,
                             **self._kwargs)

    def _init_args(self, **kwargs: Any) -> ClientBuilder:
        """Further ``init`` keywords (``ray.client(...)._init_args(log_to_driver=False)``)."""
        self._kwargs.update(kwargs)
        return self


def client(address: str | None = None, _deprecation_warn_enabled: bool = True) -> ClientBuilder:
    """A builder connecting to ``address`` (a Dask scheduler's; ``None``: a local cluster)."""
    return ClientBuilder(address)  # a ray:// address: connect() raises init's clear error
