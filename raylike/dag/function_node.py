"""``ray.dag.function_node``."""
from raylike._dag import FunctionNode

__all__ = ["FunctionNode"]
