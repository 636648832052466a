"""Fixtures for the compatibility suite.

Every test here is written against the Ray API only and receives the module under test from the
``ray`` fixtures below, so the same files run against raylike (default) and real Ray
(``pytest tests/compat --ray-module=ray``, or ``tox -e ray``).
"""
from __future__ import annotations

import importlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from typing import Any

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--ray-module",
        default="raylike",
        help="module implementing the Ray API to test: raylike (default) or ray",
    )


@pytest.fixture(scope="session")
def ray_module(request: pytest.FixtureRequest) -> Iterator[Any]:
    """The module under test (``raylike`` or ``ray``), not initialised.

    Real Ray's ``init()`` joins a cluster it finds through ``RAY_ADDRESS`` or the address file
    in its temporary directory (``/tmp/ray/ray_current_cluster``, written by ``ray start``), so
    on a machine where anything else runs Ray, these tests would join that cluster. Ray gets a
    temporary directory of this session's own instead. raylike's ``init()`` does the same
    with the cluster ``raylike start`` or ``cluster_utils`` started last (recorded in its
    session directory): it gets a session directory of its own too."""
    name = request.config.getoption("--ray-module")
    saved = {k: os.environ.get(k) for k in ("RAY_TMPDIR", "RAY_ADDRESS", "RAYLIKE_SESSION_DIR")}
    own_tmp = None
    os.environ.pop("RAY_ADDRESS", None)
    if name == "ray":
        if not saved["RAY_TMPDIR"]:  # short: Ray's socket paths live under it
            own_tmp = os.environ["RAY_TMPDIR"] = tempfile.mkdtemp(prefix="rt", dir="/tmp")
    else:
        own_tmp = os.environ["RAYLIKE_SESSION_DIR"] = tempfile.mkdtemp(prefix="raylike-s")
    yield importlib.import_module(name)
    if own_tmp is not None:
        shutil.rmtree(own_tmp, ignore_errors=True)
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def _start(ray: Any, **kwargs: Any) -> Any:
    _reused.clear()
    if ray.is_initialized():
        ray.shutdown()
    kwargs.setdefault("num_cpus", 2)
    kwargs.setdefault("include_dashboard", False)
    ray.init(**kwargs)
    return ray


# The cluster the reusable fixtures last started: its ``init`` keywords and its node id. Starting
# a Ray cluster costs seconds (more on a loaded machine), so modules that need only a default
# cluster share one across the session; any fixture or test that shuts it down or starts another
# one makes the next user start it afresh.
_reused: dict[str, Any] = {}


def _node_id(ray: Any) -> Any:
    return ray.get_runtime_context().get_node_id()


def _reuse(ray: Any, **kwargs: Any) -> Any:
    key = tuple(sorted(kwargs.items()))
    if ray.is_initialized() and _reused.get("key") == key:
        try:
            if _node_id(ray) == _reused.get("node"):
                return ray
        except Exception:  # a test left the runtime in a state we cannot read: start afresh
            pass
    _start(ray, **kwargs)
    _reused.update(key=key, node=_node_id(ray))
    return ray


@pytest.fixture(scope="session", autouse=True)
def _shutdown_at_end(ray_module: Any) -> Iterator[None]:
    yield
    if ray_module.is_initialized():
        ray_module.shutdown()


@pytest.fixture
def ray_shared(ray_module: Any) -> Any:
    """A default cluster (2 CPUs) shared with every other test that needs only that: the fast
    default. Tests must leave it usable (no detached actors holding CPUs, no global changes)."""
    return _reuse(ray_module)


@pytest.fixture(scope="module")
def ray_shared_module(ray_module: Any) -> Any:
    """``ray_shared`` for module-scoped fixtures (a pool, a state client) built on it."""
    return _reuse(ray_module)


@pytest.fixture(scope="module")
def ray_dashboard_module(ray_module: Any) -> Any:
    """``ray_dashboard`` for module-scoped fixtures built on it."""
    return _reuse(ray_module, include_dashboard=ray_module.__name__ == "ray")


@pytest.fixture
def ray_dashboard(ray_module: Any) -> Any:
    """A shared cluster (2 CPUs) with Ray's dashboard: Ray's state API needs it (raylike's does
    not, and its dashboard would need bokeh)."""
    return _reuse(ray_module, include_dashboard=ray_module.__name__ == "ray")


@pytest.fixture
def ray_start(ray_module: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A fresh cluster for one test; ``init`` keywords come from indirect parametrisation,
    e.g. ``@pytest.mark.parametrize("ray_start", [{"num_cpus": 4}], indirect=True)``."""
    ray = _start(ray_module, **getattr(request, "param", {}))
    yield ray
    ray.shutdown()


@pytest.fixture
def ray_fresh(ray_module: Any) -> Iterator[Any]:
    """The module with no cluster running; whatever the test starts is shut down after it."""
    if ray_module.is_initialized():
        ray_module.shutdown()
    yield ray_module
    if ray_module.is_initialized():
        ray_module.shutdown()
