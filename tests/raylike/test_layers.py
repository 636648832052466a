"""raylike's import rules: its packages are layers by the process a module runs in, and Dask is
reached through one package (``docs/design.md``, "How to read the code").

Imports are read from the source (every ``import`` statement, module level or inside a
function), so a rule broken by a late import fails here too.
"""
from __future__ import annotations

import ast
import pathlib
from collections.abc import Iterator

import raylike

ROOT = pathlib.Path(raylike.__file__).parent

# Ray's own public module for Dask (Dask-on-Ray): its subject is Dask's collections
DASK_USERS_OUTSIDE_THE_BOUNDARY = {"raylike.util.dask"}

# The few imports across the rules below, each for a reason (a new one needs one too):
ALLOWED = {
    # the state plugin asks every worker for its record of actor calls by running this
    # function there (Dask's ``run``): it names the function, it does not call it here
    "raylike._dask.scheduler.state imports raylike._dask.worker",
    "raylike._dask.scheduler.state imports raylike._dask.worker.task_events",
    # the same for the memory report: each worker asks its task and actor processes
    "raylike._dask.scheduler.memory imports raylike._dask.worker",
    "raylike._dask.scheduler.memory imports raylike._dask.worker.memory",
    # the state plugin answers with the columns of Ray's public row schemas
    "raylike._dask.scheduler.state imports raylike.util.state.common",
    "raylike._dask.scheduler.state imports raylike.util.state.common.resource_to_schema",
    # the command line (``raylike list``) is a program on top of the public API
    "raylike._dask.cluster.state_cli imports raylike.util.state",
    "raylike._dask.cluster.state_cli imports raylike.util.state.api",
}


def _module_name(path: pathlib.Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports() -> Iterator[tuple[str, str]]:
    """(importing module, imported module or name) for every import statement in raylike."""
    for path in sorted(ROOT.rglob("*.py")):
        module = _module_name(path)
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    yield module, alias.name
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - node.level + 1]
                    target = ".".join(base + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                yield module, target
                for alias in node.names:
                    yield module, f"{target}.{alias.name}"


def _within(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def _broken(importer: str, imported_packages: tuple[str, ...]) -> list[str]:
    return sorted({f"{module} imports {target}" for module, target in _imports()
                   if _within(module, importer)
                   and any(_within(target, package) for package in imported_packages)}
                  - ALLOWED)


def test_every_allowed_exception_is_still_needed():
    """An exception that no import needs any more is taken off the list."""
    found = {f"{module} imports {target}" for module, target in _imports()}
    assert ALLOWED - found == set()


def test_only_the_dask_package_imports_dask():
    offenders = sorted({f"{module} imports {target}" for module, target in _imports()
                        if (_within(target, "distributed") or _within(target, "dask"))
                        and not _within(module, "raylike._dask")
                        and module not in DASK_USERS_OUTSIDE_THE_BOUNDARY})
    assert offenders == []


def test_task_processes_and_transports_do_not_reach_dask():
    """A task's or actor's process talks to its worker over a pipe, never to Dask; the
    transports carry bytes between processes of one host."""
    assert _broken("raylike._process", ("raylike._dask",)) == []
    assert _broken("raylike._transport", ("raylike._dask", "raylike._process")) == []


def test_scheduler_plugins_stand_alone():
    """The scheduler's plugins run in Dask's scheduler process: no client, node or process code."""
    assert _broken("raylike._dask.scheduler", (
        "raylike._dask.client", "raylike._dask.worker", "raylike._dask.cluster",
        "raylike._process", "raylike._transport")) == []


def test_the_api_layer_reaches_dask_only_through_its_backend():
    """The public API layer calls the process's backend (``runtime.Backend``); only
    ``runtime``, which builds the driver's backend at ``init``, names the Dask package."""
    offenders = [line for line in _broken("raylike._api", ("raylike._dask",))
                 if not line.startswith("raylike._api.runtime ")]
    assert offenders == []


def test_nothing_below_the_public_modules_imports_them():
    """raylike's private packages never import its public modules (``raylike.util``, the
    ``ray.*`` paths), except ``raylike.exceptions``, which every layer raises, and the public
    option types that the option table checks (scheduling strategies)."""
    public = tuple(f"raylike.{path.stem}" for path in ROOT.iterdir()
                   if not path.name.startswith("_") and (path.suffix == ".py" or path.is_dir())
                   and path.stem not in ("exceptions", "py"))
    offenders = []
    for package in ("raylike._dask", "raylike._process", "raylike._transport"):
        offenders += _broken(package, public)
    assert offenders == []
