"""``ray.dag.input_node``."""
from raylike._dag import DAGInputData, InputAttributeNode, InputNode

__all__ = ["DAGInputData", "InputAttributeNode", "InputNode"]
