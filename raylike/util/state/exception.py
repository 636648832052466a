"""``ray.util.state.exception``: the state API's errors."""
from __future__ import annotations

__all__ = ["DataSourceUnavailable", "RayStateApiException", "ServerUnavailable"]


class DataSourceUnavailable(Exception):
    """A source of state (a node) did not answer."""


class RayStateApiException(Exception):
    """Raised by the state API when a query fails: a bad filter column, missing output."""


class ServerUnavailable(RayStateApiException):
    """Raised when no cluster answers the query."""
