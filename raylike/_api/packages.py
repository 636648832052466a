"""The job's local ``working_dir`` and ``py_modules``, shipped to every node as Ray ships them.

``ray.init(runtime_env=...)`` zips each local directory or ``.py`` file (leaving out
``excludes``, the patterns of a ``.gitignore``/``.rayignore`` at its root, and Ray's default
``.git``, ``.venv``, ``venv``, ``__pycache__``), names it ``gcs://_ray_pkg_<hash>.zip`` after
its content (a ``.whl`` keeps its own bytes: ``..._<hash>.whl``), and registers a Dask worker
plugin holding it: Dask installs it on every worker now and on every worker that joins later,
which unpacks it under ``<worker dir>/runtime_resources/``. The job's environment then names
the URIs, as Ray's does.

This module makes and reads the packages; ``raylike._dask.worker.packages`` ships them.
"""
from __future__ import annotations

import fnmatch
import hashlib
import io
import os
import shutil
import tempfile
import zipfile
from collections.abc import Callable, Iterator

PREFIX = "_ray_pkg_"
SCHEME = "gcs://"
MAX_SIZE = 512 * 1024 * 1024  # Ray's limit (its largest gRPC message)
DEFAULT_EXCLUDES = (".git", ".venv", "venv", "__pycache__")
WORKING_DIR, PY_MODULES = "working_dir_files", "py_modules_files"


def default_excludes() -> list[str]:
    """What a package leaves out by default: Ray's ``.git``, ``.venv``, ``venv`` and
    ``__pycache__``, or the comma-separated ``RAY_OVERRIDE_RUNTIME_ENV_DEFAULT_EXCLUDES``
    (empty: nothing), read when a package is made."""
    value = os.environ.get("RAY_OVERRIDE_RUNTIME_ENV_DEFAULT_EXCLUDES")
    if value is None:
        return list(DEFAULT_EXCLUDES)
    return [name.strip() for name in value.split(",") if name.strip()]


def _excluder(root: str, patterns: list[str]) -> Callable[[str, bool], bool]:
    """A test of a path relative to ``root`` against gitignore-style ``patterns``."""
    rules = default_excludes() + list(patterns)
    for name in (".gitignore", ".rayignore"):
        path = os.path.join(root, name)
        if os.path.isfile(path):
            with open(path) as f:
                rules += [line.strip() for line in f if line.strip() and
                          not line.startswith("#")]

    def excluded(rel: str, is_dir: bool) -> bool:
        hit = False
        for rule in rules:
            negate = rule.startswith("!")
            rule = rule[1:] if negate else rule
            dir_only = rule.endswith("/")
            rule = rule.strip("/") if rule.startswith("/") or dir_only else rule
            if dir_only and not is_dir or not rule:
                continue
            if "/" in rule or rule.startswith("/"):
                match = fnmatch.fnmatchcase(rel, rule.lstrip("/"))
            else:
                match = any(fnmatch.fnmatchcase(part, rule) for part in rel.split("/"))
            if match:
                hit = not negate
        return hit

    return excluded


def _files(root: str, excludes: list[str]) -> Iterator[tuple[str, str]]:
    """``(absolute path, path in the archive)`` of every file of ``root`` kept."""
    excluded = _excluder(root, excludes)
    for directory, dirs, files in os.walk(root):
        rel_dir = os.path.relpath(directory, root)
        rel_dir = "" if rel_dir == "." else rel_dir + "/"
        dirs[:] = sorted(d for d in dirs if not excluded(rel_dir + d, True))
        for name in sorted(files):
            if not excluded(rel_dir + name, False):
                yield os.path.join(directory, name), rel_dir + name


def _zip(entries: list[tuple[str, str]]) -> tuple[bytes, str]:
    """The zip of ``entries`` and a hash of their names and contents."""
    digest = hashlib.sha1()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, arcname in entries:
            with open(path, "rb") as f:
                data = f.read()
            digest.update(arcname.encode() + b"\0" + hashlib.sha1(data).digest())
            archive.writestr(arcname, data)
    return buffer.getvalue(), digest.hexdigest()[:16]


def package(path: str, excludes: list[str], top_level: bool) -> tuple[str, bytes]:
    """``(uri, bytes)`` of a local directory or file; ``top_level``: a directory is kept as a
    directory in the archive (``py_modules``: the package's own name)."""
    path = os.path.abspath(path)
    if os.path.isfile(path) and path.endswith((".whl", ".zip")):
        with open(path, "rb") as f:
            data = f.read()
        name = SCHEME + PREFIX + hashlib.sha1(data).hexdigest()[:16]
        if path.endswith(".whl"):  # pip wants the wheel's own file name
            return f"{name}/{os.path.basename(path)}", data
        return f"{name}.zip", data
    if os.path.isfile(path):
        entries = [(path, os.path.basename(path))]
    else:
        prefix = os.path.basename(path) + "/" if top_level else ""
        entries = [(p, prefix + rel) for p, rel in _files(path, excludes)]
    data, digest = _zip(entries)
    if len(data) >= MAX_SIZE:
        raise ValueError(f"Package size ({len(data) / 2**20:.2f}MiB) exceeds the maximum size "
                         f"of {MAX_SIZE // 2**20}MiB. To exclude large files, add them to "
                         "'.gitignore' or '.rayignore' files, or use the 'excludes' option in "
                         "the runtime_env.")
    return f"{SCHEME}{PREFIX}{digest}.zip", data


def local_path(base: str, uri: str, kind: str) -> str:
    """Where a node keeps package ``uri`` (``kind``: ``WORKING_DIR`` or ``PY_MODULES``)."""
    name = uri[len(SCHEME):].split("/", 1)[0].rsplit(".", 1)[0]
    if uri.endswith(".whl"):
        return os.path.join(base, PY_MODULES, name, uri.rsplit("/", 1)[-1])
    return os.path.join(base, kind, name)


def is_ours(uri: str) -> bool:
    return uri.startswith(SCHEME + PREFIX)


def unpack(base: str, uri: str, kind: str, data: bytes) -> str:
    """Unpack (or, for a wheel, write) package ``uri`` under ``base``, once."""
    target = local_path(base, uri, kind)
    if os.path.exists(target):
        return target
    parent = os.path.dirname(target)
    os.makedirs(parent, exist_ok=True)
    staging = tempfile.mkdtemp(dir=parent, prefix=".unpacking-")
    try:
        if uri.endswith(".whl"):
            with open(os.path.join(staging, "wheel"), "wb") as f:
                f.write(data)
            os.replace(os.path.join(staging, "wheel"), target)
        else:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                archive.extractall(staging)
            os.rename(staging, target)
    except OSError:
        if not os.path.exists(target):  # not another thread's rename: a real failure
            raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target
