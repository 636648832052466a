"""``ray.dag.input_node``."""
from raylike._api.dag import DAGInputData, InputAttributeNode, InputNode

__all__ = ["DAGInputData", "InputAttributeNode", "InputNode"]
