"""``ray._raylet``: Ray's module path for its core classes, importable by name (``from
ray._raylet import ObjectRefGenerator``). The classes are those of ``raylike._api.raylet``
(refs, generators, ``GcsClient``) and the ids of ``raylike._api.ids``; ``ObjectID`` is
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
from raylike._api.raylet import (
    STREAMING_GENERATOR_RETURN,
    DynamicObjectRefGenerator,
    GcsClient,
    ObjectRef,
    ObjectRefGenerator,
    ObjectRefStreamEndOfStreamError,
    StreamingObjectRefGenerator,
)

ObjectID = ObjectRef

__all__ = ["STREAMING_GENERATOR_RETURN", "ActorClassID", "ActorID", "ClusterID",
           "DynamicObjectRefGenerator", "FunctionID", "GcsClient", "JobID", "NodeID", "ObjectID",
           "ObjectRef", "ObjectRefGenerator", "ObjectRefStreamEndOfStreamError",
           "PlacementGroupID", "StreamingObjectRefGenerator", "TaskID", "UniqueID", "WorkerID"]
