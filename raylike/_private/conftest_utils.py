"""Fixtures Ray's test conftest imports from ``ray._private.conftest_utils``."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from raylike._private import ray_constants


@pytest.fixture
def set_override_dashboard_url(monkeypatch: Any, request: Any) -> Iterator[None]:
    """Set ``RAY_OVERRIDE_DASHBOARD_URL`` (the parameter, or an example URL) for a test."""
    url = getattr(request, "param", "https://external_dashboard_url")
    with monkeypatch.context() as patch:
        if url:
            patch.setenv(ray_constants.RAY_OVERRIDE_DASHBOARD_URL, url)
        yield
