"""``ray.autoscaler._private``: Ray's autoscaler internals; see ``raylike.autoscaler``."""
__all__: list[str] = []
