"""The driver's own log records, shown as Ray shows its own (``init(configure_logging=...)``).

Ray gives its ``ray`` logger a handler of its own on stderr (``<time>\\tINFO file:line --
message``, level INFO, not propagated to the root logger), so a driver sees lines such as
"Started a local Ray instance." whatever the program did to the root logger, and sees them
once. raylike does the same for its ``raylike`` logger when ``init`` runs with
``configure_logging=True`` (the default); ``logging_level`` and ``logging_format`` change the
level and format, and ``configure_logging=False`` leaves logging as the program set it (Ray
then takes its handler away and shows none of its records; raylike's reach the program's
handlers, if any).
"""
from __future__ import annotations

import logging
import sys
from typing import Any

LOGGER = "raylike"
FORMAT = "%(asctime)s\t%(levelname)s %(filename)s:%(lineno)s -- %(message)s"


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is when a record comes (a test's capture, too)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        pass


def configure(on: bool, level: Any = None, fmt: str | None = None) -> None:
    """Give the ``raylike`` logger Ray's handler (once: a second ``init`` replaces it); with
    ``on`` false, take it away and leave the logger to the program's logging."""
    logger = logging.getLogger(LOGGER)
    for old in [h for h in logger.handlers if isinstance(h, _StderrHandler)]:
        logger.removeHandler(old)
    if not on:
        return
    handler = _StderrHandler()
    handler.setFormatter(logging.Formatter(fmt or FORMAT))
    logger.addHandler(handler)
    logger.setLevel(_level(level))
    logger.propagate = False


def _level(level: Any) -> int:
    if level is None:
        return logging.INFO
    if isinstance(level, str):
        named = logging.getLevelName(level.upper())
        if not isinstance(named, int):
            raise ValueError(f"unknown logging level {level!r}")
        return named
    return int(level)
