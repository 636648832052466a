"""Ray's deprecated top-level aliases of private modules (``ray.worker``, ``ray.state``,
``ray.serialization``, ``ray.ray_constants``): each forwards to raylike's counterpart and logs,
once per attribute, that it is private, as Ray's wrappers do."""
from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from types import ModuleType
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


def submodule_getattr(package: str) -> Callable[[str], ModuleType]:
    """A module ``__getattr__`` giving ``package``'s submodules as attributes, imported on
    first use (Ray's packages have them imported already: ``ray._private.worker``)."""
    def getattr_(name: str) -> ModuleType:
        if name.startswith("__"):
            raise AttributeError(name)
        try:
            return importlib.import_module(f"{package}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{package}.{name}":
                raise
            raise AttributeError(f"module {package!r} has no attribute {name!r}") from None
    return getattr_
