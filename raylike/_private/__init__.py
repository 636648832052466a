"""Ray's ``ray._private``, reduced to what Ray's own test suite and programs import: test
helpers, constants, and Ray's internal modules where raylike has an answer (``worker``,
``state``, ``services``, ...) or a clear refusal. Nothing here is public API, as in Ray.
Submodules are reachable as attributes, imported on first use."""
from raylike._api.aliases import submodule_getattr

__all__: list[str] = []
__getattr__ = submodule_getattr(__name__)
