"""``ray.dag.class_node``."""
from raylike._api.dag import ClassMethodNode, ClassNode

__all__ = ["ClassMethodNode", "ClassNode"]
