"""``ray.widgets``: Ray's Jupyter rendering helpers; raylike has none (``RayContext`` has a
plain ``repr``)."""
__all__: list[str] = []
