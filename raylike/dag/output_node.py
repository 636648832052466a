"""``ray.dag.output_node``."""
from raylike._dag import MultiOutputNode

__all__ = ["MultiOutputNode"]
