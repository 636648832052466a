"""``ray.dag.dag_node``."""
from raylike._dag import DAGNode

__all__ = ["DAGNode"]
