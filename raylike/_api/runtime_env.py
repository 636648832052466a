"""Runtime environments (``runtime_env``): their fields checked as Ray checks them, merged as
Ray merges them, and the environment in effect for the calling driver, task or actor.

An environment travels as a plain dict (Ray's normalised form: ``pip`` as ``{"packages": ...,
"pip_check": ...}``, local paths of the job's ``working_dir``/``py_modules`` replaced by the
URIs of their uploaded packages, ``raylike._dask.worker.packages``). A call carries its *effective*
environment: its own option merged over its parent's (the calling task's or actor's, or the
job's), so nested tasks inherit without asking anyone. The node sets it up
(``raylike._process.env_setup``) in a process kept for that environment only.
"""
from __future__ import annotations

import hashlib
import json
import os
import types
from collections import OrderedDict
from typing import Any

# fields raylike sets up; the others Ray knows are refused when a task needs them (see
# ``_env_setup``); unknown names are plugins: kept, and ignored as Ray ignores unknown plugins
SUPPORTED = ("env_vars", "working_dir", "py_modules", "pip", "uv", "excludes", "config",
             "worker_process_setup_hook")
UNSUPPORTED = ("conda", "container", "image_uri", "java_jars", "py_executable", "_nsight",
               "_rocprof_sys", "mpi")
PIP_KEYS = ("packages", "pip_check", "pip_install_options", "pip_version")
UV_KEYS = ("packages", "uv_check", "uv_version", "uv_pip_install_options")


def _is_uri(value: str) -> bool:
    scheme, sep, _ = value.partition("://")
    return bool(sep) and scheme.isidentifier() and len(scheme) > 1


def _requirements_file(path: str) -> list[str]:
    if not os.path.isfile(path):
        raise ValueError(f"{path} is not a valid file")
    with open(path) as f:
        lines = [line.strip() for line in f.read().strip().split("\n")]
    return [line for line in lines if line and not line.startswith("#")]


def _check_path(path: str) -> None:
    if not os.path.exists(path):
        raise ValueError(f"{path} is not a valid path.")


def _env_vars(value: Any) -> dict[str, str] | None:
    if not isinstance(value, dict):
        raise TypeError(f"runtime_env['env_vars'] must be of type Dict[str, str], got "
                        f"{type(value)}")
    for key, val in value.items():
        if not isinstance(key, str):
            raise TypeError("runtime_env['env_vars'] must be of type Dict[str, str], but the "
                            f"key {key} is of type {type(key)}")
        if not isinstance(val, str):
            raise TypeError("runtime_env['env_vars'] must be of type Dict[str, str], but the "
                            f"value {val} is of type {type(val)}")
    return dict(value) or None


def _working_dir(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"`working_dir` must be a string, got {type(value)}.")
    return _checked_place(value, "working_dir")


# the archives a remote URI may name, per field (Ray 2.60's)
PACKAGE_EXTENSIONS = {"working_dir": (".zip", ".tar.gz", ".tgz", ".tar.xz"),
                      "py_modules": (".zip", ".whl", ".tar.gz", ".tgz", ".tar.xz")}


def _checked_place(place: str, field: str) -> str:
    """A local path (it must exist) or a remote URI (of an archive Ray accepts)."""
    if _is_uri(place):
        _check_package_uri(place, field)
    else:
        _check_path(place)
    return place


def _check_package_uri(uri: str, field: str) -> None:
    if not uri.endswith(PACKAGE_EXTENSIONS[field]):
        raise ValueError(f"Only {', '.join(PACKAGE_EXTENSIONS[field])} files are supported "
                         f"for {field} URIs; got {uri}.")


def _py_module(module: Any) -> str:
    """A ``py_modules`` entry as a string: a path (``str`` or ``Path``), a URI, or an
    imported module (its package's directory, or its file)."""
    if isinstance(module, types.ModuleType):
        file = getattr(module, "__file__", None)
        if not file:
            raise ValueError(f"The module {module.__name__} has no file to upload.")
        return os.path.dirname(file) if os.path.basename(file) == "__init__.py" else file
    if isinstance(module, os.PathLike):
        module = os.fspath(module)
    if not isinstance(module, str):
        raise TypeError(f"`py_module` must be a string, got {type(module)}.")
    return _checked_place(module, "py_modules")


