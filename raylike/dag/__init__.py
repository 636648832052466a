"""``ray.dag``: Ray's lazy DAG API (``.bind()`` and ``execute``); see ``raylike._api.dag``.

Differences from Ray: compiled graphs (``experimental_compile``), collective nodes and
``plot`` are not provided.
"""
from raylike._api.dag import (
    ClassMethodNode,
    ClassNode,
    DAGInputData,
    DAGNode,
    FunctionNode,
    InputAttributeNode,
    InputNode,
    MultiOutputNode,
)

__all__ = [
    "ClassMethodNode",
    "ClassNode",
    "DAGInputData",
    "DAGNode",
    "FunctionNode",
    "InputAttributeNode",
    "InputNode",
    "MultiOutputNode",
]
