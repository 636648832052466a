"""``ray.util``: helpers Ray users import by path.

``ray.util.queue``, ``ray.util.multiprocessing`` and ``ray.util.dask`` (raylike's Dask interop)
are imported on use. ``progress`` is raylike's own (Ray's core has no progress bar).
"""
import copyreg
import importlib
import sys
import types
from typing import Any

from raylike._api.actors import list_named_actors
from raylike._api.aliases import submodule_getattr
from raylike.util import check_serialize, scheduling_strategies, serialization
from raylike.util._progress import progress
from raylike.util.actor_pool import ActorPool
from raylike.util.check_serialize import inspect_serializability
from raylike.util.debug import disable_log_once_globally, enable_periodic_logging, log_once
from raylike.util.helpers import as_completed, map_unordered
from raylike.util.placement_group import (
    get_current_placement_group,
    get_placement_group,
    placement_group,
    placement_group_table,
    remove_placement_group,
)
from raylike.util.serialization import deregister_serializer, register_serializer

__all__ = ["ActorPool", "as_completed", "check_serialize", "deregister_serializer",
           "disable_log_once_globally", "enable_periodic_logging",
           "get_current_placement_group", "get_node_ip_address", "get_placement_group",
           "inspect_serializability", "list_named_actors", "log_once", "map_unordered",
           "placement_group", "placement_group_table", "progress", "register_serializer",
           "remove_placement_group", "scheduling_strategies", "serialization"]


def get_node_ip_address() -> str:
    """The IP address of the node the caller runs on (127.0.0.1 on the embedded cluster);
    before ``init``, this machine's address, as in Ray (no cluster is started)."""
    from raylike._api import state as _state
    from raylike._private import worker

    node = worker._global_node  # Ray's node of this process, None before init (as in Ray)
    if node is not None:
        return str(node.node_ip_address)
    return _state.host_ip_address()



__getattr__ = submodule_getattr(__name__)  # ray.util.state, ray.util.queue, ... on first use


class _UtilModule(types.ModuleType):
    """``ray.util``'s module type: ``placement_group`` stays the function even when the
    submodule of that name is imported again under another name (``ray.util.placement_group``
    through an alias of ``ray`` to ``raylike``), whose import would bind the submodule over it;
    in Ray the function is bound last too."""

    def __setattr__(self, name: str, value: Any) -> None:
        if isinstance(value, types.ModuleType) and callable(self.__dict__.get(name)):
            return
        super().__setattr__(name, value)


def _reduce_util(module: types.ModuleType) -> tuple[Any, tuple[str]]:
    return importlib.import_module, (module.__name__,)  # by name, as pickle takes modules


copyreg.pickle(_UtilModule, _reduce_util)  # cloudpickle knows only the exact module type
sys.modules[__name__].__class__ = _UtilModule
