"""``ray.util``: helpers Ray users import by path (``ray.util.queue`` is imported on use)."""
from raylike.util import scheduling_strategies
from raylike.util.actor_pool import ActorPool

__all__ = ["ActorPool", "scheduling_strategies"]
