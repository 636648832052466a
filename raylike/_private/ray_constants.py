"""Ray's named constants (``ray._private.ray_constants``) that programs and tests compare
against: error types pushed to drivers, process names, defaults. Values are Ray 2.60's."""
from __future__ import annotations

import os

ID_SIZE = 28
DEFAULT_PORT = 6379
DEFAULT_DASHBOARD_PORT = 8265
DEFAULT_DASHBOARD_AGENT_LISTEN_PORT = 52365
RAY_ADDRESS_ENVIRONMENT_VARIABLE = "RAY_ADDRESS"
RESOURCES_ENVIRONMENT_VARIABLE = "RAY_OVERRIDE_RESOURCES"  # a node's resources (JSON)
LABELS_ENVIRONMENT_VARIABLE = "RAY_OVERRIDE_LABELS"  # a node's labels (JSON)
RAY_NAMESPACE_ENVIRONMENT_VARIABLE = "RAY_NAMESPACE"
RAY_OVERRIDE_DASHBOARD_URL = "RAY_OVERRIDE_DASHBOARD_URL"
REDIS_DEFAULT_USERNAME = ""
REDIS_DEFAULT_PASSWORD = ""
NUM_REDIS_GET_RETRIES = 20
ENABLE_RAY_CLUSTER = True
# ``init``'s default for ``log_to_driver`` (read when this module is imported, as Ray does)
RAY_LOG_TO_DRIVER = os.environ.get("RAY_LOG_TO_DRIVER", "true").lower() in ("true", "1")
DEFAULT_RESOURCES = {"CPU", "GPU", "memory", "object_store_memory"}

# keys of the autoscaler's debug records in the internal key-value store
DEBUG_AUTOSCALING_ERROR = "__autoscaling_error"
DEBUG_AUTOSCALING_STATUS = "__autoscaling_status"
DEBUG_AUTOSCALING_STATUS_LEGACY = "__autoscaling_status_legacy"
DEFAULT_TASK_MAX_RETRIES = 3
FUNCTION_SIZE_WARN_THRESHOLD = 10**7
DEFAULT_OBJECT_STORE_MEMORY_PROPORTION = 0.3
DEFAULT_OBJECT_STORE_MAX_MEMORY_BYTES = 200 * 10**9
OBJECT_STORE_MINIMUM_MEMORY_BYTES = 75 * 1024 * 1024
REQUIRE_SHM_SIZE_THRESHOLD = 10**10
MAC_DEGRADED_PERF_MMAP_SIZE_LIMIT = 2 * 2**30
KV_NAMESPACE_FUNCTION_TABLE = b"fun"
TESTING_NEVER_DEDUP_TOKEN = "__ray_testing_never_deduplicate__"
LOGGER_FORMAT = "%(asctime)s\t%(levelname)s %(filename)s:%(lineno)s -- %(message)s"
LOGGER_LEVEL = "info"

# error types of the messages Ray pushes to drivers
WORKER_DIED_PUSH_ERROR = "worker_died"
WORKER_CRASH_PUSH_ERROR = "worker_crash"
WORKER_POOL_LARGE_ERROR = "worker_pool_large"
PICKLING_LARGE_OBJECT_PUSH_ERROR = "pickling_large_object"
PUT_RECONSTRUCTION_PUSH_ERROR = "put_reconstruction"
DASHBOARD_AGENT_DIED_ERROR = "dashboard_agent_died"
MONITOR_DIED_ERROR = "monitor_died"
REMOVED_NODE_ERROR = "node_removed"
EXCESS_QUEUEING_WARNING = "excess_queueing_warning"
DETACHED_ACTOR_ANONYMOUS_NAMESPACE_ERROR = "detached_actor_anonymous_namespace"

# process names
PROCESS_TYPE_WORKER = "worker"
PROCESS_TYPE_RAYLET = "raylet"
PROCESS_TYPE_GCS_SERVER = "gcs_server"
PROCESS_TYPE_MONITOR = "monitor"
PROCESS_TYPE_DASHBOARD = "dashboard"
PROCESS_TYPE_DASHBOARD_AGENT = "dashboard_agent"
WORKER_PROCESS_TYPE_IDLE_WORKER = "ray::IDLE"
AGENT_PROCESS_TYPE_DASHBOARD_AGENT = "ray::DashboardAgent"
AGENT_PROCESS_TYPE_RUNTIME_ENV_AGENT = "ray::RuntimeEnvAgent"
AGENT_PROCESS_LIST = [AGENT_PROCESS_TYPE_DASHBOARD_AGENT, AGENT_PROCESS_TYPE_RUNTIME_ENV_AGENT]
# Ray records where each task's log lines start (``task_log_info``) when this is set; raylike
# records no such offsets, so it is off whatever ``RAY_ENABLE_RECORD_ACTOR_TASK_LOGGING`` says
RAY_ENABLE_RECORD_ACTOR_TASK_LOGGING = False
# the directory under a spill directory that holds a node's spilled objects: <prefix>_<node id>
DEFAULT_OBJECT_PREFIX = "ray_spilled_objects"
