"""``ray.job_config``: ``JobConfig``, the settings of a job passed to ``ray.init(job_config=)``.

raylike honours ``ray_namespace`` (the job's namespace when ``init`` names none),
``runtime_env`` and ``default_actor_lifetime`` (the lifetime of the job's actors created without
``lifetime=``); the other settings (Java options, code search path, lineage) are kept and have
no effect.
"""
from __future__ import annotations

from typing import Any

__all__ = ["JobConfig"]


class JobConfig:
    """The settings of one job (driver)."""

    def __init__(self, jvm_options: list[str] | None = None,
                 code_search_path: list[str] | None = None,
                 runtime_env: dict[str, Any] | None = None, _client_job: bool = False,
                 metadata: dict[str, str] | None = None, ray_namespace: str | None = None,
                 default_actor_lifetime: str = "non_detached",
                 _disable_job_level_lineage_reconstruction: bool = False,
                 _py_driver_sys_path: list[str] | None = None) -> None:
        self.jvm_options = jvm_options or []
        self.code_search_path = code_search_path or []
        self.runtime_env = runtime_env or {}
        self.metadata = metadata or {}
        self.ray_namespace = ray_namespace
        self.set_default_actor_lifetime(default_actor_lifetime)
        self._client_job = _client_job
        self._py_driver_sys_path = _py_driver_sys_path or []

    def set_metadata(self, key: str, value: str) -> None:
        self.metadata[key] = value

    def set_ray_namespace(self, ray_namespace: str) -> None:
        self.ray_namespace = ray_namespace

    def set_runtime_env(self, runtime_env: dict[str, Any] | None,
                        validate: bool = False) -> None:
        self.runtime_env = runtime_env or {}

    def set_default_actor_lifetime(self, default_actor_lifetime: str) -> None:
        if default_actor_lifetime not in ("detached", "non_detached"):
            raise ValueError("Default actor lifetime must be one of `detached`, "
                             "`non_detached`")
        self.default_actor_lifetime = default_actor_lifetime

    def to_json(self) -> dict[str, Any]:
        return {"runtime_env": self.runtime_env, "metadata": self.metadata,
                "ray_namespace": self.ray_namespace,
                "default_actor_lifetime": self.default_actor_lifetime}

    @classmethod
    def from_json(cls, job_config_json: dict[str, Any]) -> JobConfig:
        return cls(**{k: v for k, v in job_config_json.items()
                      if k in ("runtime_env", "metadata", "ray_namespace",
                               "default_actor_lifetime")})