def _py_modules(value: Any) -> list[str]:
    if not isinstance(value, list):
        raise TypeError(f"`py_modules` must be a list of strings, got {type(value)}.")
    return [_py_module(module) for module in value]


def _string_list(value: Any, what: str) -> None:
    if not isinstance(value, list):
        raise TypeError(f"{what} must be of type list[str] got {type(value)}")
    for i, item in enumerate(value):
        if not isinstance(item, str):
            raise TypeError(f"{what} must be of type list[str] got {type(item)} for {i}-th item.")


def _installer(value: Any, field: str) -> dict[str, Any] | None:
    """``pip`` or ``uv``: a list of requirements, a requirements file, or a dict; normalised
    to a dict with ``packages`` (duplicates dropped) and ``<field>_check``."""
    check, keys = f"{field}_check", PIP_KEYS if field == "pip" else UV_KEYS
    if isinstance(value, str):
        result: dict[str, Any] = {"packages": _requirements_file(value), check: False}
    elif isinstance(value, list) and all(isinstance(v, str) for v in value):
        result = {"packages": list(value), check: False}
    elif isinstance(value, dict):
        extra = set(value) - set(keys)
        if extra:
            raise ValueError(f"runtime_env['{field}'] can only have these fields: "
                             f"{', '.join(keys)}, but got: {list(value)}")
        if "packages" not in value:
            raise ValueError(f"runtime_env['{field}'] must include field 'packages', but got "
                             f"{value}")
        if not isinstance(value.get(check, False), bool):
            raise TypeError(f"runtime_env['{field}']['{check}'] must be of type bool, got "
                            f"{type(value[check])}")
        version = f"{field}_version"
        if version in value and not isinstance(value[version], str):
            raise TypeError(f"runtime_env['{field}']['{version}'] must be of type str, got "
                            f"{type(value[version])}")
        options = "pip_install_options" if field == "pip" else "uv_pip_install_options"
        if options in value:
            _string_list(value[options], f"runtime_env['{field}']['{options}']")
        result = {**value, check: value.get(check, False)}
        packages = value["packages"]
        if isinstance(packages, str) and field == "pip":
            result["packages"] = _requirements_file(packages)
        elif not isinstance(packages, list):
            raise ValueError(f"runtime_env['{field}']['packages'] must be of type str of list, "
                             f"got: {type(packages)}")
        else:
            _string_list(packages, f"runtime_env['{field}']['packages']")
    else:
        raise TypeError(f"runtime_env['{field}'] must be of type str or List[str], got "
                        f"{type(value)}")
    result["packages"] = list(OrderedDict.fromkeys(result["packages"]))
    return result if result["packages"] else None


def _excludes(value: Any) -> list[str] | None:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise TypeError(f"runtime_env['excludes'] must be of type List[str], got {type(value)}")
    return list(value) or None


def _config(value: Any) -> dict[str, Any]:
    from raylike.runtime_env import RuntimeEnvConfig

    if isinstance(value, RuntimeEnvConfig):
        return dict(value)
    if not isinstance(value, dict):
        raise TypeError("runtime_env['config'] must be of type dict or RuntimeEnvConfig, got: "
                        f"{type(value)}")
    known = ("setup_timeout_seconds", "eager_install", "log_files")
    return dict(RuntimeEnvConfig(**{k: v for k, v in value.items() if k in known}))


def _conda(value: Any) -> Any:
    if not isinstance(value, (str, dict)):
        raise TypeError(f"runtime_env['conda'] must be of type str or dict, got {type(value)}.")
    return value


FIELDS: dict[str, Any] = {
    "env_vars": _env_vars, "working_dir": _working_dir, "py_modules": _py_modules,
    "pip": lambda v: _installer(v, "pip"), "uv": lambda v: _installer(v, "uv"),
    "excludes": _excludes, "config": _config, "conda": _conda,
}


def parse_field(name: str, value: Any) -> Any:
    """One field, checked and normalised as Ray does (``None``: the field is dropped)."""
    check = FIELDS.get(name)
    return value if check is None or value is None else check(value)


