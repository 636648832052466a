"""``ray.types``: the ``ObjectRef`` type for annotations (``from ray.types import ObjectRef``)."""
from raylike._api.objects import ObjectRef

__all__ = ["ObjectRef"]
