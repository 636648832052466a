"""Ray's ``ray._private.client_mode_hook``: the switch that routes API calls to a Ray Client
connection (``ray://``). raylike has no Ray Client, so client mode is never on: the hook
decorators return the function unchanged and ``client_mode_should_convert()`` is False.
Turning client mode on (``enable_client_mode``) raises."""
from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

__all__ = ["client_mode_convert_actor", "client_mode_convert_function", "client_mode_hook",
           "client_mode_should_convert", "client_mode_wrap", "disable_client_hook",
           "enable_client_mode", "is_client_mode_enabled", "is_client_mode_enabled_by_default"]

F = TypeVar("F", bound=Callable[..., Any])

is_client_mode_enabled = False  # no Ray Client in raylike
is_client_mode_enabled_by_default = False
_NO_CLIENT = ("raylike has no Ray Client mode (ray://): connect to the Dask scheduler's "
              "address with ray.init(address) instead")


def client_mode_should_convert() -> bool:
    """Whether calls go to a Ray Client connection: never on raylike."""
    return False


def client_mode_hook(func: F | None = None, *,
                     local_only_kwargs: tuple[str, ...] = ()) -> Any:
    """Ray's decorator routing ``func`` to the client in client mode: here ``func`` itself
    (usable bare or with ``local_only_kwargs=``)."""
    if func is None:
        return lambda inner: inner
    return func


def client_mode_wrap(func: F) -> F:
    """Ray's decorator running ``func`` remotely in client mode: here ``func`` itself."""
    return func


@contextlib.contextmanager
def disable_client_hook() -> Iterator[None]:
    """Run the block with client hooks off; they are always off on raylike."""
    yield


def _explicitly_enable_client_mode() -> None:
    raise NotImplementedError(_NO_CLIENT)


def _explicitly_disable_client_mode() -> None:
    """Client mode is already off."""


@contextlib.contextmanager
def enable_client_mode() -> Iterator[None]:
    """Ray's switch into client mode: raylike has none, so this raises."""
    _explicitly_enable_client_mode()
    yield


def client_mode_convert_function(*_: Any, **__: Any) -> Any:
    raise NotImplementedError(_NO_CLIENT)


def client_mode_convert_actor(*_: Any, **__: Any) -> Any:
    raise NotImplementedError(_NO_CLIENT)
