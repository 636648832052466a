"""``ray._raylet``: Ray's module path for its core classes, importable by name (``from
ray._raylet import ObjectRefGenerator``, ``GcsClient``). The names are those of
:mod:`raylike._api.raylet` (refs, generators, ``GcsClient``, ...; ``ray._raylet`` is that
module as an attribute too) and the ids of ``raylike._api.ids``; ``ObjectID`` is
``ObjectRef``, as in Ray.
"""
from raylike._api.ids import (
    ActorClassID,
    ActorID,
    ClusterID,
    FunctionID,
    JobID,
    NodeID,
    PlacementGroupID,
    TaskID,
    UniqueID,
    WorkerID,
)
from raylike._api.raylet import *  # noqa: F403
from raylike._api.raylet import ObjectRef
from raylike._api.raylet import __all__ as _raylet_names

ObjectID = ObjectRef

__all__ = [*_raylet_names, "ActorClassID", "ActorID", "ClusterID", "FunctionID", "JobID",
           "NodeID", "ObjectID", "PlacementGroupID", "TaskID", "UniqueID", "WorkerID"]
