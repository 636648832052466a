"""Ray's temporary directory and session directory of a cluster.

Ray keeps a cluster's files under a temporary directory (``init(_temp_dir=...)`` or a node's
``temp_dir``, else ``ray`` under ``RAY_TMPDIR`` or the system's), in a session directory
(``address_info["session_dir"]``). raylike records the head's temporary directory in the
scheduler's key-value store, so a driver that joins later uses the same one, as in Ray, and
creates the session directory (with ``logs/``) for Ray programs that look for it; the
cluster's own logs stay where Dask writes them.
"""
from __future__ import annotations

import os
import tempfile
from typing import Any

__all__ = ["default_temp_dir", "make_session_dir", "record_temp_dir", "recorded_temp_dir"]

_NAMESPACE = b"raylike"
_KEY = b"temp_dir"


def default_temp_dir() -> str:
    """Ray's default temporary directory: ``ray`` under ``RAY_TMPDIR``, else the system's."""
    return os.path.join(os.environ.get("RAY_TMPDIR") or tempfile.gettempdir(), "ray")


def record_temp_dir(client: Any, path: str, overwrite: bool) -> None:
    """Record the cluster's temporary directory on its scheduler (a Dask client of it)."""
    from raylike.experimental.internal_kv import apply

    client.run_on_scheduler(apply, "put", _NAMESPACE, _KEY, path.encode(), overwrite)


def recorded_temp_dir(client: Any) -> str | None:
    """The cluster's temporary directory, if its head recorded one."""
    from raylike.experimental.internal_kv import apply

    value = client.run_on_scheduler(apply, "get", _NAMESPACE, _KEY)
    return value.decode() if value else None


def make_session_dir(root: str, session_name: str) -> str:
    """Create the session's directory (and its ``logs``) under ``root``; return its path."""
    path = os.path.join(root, session_name)
    os.makedirs(os.path.join(path, "logs"), exist_ok=True)
    return path
