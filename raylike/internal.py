"""``ray.internal``: empty in Ray 2.60 as here."""
__all__: list[str] = []
