"""``ray.dag.function_node``."""
from raylike._api.dag import FunctionNode

__all__ = ["FunctionNode"]
