"""``ray.experimental``: ``tqdm_ray``, ``internal_kv`` (the cluster's key-value store) and
``state`` (the state API's old path). Submodules are reachable as attributes, imported on
first use."""
from raylike._api.aliases import submodule_getattr

__all__: list[str] = []
__getattr__ = submodule_getattr(__name__)
