"""``ray.util.joblib``: scikit-learn's ``n_jobs`` work on the cluster gives the default
backend's results. Needs scikit-learn: run by ``tox -e joblib`` (``-m joblib``)."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

pytestmark = [pytest.mark.joblib, pytest.mark.timeout(300)]


@pytest.fixture(scope="module")
def joblib() -> Any:
    """joblib, imported only in the tests' run (``-m joblib``: the default run deselects
    them, and has no joblib to import)."""
    import joblib

    return joblib


@pytest.fixture(scope="module")
def ray() -> Iterator[Any]:
    import raylike

    raylike.init(num_cpus=2)
    from raylike.util.joblib import register_ray

    register_ray()
    yield raylike
    raylike.shutdown()


def test_parallel_results_equal_the_default_backends(ray: Any, joblib: Any) -> None:
    from math import sqrt

    expected = joblib.Parallel(n_jobs=1)(joblib.delayed(sqrt)(i ** 2) for i in range(20))
    with joblib.parallel_backend("ray"):
        got = joblib.Parallel(n_jobs=-1)(joblib.delayed(sqrt)(i ** 2) for i in range(20))
    assert got == expected


def test_cross_val_score_and_grid_search(ray: Any, joblib: Any) -> None:
    from sklearn.datasets import load_iris
    from sklearn.model_selection import GridSearchCV, cross_val_score
    from sklearn.svm import SVC

    x, y = load_iris(return_X_y=True)
    expected = cross_val_score(SVC(), x, y, cv=3, n_jobs=1)
    with joblib.parallel_backend("ray"):
        got = cross_val_score(SVC(), x, y, cv=3, n_jobs=2)
        search = GridSearchCV(SVC(), {"C": [0.1, 1.0], "kernel": ["linear", "rbf"]}, cv=3,
                              n_jobs=-1).fit(x, y)
    assert list(got) == list(expected)
    reference = GridSearchCV(SVC(), {"C": [0.1, 1.0], "kernel": ["linear", "rbf"]}, cv=3,
                             n_jobs=1).fit(x, y)
    assert search.best_params_ == reference.best_params_
    assert search.best_score_ == reference.best_score_


def test_errors_reach_the_caller(ray: Any, joblib: Any) -> None:
    def boom(i: int) -> int:
        raise ValueError(f"joblib-boom {i}")

    with joblib.parallel_backend("ray"), pytest.raises(ValueError, match="joblib-boom"):
        joblib.Parallel(n_jobs=2)(joblib.delayed(boom)(i) for i in range(4))
