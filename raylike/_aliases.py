"""Ray's deprecated top-level aliases of private modules (``ray.worker``, ``ray.state``,
``ray.serialization``, ``ray.ray_constants``): each forwards to raylike's counterpart and logs,
once per attribute, that it is private, as Ray's wrappers do."""
from __future__ import annotations

import logging
from typing import Any

logger = logging.getLogger("raylike")


class DeprecatedModule:
    """Forwards attribute reads to ``target``, warning once per attribute."""

    def __init__(self, name: str, target: Any) -> None:
        self._name = name
        self._target = target
        self._warned: set[str] = set()

    def __getattr__(self, attr: str) -> Any:
        value = getattr(self._target, attr)
        if attr not in self._warned:
            self._warned.add(attr)
            logger.warning("DeprecationWarning: `ray.%s.%s` is a private attribute and access "
                           "will be removed in a future Ray version.", self._name, attr)
        return value

    def __repr__(self) -> str:
        return f"<deprecated alias ray.{self._name}>"
