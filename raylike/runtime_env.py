"""``ray.runtime_env``: ``RuntimeEnv`` and ``RuntimeEnvConfig``, the description of a runtime
environment (what ``get_runtime_context().runtime_env`` returns).

Differences from Ray: raylike does not set up runtime environments (the ``runtime_env`` option
is accepted with a warning); these classes only hold and serialize the description.
"""
from __future__ import annotations

import json
from typing import Any

__all__ = ["RuntimeEnv", "RuntimeEnvConfig"]


class RuntimeEnvConfig(dict[str, Any]):
    """Options of a runtime environment's set-up (``setup_timeout_seconds``, ...)."""

    def __init__(self, setup_timeout_seconds: int = 600, eager_install: bool = True,
                 log_files: list[str] | None = None) -> None:
        super().__init__()
        if not isinstance(setup_timeout_seconds, int):
            raise TypeError("setup_timeout_seconds must be of type int, got: "
                            f"{type(setup_timeout_seconds)}")
        if setup_timeout_seconds <= 0 and setup_timeout_seconds != -1:
            raise ValueError("setup_timeout_seconds must be greater than zero or equals to -1, "
                             f"got: {setup_timeout_seconds}")
        if not isinstance(eager_install, bool):
            raise TypeError(f"eager_install must be a boolean. got {type(eager_install)}")
        self["setup_timeout_seconds"] = setup_timeout_seconds
        self["eager_install"] = eager_install
        if log_files is not None:
            self["log_files"] = list(log_files)

    def to_dict(self) -> dict[str, Any]:
        return dict(self)


class RuntimeEnv(dict[str, Any]):
    """A runtime environment: a dict of its fields (``working_dir``, ``pip``, ``env_vars``,
    ...), with Ray's accessors."""

    def __init__(self, *, _validate: bool = True, **fields: Any) -> None:
        super().__init__()
        for name, value in fields.items():
            if value is not None:
                self[name] = value

    @classmethod
    def deserialize(cls, serialized_runtime_env: str) -> RuntimeEnv:
        return cls(_validate=False, **json.loads(serialized_runtime_env or "{}"))

    def serialize(self) -> str:
        return json.dumps(dict(self), sort_keys=True)

    def to_dict(self) -> dict[str, Any]:
        return dict(self)

    def set(self, name: str, value: Any) -> None:
        self[name] = value

    def env_vars(self) -> dict[str, str]:
        return dict(super().get("env_vars") or {})

    def working_dir(self) -> str:
        return str(super().get("working_dir") or "")

    def py_modules(self) -> list[str]:
        return list(super().get("py_modules") or [])

    def has_working_dir(self) -> bool:
        return bool(super().get("working_dir"))
