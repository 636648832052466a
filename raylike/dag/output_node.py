"""``ray.dag.output_node``."""
from raylike._api.dag import MultiOutputNode

__all__ = ["MultiOutputNode"]
