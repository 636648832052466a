"""``ray.core.generated.common_pb2``: Ray's shared enums (Ray 2.60's values); its messages
have no raylike counterpart."""
from raylike._private._unavailable import ProtoEnum, message

__all__ = ["ErrorType", "Language", "NodeDeathInfo", "TaskSpec", "TaskStatus", "TaskType",
           "WorkerType"]


class TaskStatus(ProtoEnum):
    NIL = 0
    PENDING_ARGS_AVAIL = 1
    PENDING_NODE_ASSIGNMENT = 2
    PENDING_OBJ_STORE_MEM_AVAIL = 3
    PENDING_ARGS_FETCH = 4
    SUBMITTED_TO_WORKER = 5
    PENDING_ACTOR_TASK_ARGS_FETCH = 6
    PENDING_ACTOR_TASK_ORDERING_OR_CONCURRENCY = 7
    RUNNING = 8
    RUNNING_IN_RAY_GET = 9
    RUNNING_IN_RAY_WAIT = 10
    FINISHED = 11
    FAILED = 12
    GETTING_AND_PINNING_ARGS = 13


class TaskType(ProtoEnum):
    NORMAL_TASK = 0
    ACTOR_CREATION_TASK = 1
    ACTOR_TASK = 2
    DRIVER_TASK = 3


class WorkerType(ProtoEnum):
    WORKER = 0
    DRIVER = 1
    SPILL_WORKER = 2
    RESTORE_WORKER = 3


class Language(ProtoEnum):
    PYTHON = 0
    JAVA = 1
    CPP = 2


class ErrorType(ProtoEnum):
    WORKER_DIED = 0
    ACTOR_DIED = 1
    TASK_EXECUTION_EXCEPTION = 3
    OBJECT_IN_PLASMA = 4
    TASK_CANCELLED = 5
    ACTOR_CREATION_FAILED = 6
    RUNTIME_ENV_SETUP_FAILED = 7
    OBJECT_LOST = 8
    OWNER_DIED = 9
    OBJECT_DELETED = 10
    DEPENDENCY_RESOLUTION_FAILED = 11
    OBJECT_UNRECONSTRUCTABLE_MAX_ATTEMPTS_EXCEEDED = 12
    OBJECT_UNRECONSTRUCTABLE_LINEAGE_EVICTED = 13
    OBJECT_FETCH_TIMED_OUT = 14
    LOCAL_RAYLET_DIED = 15
    TASK_PLACEMENT_GROUP_REMOVED = 16
    ACTOR_PLACEMENT_GROUP_REMOVED = 17
    TASK_UNSCHEDULABLE_ERROR = 18
    ACTOR_UNSCHEDULABLE_ERROR = 19
    OUT_OF_DISK_ERROR = 20
    OBJECT_FREED = 21
    OUT_OF_MEMORY = 22
    NODE_DIED = 23
    END_OF_STREAMING_GENERATOR = 24
    ACTOR_UNAVAILABLE = 25
    GENERATOR_TASK_FAILED_FOR_OBJECT_RECONSTRUCTION = 26
    OBJECT_UNRECONSTRUCTABLE_PUT = 27
    OBJECT_UNRECONSTRUCTABLE_RETRIES_DISABLED = 28
    OBJECT_UNRECONSTRUCTABLE_BORROWED = 29
    OBJECT_UNRECONSTRUCTABLE_REF_NOT_FOUND = 30
    OBJECT_UNRECONSTRUCTABLE_TASK_CANCELLED = 31
    OBJECT_UNRECONSTRUCTABLE_LINEAGE_DISABLED = 32
    WORKER_STARTUP_FAILED = 33
    STREAMING_GENERATOR_REPLAY_INCONSISTENT = 34


class _NodeDeathReason(ProtoEnum):
    UNSPECIFIED = 0
    EXPECTED_TERMINATION = 1
    UNEXPECTED_TERMINATION = 2
    AUTOSCALER_DRAIN_PREEMPTED = 3
    AUTOSCALER_DRAIN_IDLE = 4


class NodeDeathInfo:
    """Ray's ``NodeDeathInfo`` message, for its ``Reason`` enum (``ray.nodes()``'s
    ``DeathReason`` values)."""

    Reason = _NodeDeathReason


# protobuf puts a top-level enum's values in the module too (common_pb2.WORKER)
globals().update({m.name: m for enum in (WorkerType, Language, TaskType) for m in enum})
TaskSpec = message("common_pb2.TaskSpec", "raylike's tasks are Dask tasks, not Ray task specs")
