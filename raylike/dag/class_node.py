"""``ray.dag.class_node``."""
from raylike._dag import ClassMethodNode, ClassNode

__all__ = ["ClassMethodNode", "ClassNode"]
