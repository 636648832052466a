"""``ray.util.state.StateApiClient``: the state API as an object bound to one cluster (Ray's
developer API), over the same queries as ``ray.util.state``'s functions (``api``)."""
from __future__ import annotations

from typing import Any

from raylike.util.state import api as _api
from raylike.util.state.common import ListApiOptions, StateResource

__all__ = ["StateApiClient"]

_GETTERS = {StateResource.ACTORS: _api.get_actor, StateResource.TASKS: _api.get_task,
            StateResource.NODES: _api.get_node, StateResource.WORKERS: _api.get_worker,
            StateResource.PLACEMENT_GROUPS: _api.get_placement_group,
            StateResource.OBJECTS: _api.get_objects}


class StateApiClient:
    """Lists and gets state rows of the cluster at ``address`` (default: this process's)."""

    def __init__(self, address: str | None = None) -> None:
        self.address = address

    def list(self, resource: str, options: ListApiOptions, raise_on_missing_output: bool,
             _explain: bool = False) -> list[Any]:
        """The rows of ``resource`` (a ``StateResource``) that ``options`` select."""
        return _api._list(str(resource), self.address, options.filters, options.limit,
                          options.timeout, options.detail, raise_on_missing_output,
                          exclude_driver=options.exclude_driver)

    def get(self, resource: str, id: str, options: Any = None, _explain: bool = False) -> Any:
        """The row (or rows, for objects and retried tasks) of ``resource`` with id ``id``."""
        getter = _GETTERS.get(str(resource))
        if getter is None:
            raise ValueError(f"Cannot get {resource}: not one of {sorted(_GETTERS)}.")
        timeout = getattr(options, "timeout", _api.DEFAULT_RPC_TIMEOUT)
        return getter(id, address=self.address, timeout=timeout)
