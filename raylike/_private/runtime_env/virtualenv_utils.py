"""Ray's virtualenv helpers for ``pip`` runtime environments. raylike installs ``pip``
environments with ``pip install --target`` (``raylike._dask.worker.packages``), not into
virtualenvs, so
these raise on use."""
from __future__ import annotations

from typing import Any


def _unsupported(name: str) -> Any:
    def call(*_: Any, **__: Any) -> Any:
        raise NotImplementedError(f"ray._private.runtime_env.virtualenv_utils.{name}: raylike "
                                  "builds pip environments without virtualenv")
    call.__name__ = name
    return call


create_or_get_virtualenv = _unsupported("create_or_get_virtualenv")
get_virtualenv_path = _unsupported("get_virtualenv_path")
get_virtualenv_python = _unsupported("get_virtualenv_python")
is_in_virtualenv = _unsupported("is_in_virtualenv")
