"""``ray.experimental``: only ``tqdm_ray`` (imported by path) exists in raylike."""
__all__: list[str] = []
