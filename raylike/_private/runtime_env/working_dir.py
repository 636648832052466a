"""Ray's ``ray._private.runtime_env.working_dir``: ``set_pythonpath_in_context`` (what a
worker's ``PYTHONPATH`` becomes in an environment with a working directory) and the plugin
class's name. raylike sets up ``working_dir`` on its nodes itself
(``raylike._process.env_setup``) and loads no plugins: ``WorkingDirPlugin`` raises."""
from __future__ import annotations

import os
from typing import Any

from raylike._private.runtime_env.context import RuntimeEnvContext

__all__ = ["WorkingDirPlugin", "set_pythonpath_in_context"]


def set_pythonpath_in_context(python_path: str, context: RuntimeEnvContext) -> None:
    """Put ``python_path`` first in ``context``'s ``PYTHONPATH``, then what the context set,
    then the process's own ``PYTHONPATH``."""
    parts = [python_path, context.env_vars.get("PYTHONPATH"), os.environ.get("PYTHONPATH")]
    context.env_vars["PYTHONPATH"] = os.pathsep.join(p for p in parts if p)


class WorkingDirPlugin:
    """Ray's runtime-env agent plugin for ``working_dir``; raylike has no agent."""

    name = "working_dir"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError(
            "ray._private.runtime_env.working_dir.WorkingDirPlugin is not available on "
            "raylike: its nodes set up working_dir themselves (no runtime-env agent)")
