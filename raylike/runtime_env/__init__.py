"""``ray.runtime_env``: ``RuntimeEnv`` and ``RuntimeEnvConfig`` (defined in
``ray.runtime_env.runtime_env``, as in Ray)."""
from raylike.runtime_env.runtime_env import RuntimeEnv, RuntimeEnvConfig

__all__ = ["RuntimeEnv", "RuntimeEnvConfig"]
