"""The job's packages (``raylike._api.packages``) shipped to every node: a Dask worker plugin
per package, which Dask installs on every worker now and on every worker that joins later."""
from __future__ import annotations

import os
from typing import Any

from distributed.diagnostics.plugin import WorkerPlugin

from raylike._api.packages import PY_MODULES, SCHEME, WORKING_DIR, package, unpack


class PackagePlugin(WorkerPlugin):
    """One package of the job, unpacked on each worker as Dask installs the plugin there."""

    idempotent = True

    def __init__(self, uri: str, kind: str, data: bytes) -> None:
        self.uri, self.kind, self.data = uri, kind, data

    def setup(self, worker: Any) -> None:
        unpack(base_dir(worker), self.uri, self.kind, self.data)


def base_dir(worker: Any) -> str:
    """The directory of a worker's runtime environments' files."""
    return os.path.join(worker.local_directory, "runtime_resources")


def upload(client: Any, env: dict[str, Any]) -> dict[str, Any]:
    """The job's environment with its local ``working_dir``/``py_modules`` shipped to every
    worker and replaced by their URIs (``ray.init``)."""
    excludes = list(env.get("excludes") or [])
    result = dict(env)
    if env.get("working_dir") and "://" not in env["working_dir"]:
        result["working_dir"] = _ship(client, env["working_dir"], WORKING_DIR, excludes, False)
    if env.get("py_modules"):
        result["py_modules"] = [
            module if "://" in module else _ship(client, module, PY_MODULES, excludes, True)
            for module in env["py_modules"]]
    return result


def _ship(client: Any, path: str, kind: str, excludes: list[str], top_level: bool) -> str:
    uri, data = package(path, excludes, top_level)
    name = uri[len(SCHEME):].split("/", 1)[0]
    client.register_plugin(PackagePlugin(uri, kind, data), name=f"raylike-{name}")
    return uri
