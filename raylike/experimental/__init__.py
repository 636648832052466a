"""``ray.experimental``: ``tqdm_ray``, ``internal_kv`` (the cluster's key-value store),
``state`` (the state API's old path) and ``get_object_locations``. Submodules are reachable as
attributes, imported on first use."""
from raylike._api.aliases import submodule_getattr
from raylike.experimental.locations import get_local_object_locations, get_object_locations

__all__: list[str] = ["get_local_object_locations", "get_object_locations"]
__getattr__ = submodule_getattr(__name__)
