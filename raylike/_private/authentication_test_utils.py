"""Ray's token-authentication test helpers (``ray._private.authentication_test_utils``).

raylike has no token authentication (a Dask cluster is secured with TLS): the helpers that only
set or clear the environment Ray reads work as in Ray; nothing reads what they set."""
from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["authentication_env_guard", "clear_auth_token_sources", "reset_auth_token_state",
           "set_auth_mode", "set_env_auth_token"]

_VARS = ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH")


def reset_auth_token_state() -> None:
    """Forget a cached token (raylike caches none)."""


def set_auth_mode(mode: str) -> None:
    os.environ["RAY_AUTH_MODE"] = mode


def set_env_auth_token(token: str) -> None:
    os.environ["RAY_AUTH_TOKEN"] = token


def clear_auth_token_sources(remove_default: bool = False) -> None:
    """Unset the token variables (``remove_default``: there is no default token file)."""
    for name in ("RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH"):
        os.environ.pop(name, None)


@contextmanager
def authentication_env_guard() -> Iterator[dict[str, str | None]]:
    """Restore the authentication variables as they were on entry."""
    saved = {name: os.environ.get(name) for name in _VARS}
    try:
        yield saved
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
