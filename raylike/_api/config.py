"""raylike's own settings: every ``RAYLIKE_*`` environment variable, in one table.

Each is read when it is used (never at import), so a test or a program can set it before
``ray.init()``; the cluster's processes inherit the driver's environment. Ray's own
``RAY_*`` variables are read where Ray reads them, not here.
"""
from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Setting:
    env: str
    default: str
    doc: str


SETTINGS: dict[str, Setting] = {
    "batch_interval_ms": Setting(
        "RAYLIKE_BATCH_INTERVAL_MS", "2",
        "Milliseconds between two sends of a Dask batched stream (0: Dask's own intervals)."),
    "direct_actor_calls": Setting(
        "RAYLIKE_DIRECT_ACTOR_CALLS", "1",
        "0: actor calls go through Dask tasks instead of straight to the actor's worker."),
    "direct_tasks": Setting(
        "RAYLIKE_DIRECT_TASKS", "1",
        "0: a driver's tasks go through Dask's scheduler instead of leased slots of its nodes."),
    "lane": Setting(
        "RAYLIKE_LANE", "1",
        "0: no shared-memory lane between a driver and the workers on its host."),
    "actor_gap_timeout": Setting(
        "RAYLIKE_ACTOR_GAP_TIMEOUT", "5",
        "Seconds an actor waits for a caller's missing call before running the next one."),
    "actor_prefetch": Setting(
        "RAYLIKE_ACTOR_PREFETCH", "32",
        "Calls an actor's host hands its process ahead of the one running."),
    "session_dir": Setting(
        "RAYLIKE_SESSION_DIR", "",
        "Where `raylike start` keeps its state file and logs (default: a temporary dir)."),
    "node_labels": Setting(
        "RAYLIKE_NODE_LABELS", "",
        "Set by raylike for a worker it starts: the node's own labels (JSON)."),
    "log_file": Setting(
        "RAYLIKE_LOG_FILE", "",
        "Set by raylike for the embedded cluster's processes: the file they log to."),
}


def raw(name: str) -> str:
    """The setting's text: its environment variable, else its default."""
    setting = SETTINGS[name]
    return os.environ.get(setting.env) or setting.default


def flag(name: str) -> bool:
    """An on/off setting: anything but ``0`` is on."""
    return raw(name) != "0"


def number(name: str) -> float:
    text = raw(name)
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"{SETTINGS[name].env}={text!r} is not a number") from None


def batch_interval() -> float:
    """Seconds between two sends of a Dask batched stream for raylike's traffic (0: Dask's)."""
    return number("batch_interval_ms") / 1000.0


def session_dir() -> Path:
    """Where ``raylike start`` keeps its state and logs, and where the cluster started last
    on this machine is recorded (``RAYLIKE_SESSION_DIR``, default ``$TMPDIR/raylike-<uid>``)."""
    text = raw("session_dir")
    return Path(text) if text else Path(tempfile.gettempdir()) / f"raylike-{os.getuid()}"
