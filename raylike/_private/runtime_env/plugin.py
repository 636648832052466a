"""Ray's ``ray._private.runtime_env.plugin``: the base class of runtime-environment plugins.

raylike does not load plugins (``RAY_RUNTIME_ENV_PLUGINS`` is not read): its runtime
environments are the fields ``raylike._api.runtime_env`` knows. The base class exists so that
code defining a plugin imports; nothing calls a plugin's methods.
"""
from __future__ import annotations

from typing import Any

from raylike._private.runtime_env.context import RuntimeEnvContext

__all__ = ["RuntimeEnvPlugin"]

RAY_WORKER_DEV_EXCLUDES: list[str] = []


class RuntimeEnvPlugin:
    """Ray's interface of a runtime-environment plugin (``name``, ``priority`` and the hooks
    Ray's agent calls). On raylike no agent calls them."""

    name: str = ""
    priority: int = 10  # Ray's default plugin priority (0 runs first)

    @staticmethod
    def validate(runtime_env_dict: dict[str, Any]) -> None:
        """Check the plugin's field of a runtime environment (Ray's hook)."""

    def get_uris(self, runtime_env: Any) -> list[str]:
        return []

    async def create(self, uri: str | None, runtime_env: Any, context: RuntimeEnvContext,
                     logger: Any = None) -> float:
        return 0.0

    def modify_context(self, uris: list[str], runtime_env: Any, context: RuntimeEnvContext,
                       logger: Any = None) -> None:
        """Change ``context`` for the worker being prepared (Ray's hook)."""

    def delete_uri(self, uri: str, logger: Any = None) -> float:
        return 0.0
