"""``ray.runtime_env``: ``RuntimeEnv`` and ``RuntimeEnvConfig``, the description of a runtime
environment (what ``runtime_env=`` takes and ``get_runtime_context().runtime_env`` returns).

raylike sets up ``env_vars``, ``working_dir``, ``py_modules``, ``pip``, ``uv`` (installed with
pip) and ``worker_process_setup_hook`` (``raylike._api.runtime_env``,
``raylike._process.env_setup``).

Differences from Ray: ``conda``, ``container``, ``image_uri``, ``java_jars`` and
``py_executable`` are checked as Ray checks them, but a task or actor that needs one fails
with ``RuntimeEnvSetupError``; ``working_dir``/``py_modules`` take local paths (at the job
level, as in Ray) and the URIs raylike gave them, not remote URIs (``s3://``, ``https://``).
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
        if log_files is not None and (not isinstance(log_files, list) or
                                      not all(isinstance(f, str) for f in log_files)):
            raise TypeError("log_files must be a list of strings or None, got "
                            f"{log_files} with type {type(log_files)}.")
        self["log_files"] = list(log_files or [])

    def to_dict(self) -> dict[str, Any]:
        return dict(self)


class RuntimeEnv(dict[str, Any]):
    """A runtime environment: a dict of its fields (``working_dir``, ``pip``, ``env_vars``,
    ...), checked and normalised as Ray does (``pip=["x"]`` reads back as ``{"packages":
    ["x"], "pip_check": False}``), with Ray's accessors. Unknown fields are kept (Ray's
    plugins) and have no effect."""

    known_fields = {"py_modules", "py_executable", "java_jars", "working_dir", "conda", "pip",
                    "uv", "container", "excludes", "env_vars", "config",
                    "worker_process_setup_hook", "_nsight", "_rocprof_sys", "image_uri"}

    def __init__(self, *, py_modules: list[str] | None = None, working_dir: str | None = None,
                 pip: Any = None, conda: Any = None, container: Any = None,
                 env_vars: dict[str, str] | None = None, worker_process_setup_hook: Any = None,
                 config: Any = None, _validate: bool = True, image_uri: str | None = None,
                 uv: Any = None, **fields: Any) -> None:
        super().__init__()
        named = {"py_modules": py_modules, "working_dir": working_dir, "pip": pip,
                 "conda": conda, "container": container, "env_vars": env_vars,
                 "worker_process_setup_hook": worker_process_setup_hook, "config": config,
                 "image_uri": image_uri, "uv": uv}
        for alias in ("nsight", "rocprof_sys"):  # Ray's keyword names of private fields
            if alias in fields:
                fields[f"_{alias}"] = fields.pop(alias)
        given = {**{k: v for k, v in named.items() if v is not None}, **fields}
        if not _validate:
            super().update(given)
            return
        from raylike._api import runtime_env as _runtime_env

        super().update(_runtime_env.parse(given) or {})

    def __setitem__(self, name: str, value: Any) -> None:
        from raylike._api import runtime_env as _runtime_env

        parsed = _runtime_env.parse_field(name, value)
        if parsed is not None:
            super().__setitem__(name, parsed)

    def set(self, name: str, value: Any) -> None:
        self[name] = value

    def get(self, name: str, default: Any = None, data_class: Any = None) -> Any:
        if name not in self:
            return default
        value = self[name]
        return data_class(**value) if data_class is not None else value

    @classmethod
    def deserialize(cls, serialized_runtime_env: str) -> RuntimeEnv:
        return cls(_validate=False, **json.loads(serialized_runtime_env or "{}"))

    def serialize(self) -> str:
        from raylike._api import runtime_env as _runtime_env

        return _runtime_env.serialize(dict(self))

    def to_dict(self) -> dict[str, Any]:
        return json.loads(self.serialize()) if self else {}

    def env_vars(self) -> dict[str, str]:
        return dict(super().get("env_vars") or {})

    def working_dir(self) -> str:
        return str(super().get("working_dir") or "")

    def has_working_dir(self) -> bool:
        return super().get("working_dir") is not None

    def working_dir_uri(self) -> str | None:
        return super().get("working_dir")

    def py_modules(self) -> list[str]:
        return list(super().get("py_modules") or [])

    def py_modules_uris(self) -> list[str]:
        return self.py_modules()

    def py_executable(self) -> str | None:
        return super().get("py_executable")

    def java_jars(self) -> list[str]:
        return list(super().get("java_jars") or [])

    def has_pip(self) -> bool:
        return bool(super().get("pip"))

    def pip_config(self) -> dict[str, Any]:
        pip = super().get("pip")
        return dict(pip) if isinstance(pip, dict) else {}

    def has_uv(self) -> bool:
        return bool(super().get("uv"))

    def uv_config(self) -> dict[str, Any]:
        uv = super().get("uv")
        return dict(uv) if isinstance(uv, dict) else {}

    def has_conda(self) -> bool:
        return bool(super().get("conda"))

    def conda_env_name(self) -> str | None:
        conda = super().get("conda")
        return conda if isinstance(conda, str) else None

    def conda_config(self) -> str | None:
        conda = super().get("conda")
        return json.dumps(conda, sort_keys=True) if isinstance(conda, dict) else None

    def image_uri(self) -> str | None:
        return super().get("image_uri")

    def plugins(self) -> list[tuple[str, Any]]:
        return [(k, v) for k, v in self.items() if k not in self.known_fields]
