"""``ray.dag.dag_node``."""
from raylike._api.dag import DAGNode

__all__ = ["DAGNode"]
