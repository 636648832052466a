"""Fixtures for the compatibility suite.

Every test here is written against the Ray API only and receives the module under test from the
``ray`` fixtures below, so the same files run against raylike (default) and real Ray
(``pytest tests/compat --ray-module=ray``, or ``tox -e ray``).
"""
from __future__ import annotations

import importlib
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
def ray_module(request: pytest.FixtureRequest) -> Any:
    """The module under test (``raylike`` or ``ray``), not initialised."""
    return importlib.import_module(request.config.getoption("--ray-module"))


def _start(ray: Any, **kwargs: Any) -> Any:
    if ray.is_initialized():
        ray.shutdown()
    kwargs.setdefault("num_cpus", 2)
    kwargs.setdefault("include_dashboard", False)
    ray.init(**kwargs)
    return ray


@pytest.fixture(scope="module")
def ray_shared(ray_module: Any) -> Iterator[Any]:
    """One cluster (2 CPUs) shared by every test of a module: the fast default."""
    ray = _start(ray_module)
    yield ray
    ray.shutdown()


@pytest.fixture(scope="module")
def ray_dashboard(ray_module: Any) -> Iterator[Any]:
    """A cluster (2 CPUs) shared by a module, with Ray's dashboard: Ray's state API needs
    it (raylike's does not, and its dashboard would need bokeh)."""
    ray = _start(ray_module, include_dashboard=ray_module.__name__ == "ray")
    yield ray
    ray.shutdown()


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
