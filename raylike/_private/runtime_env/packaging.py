"""Ray's ``ray._private.runtime_env.packaging``: the content-addressed URI of a local
directory, as ``runtime_env`` ``working_dir``/``py_modules`` name it once uploaded.

raylike's packages are zip archives named by a hash of their files (``raylike._api.packages``;
``.gitignore``/``.rayignore`` and ``excludes`` honoured, as in Ray), shipped to the nodes by
``init`` (a job's environment): :func:`get_uri_for_directory` is that URI. Uploading a package
by hand (:func:`upload_package_if_needed`) has no raylike counterpart: it raises.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from raylike._api import packages as _packages

__all__ = ["get_uri_for_directory", "upload_package_if_needed"]


def get_uri_for_directory(directory: str | Path, include_gitignore: bool = True,
                          excludes: list[str] | None = None) -> str:
    """The package URI (``gcs://_ray_pkg_<hash>.zip``) of ``directory``'s files, less those
    excluded; the same files give the same URI."""
    path = os.path.abspath(os.path.expanduser(str(directory)))
    if not os.path.isdir(path):
        raise ValueError(f"directory {path} must be an existing directory")
    return _packages.package(path, list(excludes or []), top_level=False)[0]


def upload_package_if_needed(pkg_uri: str, base_directory: str | Path, directory: str | Path,
                             *args: Any, **kwargs: Any) -> bool:
    """Ray uploads a package to its GCS here; raylike ships a job's packages at ``init``."""
    raise NotImplementedError(
        "ray._private.runtime_env.packaging.upload_package_if_needed is not available on "
        "raylike: give the directory as runtime_env working_dir/py_modules to ray.init, which "
        "ships it to the nodes")
