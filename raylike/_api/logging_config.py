"""``ray.LoggingConfig``: the format of Ray's own log records (``init(logging_config=)``)."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

_ENCODINGS = ("TEXT", "JSON")
_STANDARD_ATTRS = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__)


@dataclass
class LoggingConfig:
    """``encoding`` (``"TEXT"`` or ``"JSON"``), ``log_level`` and extra standard record
    attributes to show.

    Differences from Ray: accepted and validated; raylike does not reformat log records.
    """

    encoding: str = "TEXT"
    log_level: str = "INFO"
    additional_log_standard_attrs: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.encoding not in _ENCODINGS:
            raise ValueError(f"Invalid encoding type: {self.encoding}. Valid encoding types "
                             f"are: {set(_ENCODINGS)}")
        for attr in self.additional_log_standard_attrs:
            if attr not in _STANDARD_ATTRS:
                raise ValueError(f"Unknown python logging standard attribute: {attr}. The "
                                 f"valid attributes are: {sorted(_STANDARD_ATTRS)}")

    def to_dict(self) -> dict[str, Any]:
        return {"encoding": self.encoding, "log_level": self.log_level,
                "additional_log_standard_attrs": list(self.additional_log_standard_attrs)}
