"""Ray's ``ray._private.runtime_env.context``: the context a runtime-environment plugin fills in
(``RuntimeEnvContext``). raylike loads no plugins (see ``plugin``); the class exists so that
code written against Ray's plugin interface imports."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["RuntimeEnvContext"]


@dataclass
class RuntimeEnvContext:
    """What a plugin's ``modify_context`` may change for the worker it prepares: environment
    variables, the Python executable, a command prefix, ``sys.path`` additions."""

    env_vars: dict[str, str] = field(default_factory=dict)
    py_executable: str | None = None
    command_prefix: list[str] = field(default_factory=list)
    override_worker_entrypoint: str | None = None
    java_jars: list[str] = field(default_factory=list)
    resources_dir: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
