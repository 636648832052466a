"""Ray's ``ray._private.auto_init_hook``: the switch for starting Ray on the first API call made
before ``init`` (``enable_auto_connect``; ``RAY_ENABLE_AUTO_CONNECT=0`` turns it off), and
Ray's helpers that do that start. The switch is raylike's own (:mod:`raylike._api.runtime`):
setting it here turns auto-init on or off for every API call, as in Ray."""
from __future__ import annotations

import functools
import sys
import threading
import types
from collections.abc import Callable, Iterable
from typing import Any

from raylike._api import runtime as _runtime

__all__ = ["auto_init_lock", "auto_init_ray", "enable_auto_connect", "wrap_auto_init",
           "wrap_auto_init_for_all_apis"]

auto_init_lock = threading.Lock()


def auto_init_ray() -> None:
    """Start Ray (``init()``) unless it runs already or auto-init is off."""
    if _runtime.auto_connect_enabled() and not _runtime.is_initialized():
        with auto_init_lock:
            if not _runtime.is_initialized():
                _runtime.init()


def wrap_auto_init(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn``, starting Ray first (:func:`auto_init_ray`)."""

    @functools.wraps(fn)
    def auto_init_wrapper(*args: Any, **kwargs: Any) -> Any:
        auto_init_ray()
        return fn(*args, **kwargs)

    return auto_init_wrapper


def wrap_auto_init_for_all_apis(api_names: Iterable[str]) -> None:
    """Wrap each of ``ray``'s functions ``api_names`` with :func:`wrap_auto_init`."""
    import raylike

    for name in api_names:
        api = getattr(raylike, name, None)
        if api is None:
            raise AttributeError(f"ray has no API named {name!r}")
        setattr(raylike, name, wrap_auto_init(api))


class _HookModule(types.ModuleType):
    """This module, whose ``enable_auto_connect`` reads and sets raylike's switch."""

    @property
    def enable_auto_connect(self) -> bool:
        return _runtime.auto_connect_enabled()

    @enable_auto_connect.setter
    def enable_auto_connect(self, value: bool) -> None:
        _runtime.auto_connect = bool(value)


sys.modules[__name__].__class__ = _HookModule
enable_auto_connect: bool  # the property above (declared for readers and type checkers)
