"""``ray.util.client.ray_client_helpers``: test helpers that start a Ray Client server; raylike
has none, so entering them raises."""
from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from raylike.util.client import NO_CLIENT

__all__ = ["ray_start_client_server", "ray_start_client_server_for_address",
           "ray_start_client_server_pair", "ray_start_cluster_client_server_pair"]


@contextlib.contextmanager
def ray_start_client_server(*_: Any, **__: Any) -> Iterator[Any]:
    raise NotImplementedError(NO_CLIENT)
    yield  # a generator, for the decorator


ray_start_client_server_for_address = ray_start_client_server
ray_start_client_server_pair = ray_start_client_server
ray_start_cluster_client_server_pair = ray_start_client_server
