"""``ray.util.client.server``: Ray Client's server (unavailable on raylike)."""
__all__: list[str] = []
