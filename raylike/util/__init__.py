"""``ray.util``: helpers Ray users import by path."""
from raylike.util import scheduling_strategies

__all__ = ["scheduling_strategies"]