def parse(env: Any, job: bool = False) -> dict[str, Any] | None:
    """A ``runtime_env`` option (a dict or ``RuntimeEnv``) checked and normalised; ``None`` for
    an empty one; ``job``: the job's (``ray.init``). Raises Ray's ``TypeError``/``ValueError``."""
    if env is None:
        return None
    work = env.get("working_dir") if job and isinstance(env, dict) else None
    if isinstance(work, str) and not _is_uri(work) and not (
            os.path.isdir(work) or os.path.isfile(work) and work.endswith(".zip")):
        raise ValueError(f"directory {work} must be an existing directory or a supported "
                         "archive (.zip)")
    if not isinstance(env, dict):
        raise TypeError("The type of keyword 'runtime_env' must be (<class 'dict'>, <class "
                        f"'NoneType'>), but received type {type(env)}")
    installers = [k for k in ("pip", "uv", "conda") if env.get(k) is not None]
    if len(installers) > 1:
        raise ValueError("The 'pip' field, 'uv' field, and 'conda' field of runtime_env cannot "
                         f"be specified at the same time (got {', '.join(installers)}). To use "
                         "pip with conda, only set the 'conda' field and list your pip "
                         "dependencies in its YAML config.")
    for solo in ("container", "image_uri"):
        if env.get(solo):
            others = set(env) - {solo, "config", "env_vars"}
            if others:
                raise ValueError(f"The '{solo}' field currently cannot be used together with "
                                 f"other fields of runtime_env. Specified fields: {others}")
    result: dict[str, Any] = {}
    for name, value in env.items():
        parsed = parse_field(name, value)
        if parsed is not None:
            result[name] = parsed
    return result or None


def check_option(name: str, value: Any) -> None:
    """The ``runtime_env`` keyword of ``@ray.remote``/``.options()`` (``_options``): Ray
    uploads local directories only for the job (``ray.init``)."""
    env = parse(value)
    for field in ("working_dir", "py_modules"):
        items = (env or {}).get(field)
        for item in items if isinstance(items, list) else [items] if items else []:
            if not _is_uri(item):
                raise ValueError(f"{item} is not a valid URI. Passing directories or modules "
                                 "to be dynamically uploaded is only supported at the job "
                                 "level (i.e., passed to `ray.init`).")


def merge(parent: dict[str, Any] | None, child: dict[str, Any] | None
          ) -> dict[str, Any] | None:
    """Ray's inheritance: the child's fields replace the parent's, except ``env_vars``,
    merged name by name (the child's win)."""
    if not child:
        return parent
    if not parent:
        return child
    merged = {**parent, **child}
    env_vars = {**parent.get("env_vars", {}), **child.get("env_vars", {})}
    if env_vars:
        merged["env_vars"] = env_vars
    return merged


_process_env: dict[str, Any] | None = None  # a task or actor process's (``_env_setup``)


def set_process_env(env: dict[str, Any] | None) -> None:
    global _process_env
    _process_env = env


def current() -> dict[str, Any] | None:
    """The environment in effect here: the task's or actor's, or the driver's job's."""
    from raylike._api import context as _context
    from raylike._api import runtime as _runtime

    if _context.current() is not None:
        return _process_env
    runtime = _runtime.driver()
    return getattr(runtime, "runtime_env", None) if runtime is not None else None


def for_call(option: Any) -> dict[str, Any] | None:
    """The effective environment of a call made here with ``runtime_env=option``."""
    parent = current()
    if option is None:
        return parent
    return merge(parent, parse(option))


def serialize(env: dict[str, Any] | None) -> str:
    """The environment as ``get_runtime_env_string()`` returns it (JSON)."""
    return json.dumps(env or {}, sort_keys=True, default=_jsonable)


def key(env: dict[str, Any] | None) -> str:
    """A short hash naming an environment: processes and installs are kept per key."""
    if not env:
        return ""
    return hashlib.sha1(serialize(env).encode()).hexdigest()[:16]


def _jsonable(value: Any) -> str:
    name = getattr(value, "__qualname__", None)
    return f"{getattr(value, '__module__', '')}.{name}" if name else repr(value)
