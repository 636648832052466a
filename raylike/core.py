"""``ray.core``: in Ray, its generated protocol code; raylike has none (it speaks Dask's)."""
__all__: list[str] = []
