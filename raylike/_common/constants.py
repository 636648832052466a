"""Ray's ``ray._common.constants``: resource names and environment variables (Ray 2.60's
values)."""
NODE_ID_PREFIX = "node:"
HEAD_NODE_RESOURCE_NAME = NODE_ID_PREFIX + "__internal_head__"
RAY_WARN_BLOCKING_GET_INSIDE_ASYNC_ENV_VAR = "RAY_WARN_BLOCKING_GET_INSIDE_ASYNC"

__all__ = ["HEAD_NODE_RESOURCE_NAME", "NODE_ID_PREFIX",
           "RAY_WARN_BLOCKING_GET_INSIDE_ASYNC_ENV_VAR"]
