"""``ray.client(address)``: Ray's builder API for connecting (``ClientBuilder``).

raylike has no Ray Client (``ray://``) protocol: a Dask scheduler address is reached directly,
so ``ray.client("tcp://host:8786").namespace("ns").connect()`` is ``ray.init`` with that address
and namespace, and returns its context. A ``ray://`` address is refused as ``init`` refuses it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from raylike._api import runtime as _runtime

__all__ = ["ClientBuilder", "ClientContext", "client"]


@dataclass
class ClientContext:
    """Ray's context of a Ray Client connection (what ``connect()`` returns in Ray). raylike's
    ``connect()`` returns ``init``'s ``RayContext`` instead, so no value is ever one of these;
    the class exists for ``isinstance`` checks."""

    dashboard_url: str | None
    python_version: str
    ray_version: str
    ray_commit: str
    _num_clients: int = 0
    _context_to_restore: Any = None
    protocol_version: str | None = None


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
