"""Setting up a runtime environment: on the node (packages found, ``pip`` installed, once per
environment and node) and in the process that runs the task or actor (applied once: a
process serves one environment only, as a Ray worker does, so nothing is ever undone).

``pip`` (and ``uv``, installed with pip too) goes into a directory of its own per distinct
specification (``pip install --target``), put first on the process's ``sys.path``: each
environment sees its own versions, and a second task with the same specification reuses the
install. Ray makes a virtualenv per environment instead; the effect on imports is the same.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass, field
from typing import Any

from raylike._api import packages as _packages
from raylike._api import runtime_env as _runtime_env
from raylike.exceptions import RuntimeEnvSetupError

DEFAULT_TIMEOUT = 600  # seconds, Ray's ``setup_timeout_seconds``
PIP_DEFAULT_OPTIONS = ["--disable-pip-version-check", "--no-cache-dir"]


@dataclass(frozen=True)
class Setup:
    """What a process does to enter an environment (plain data, sent over its pipe)."""

    key: str
    env: dict[str, Any]
    env_vars: dict[str, str] = field(default_factory=dict)
    cwd: str | None = None
    paths: tuple[str, ...] = ()
    hook: Any = None  # ``worker_process_setup_hook``: a callable or "module.function"


class NodeEnvs:
    """A node's environments, set up once each (their failures too, as Ray caches them)."""

    def __init__(self, base: str, node_ip: str | None = None) -> None:
        self.base = base  # the node's directory of environments' files
        # every failure names its node, as Ray's runtime-env agent does: "[Node 10.0.0.1] ..."
        self.prefix = f"[Node {node_ip or 'unknown'}] "
        self._lock = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}
        self._done: dict[str, Setup | str] = {}  # key -> its setup, or why it failed

    def prepare(self, env: dict[str, Any] | None) -> Setup | None:
        """The setup of ``env`` (``None`` for none); raises ``RuntimeEnvSetupError``."""
        if not env:
            return None
        key = _runtime_env.key(env)
        done = self._done.get(key)
        if done is None:
            with self._lock:
                lock = self._locks.setdefault(key, threading.Lock())
            with lock:
                done = self._done.get(key)
                if done is None:
                    try:
                        done = self._build(key, env)
                    except RuntimeEnvSetupError as exc:
                        done = self.prefix + (exc.error_message or "")
                    self._done[key] = done
        if isinstance(done, str):
            raise RuntimeEnvSetupError(done)
        return done

    def _build(self, key: str, env: dict[str, Any]) -> Setup:
        refused = [name for name in _runtime_env.UNSUPPORTED if env.get(name)]
        if refused:
            raise RuntimeEnvSetupError(
                f"raylike cannot set up the runtime_env field(s) {', '.join(refused)}: it sets "
                "up env_vars, working_dir, py_modules, pip, uv and worker_process_setup_hook.")
        paths: list[str] = []
        cwd = None
        if env.get("working_dir"):
            cwd = self._package(env["working_dir"], _packages.WORKING_DIR, "working_dir")
            paths.append(cwd)
        wheels: list[str] = []
        for module in env.get("py_modules") or []:
            path = self._package(module, _packages.PY_MODULES, "py_modules")
            (wheels if path.endswith(".whl") else paths).append(path)
        installer = env.get("pip") or env.get("uv")
        if installer or wheels:
            paths.append(self._pip(installer or {}, wheels, env.get("config") or {}))
        return Setup(key=key, env=env, env_vars=dict(env.get("env_vars") or {}), cwd=cwd,
                     paths=tuple(paths), hook=env.get("worker_process_setup_hook"))

    def _package(self, uri: str, kind: str, field_name: str) -> str:
        if not _packages.is_ours(uri):
            raise RuntimeEnvSetupError(
                f"raylike cannot fetch {field_name} {uri!r}: only the local directories and "
                "files given to ray.init(runtime_env=...) are shipped to the nodes.")
        path = _packages.local_path(self.base, uri, kind)
        if not os.path.exists(path):
            raise RuntimeEnvSetupError(f"The package {uri} of {field_name} is not on this node: "
                                       "it was uploaded by another job or cluster.")
        return path

    def _pip(self, spec: dict[str, Any], wheels: list[str], config: dict[str, Any]) -> str:
        """Install ``spec``'s packages and ``wheels`` into a directory of their own."""
        packages = list(spec.get("packages") or []) + wheels
        options = spec.get("pip_install_options") or spec.get("uv_pip_install_options")
        options = [o for o in (options or PIP_DEFAULT_OPTIONS) if o != "--no-cache"]
        name = hashlib.sha1(json.dumps([packages, options]).encode()).hexdigest()[:16]
        target = os.path.join(self.base, "pip", name)
        if os.path.isdir(target):
            _worker_can_import(target)
            return target
        os.makedirs(os.path.dirname(target), exist_ok=True)
        staging = tempfile.mkdtemp(dir=os.path.dirname(target), prefix=".installing-")
        timeout = config.get("setup_timeout_seconds", DEFAULT_TIMEOUT)
        try:
            _run_pip([sys.executable, "-m", "pip", "install", "--target", staging,
                      "--no-input", *options, *packages], None if timeout == -1 else timeout)
            os.rename(staging, target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        _worker_can_import(target)
        return target


def _worker_can_import(path: str) -> None:
    """The worker unpickles what tasks return: let it find the environment's modules too, last
    (it never shadows the worker's own)."""
    if path not in sys.path:
        sys.path.append(path)


def _run_pip(command: list[str], timeout: float | None) -> None:
    """Run pip; a failure or a timeout is a ``RuntimeEnvSetupError`` with pip's output."""
    env = {**os.environ, "PIP_NO_INPUT": "1"}
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env,
                            stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        output, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # pip and whatever build it started
        output, _ = proc.communicate()
        raise RuntimeEnvSetupError(
            f"pip install did not finish within {timeout} s (runtime_env config "
            f"setup_timeout_seconds): {' '.join(command[3:])}\n"
            f"{output.decode(errors='replace')[-4000:]}") from None
    if proc.returncode != 0:
        raise RuntimeEnvSetupError(
            f"pip install failed with code {proc.returncode}: {' '.join(command[3:])}\n"
            f"{output.decode(errors='replace')[-4000:]}")


# -- in the task's or actor's process ----------------------------------------------------------
_UNSET_REFERENCE = re.compile(r"\$\{[A-Z0-9_]+\}")


def update_envs(env_vars: dict[str, str]) -> None:
    """Set ``env_vars`` in this process's environment, as Ray does for a runtime environment's
    ``env_vars``: ``$X`` and ``${X}`` in a value are the process's ``X`` before the update
    (``"PATH": "/opt/bin:${PATH}"`` extends it); a ``${X}`` that is not set is left out."""
    for key, value in (env_vars or {}).items():
        os.environ[key] = _UNSET_REFERENCE.sub("", os.path.expandvars(value))


_failure: str | None = None  # why entering the environment failed (its tasks raise it)


def apply(setup: Setup) -> None:
    """Enter ``setup``'s environment, for the rest of this process's life (a failure is
    remembered: :func:`check` raises it in each task)."""
    global _failure
    _runtime_env.set_process_env(setup.env)
    try:
        update_envs(setup.env_vars)
        if setup.paths:
            sys.path[0:0] = [p for p in setup.paths if p not in sys.path]
            old = os.environ.get("PYTHONPATH")
            os.environ["PYTHONPATH"] = os.pathsep.join([*setup.paths, *([old] if old else [])])
        if setup.cwd:
            os.chdir(setup.cwd)
        if setup.hook is not None:
            _run_hook(setup.hook)
    except BaseException as exc:  # noqa: B036 - reported by every task of the process
        _failure = f"{type(exc).__name__}: {exc}"
        if setup.hook is not None:
            _failure = f"worker_process_setup_hook failed: {_failure}"


def _run_hook(hook: Any) -> None:
    if callable(hook):
        hook()
        return
    module, _, name = str(hook).rpartition(".")
    __import__(module)
    getattr(sys.modules[module], name)()


def check() -> None:
    """Raise ``RuntimeEnvSetupError`` if this process could not enter its environment."""
    if _failure is not None:
        raise RuntimeEnvSetupError(_failure)
