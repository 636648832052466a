"""``ray.util.client.server.server``: Ray Client's server process (unavailable on raylike)."""
from raylike._private._unavailable import unavailable
from raylike.util.client import NO_CLIENT

__all__ = ["serve"]

serve = unavailable("ray.util.client.server.server.serve", NO_CLIENT)
