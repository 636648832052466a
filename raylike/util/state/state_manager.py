"""Ray's ``ray.util.state.state_manager``: the dashboard's gRPC client of the GCS and raylets.
raylike answers the state API from its Dask scheduler (``ray.util.state``); this client has no
service to call."""
from __future__ import annotations

from typing import Any, NoReturn

__all__ = ["StateDataSourceClient"]


class StateDataSourceClient:
    """Importable; making one raises ``NotImplementedError``."""

    def __init__(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise NotImplementedError(
            "ray.util.state.state_manager.StateDataSourceClient is not available on raylike: "
            "it has no gRPC services (use the public state API, ray.util.state)")
