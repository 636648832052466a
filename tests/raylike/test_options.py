"""``raylike._api.options``: the one table of ``@ray.remote`` / ``.options()`` keywords."""
from __future__ import annotations

import warnings
from typing import Any

import pytest

import raylike as ray
from raylike._api import options as _options
from raylike._api.options import ACTOR, TASK, merged, validate
from raylike.exceptions import RaylikeUnsupportedWarning


@pytest.fixture
def fresh_warnings(monkeypatch: pytest.MonkeyPatch) -> set[str]:
    """Forget which options have warned already (the policy is once per process)."""
    warned: set[str] = set()
    monkeypatch.setattr(_options, "_warned", warned)
    return warned


def _valid(kind: str) -> list[str]:
    return sorted(n for n, o in _options.OPTIONS.items() if kind in o.kinds)


@pytest.mark.parametrize("kind, what", [(TASK, "remote functions"), (ACTOR, "actors")])
def test_unknown_keyword_names_the_valid_ones(kind: str, what: str) -> None:
    with pytest.raises(ValueError) as info:
        validate(kind, {"num_cpu": 1})
    message = str(info.value)
    assert "num_cpu" in message and what in message
    assert str(_valid(kind)) in message
    for name in ("num_cpus", "num_gpus", "resources"):
        assert repr(name) in message


@pytest.mark.parametrize("kind, name", [(TASK, "lifetime"), (TASK, "max_restarts"),
                                        (TASK, "namespace"), (ACTOR, "num_returns"),
                                        (ACTOR, "max_retries"), (ACTOR, "retry_exceptions")])
def test_keyword_of_the_other_kind_is_unknown(kind: str, name: str) -> None:
    with pytest.raises(ValueError, match=f"Invalid option keyword {name}"):
        validate(kind, {name: _options.OPTIONS[name].default})


def test_every_option_default_validates() -> None:
    for kind in (TASK, ACTOR):
        defaults = {n: _options.OPTIONS[n].default for n in _valid(kind)}
        assert validate(kind, defaults) == defaults


@pytest.mark.parametrize("name", ["num_cpus", "num_gpus", "memory", "object_store_memory"])
def test_negative_quantity_is_a_value_error(name: str) -> None:
    with pytest.raises(ValueError, match=name):
        validate(TASK, {name: -1})


@pytest.mark.parametrize("value", ["2", [1], True, object()])
@pytest.mark.parametrize("name", ["num_cpus", "num_gpus", "memory"])
def test_non_number_quantity_is_a_type_error(name: str, value: Any) -> None:
    with pytest.raises(TypeError, match=name):
        validate(TASK, {name: value})


@pytest.mark.parametrize("options", [{"num_cpus": 0}, {"num_cpus": 0.5}, {"num_gpus": 0.25},
                                     {"num_gpus": 3}, {"num_gpus": 2.0}, {"memory": 10**9},
                                     {"resources": {"custom": 0.5}}, {"num_cpus": None}])
def test_good_quantities(options: dict[str, Any]) -> None:
    assert validate(TASK, options) == options


def test_fractional_gpus_above_one_pass_the_option_table() -> None:
    """Ray accepts ``num_gpus=1.5`` as an option and refuses it at submission (the compat
    test ``test_resources`` checks that part)."""
    assert validate(TASK, {"num_gpus": 1.5})["num_gpus"] == 1.5


def test_quantity_precision() -> None:
    with pytest.raises(ValueError, match="0.0001"):
        validate(TASK, {"num_cpus": 0.00001})


@pytest.mark.parametrize("resources, error", [
    ({"CPU": 1}, ValueError), ({"GPU": 1}, ValueError), ([("x", 1)], TypeError),
    ({1: 1}, TypeError), ({"x": -1}, ValueError), ({"x": "1"}, TypeError),
])
def test_resources(resources: Any, error: type[Exception]) -> None:
    with pytest.raises(error):
        validate(TASK, {"resources": resources})


@pytest.mark.parametrize("value, error", [(-1, ValueError), (-2, ValueError),
                                          (1.0, TypeError), ("2", TypeError),
                                          ("many", TypeError)])
def test_num_returns_bad(value: Any, error: type[Exception]) -> None:
    with pytest.raises(error, match="num_returns"):
        validate(TASK, {"num_returns": value})


@pytest.mark.parametrize("value", [0, 1, 3, True, "streaming", "dynamic"])  # Ray takes True
def test_num_returns_good(value: Any) -> None:
    assert validate(TASK, {"num_returns": value}) == {"num_returns": value}


@pytest.mark.parametrize("value", [True, False, [ValueError], (KeyError, OSError), []])
def test_retry_exceptions_good(value: Any) -> None:
    assert validate(TASK, {"retry_exceptions": value}) == {"retry_exceptions": value}


@pytest.mark.parametrize("value, error", [
    ("yes", TypeError), (1, TypeError), (ValueError, TypeError), ({ValueError}, TypeError),
    ([ValueError, 3], ValueError), ([int], ValueError)])  # as Ray 2.60: a list is checked later
def test_retry_exceptions_bad_type(value: Any, error: type[Exception]) -> None:
    with pytest.raises(error, match="retry_exceptions"):
        validate(TASK, {"retry_exceptions": value})


@pytest.mark.parametrize("value, error", [("forever", ValueError), ("DETACHED", ValueError),
                                          (1, TypeError), (True, TypeError)])
def test_lifetime_bad_value(value: Any, error: type[Exception]) -> None:
    with pytest.raises(error, match="lifetime"):
        validate(ACTOR, {"lifetime": value})


@pytest.mark.parametrize("value", [None, "detached", "non_detached"])
def test_lifetime_good(value: Any) -> None:
    assert validate(ACTOR, {"lifetime": value}) == {"lifetime": value}


@pytest.mark.parametrize("kind, name, value, error", [
    (TASK, "max_retries", -2, ValueError), (TASK, "max_retries", 1.5, TypeError),
    (ACTOR, "max_restarts", -2, ValueError), (ACTOR, "max_task_retries", -2, ValueError),
    (ACTOR, "max_concurrency", 0, ValueError), (ACTOR, "max_pending_calls", -2, ValueError),
    (TASK, "name", 3, TypeError), (ACTOR, "namespace", 3, TypeError),
    (ACTOR, "get_if_exists", "yes", TypeError), (TASK, "runtime_env", "env", TypeError),
])
def test_other_validators(kind: str, name: str, value: Any, error: type[Exception]) -> None:
    with pytest.raises(error, match=name):
        validate(kind, {name: value})


def test_warn_policy_once_per_option(fresh_warnings: set[str]) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(3):  # options still accepted without effect
            validate(ACTOR, {"enable_tensor_transport": True})
            validate(ACTOR, {"_actor_generator_backpressure_num_objects": 2})
            validate(TASK, {"_num_objects_per_yield": 2})
    unsupported = [w for w in caught if issubclass(w.category, RaylikeUnsupportedWarning)]
    assert len(unsupported) == 3
    assert "'enable_tensor_transport'" in str(unsupported[0].message)
    assert "'_actor_generator_backpressure_num_objects'" in str(unsupported[1].message)
    assert "'_num_objects_per_yield'" in str(unsupported[2].message)
    assert fresh_warnings == {"enable_tensor_transport",
                              "_actor_generator_backpressure_num_objects",
                              "_num_objects_per_yield"}


def test_warn_policy_is_silent_for_defaults_and_supported_options(
        fresh_warnings: set[str]) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any warning fails the test
        validate(TASK, {"runtime_env": None, "placement_group": "default",
                        "placement_group_bundle_index": -1})
        validate(TASK, {"max_calls": 5, "enable_task_events": False, "num_cpus": 2,
                        "max_retries": 0, "scheduling_strategy": "SPREAD",
                        "label_selector": {"zone": "a"}})
    assert fresh_warnings == set()


def test_warning_points_at_the_callers_line(fresh_warnings: set[str]) -> None:
    def g() -> None:
        pass

    class C:
        pass

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ray.remote(g).options(_num_objects_per_yield=2)
        ray.remote(C).options(enable_tensor_transport=True)
    assert [type(w.message) for w in caught] == [RaylikeUnsupportedWarning] * 2
    assert [w.filename for w in caught] == [__file__, __file__], \
        [f"{w.filename}:{w.lineno}" for w in caught]


def test_merged_leaves_the_base_unchanged() -> None:
    base = {"num_cpus": 1, "max_retries": 2}
    copy = dict(base)
    out = merged(TASK, base, {"num_cpus": 2, "num_returns": 3})
    assert out == {"num_cpus": 2, "max_retries": 2, "num_returns": 3}
    assert base == copy
    assert out is not base
    with pytest.raises(ValueError):
        merged(TASK, base, {"num_cpus": -1})
    assert base == copy


def test_options_copy_leaves_the_remote_function_unchanged() -> None:
    def g() -> int:
        return 1

    f = ray.remote(num_cpus=1)(g)
    f2 = f.options(num_cpus=2, max_retries=0)
    assert f._options == {"num_cpus": 1}
    assert f2._options == {"num_cpus": 2, "max_retries": 0}


def test_get_falls_back_to_the_default() -> None:
    assert _options.get({}, "max_retries") == 3
    assert _options.get({"max_retries": None}, "max_retries") == 3
    assert _options.get({"max_retries": 0}, "max_retries") == 0
    assert _options.get({}, "num_returns") is None  # 1, or "streaming" for a generator
    assert _options.num_returns_code(None, is_generator=False) == 1
    assert _options.num_returns_code(None, is_generator=True) == _options.STREAMING


@pytest.mark.timeout(60)
def test_init_warning_points_at_the_callers_line(fresh_warnings: set[str]) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ray.init(num_cpus=1, include_dashboard=False, local_mode=True)
    unsupported = [w for w in caught if issubclass(w.category, RaylikeUnsupportedWarning)]
    assert len(unsupported) == 1
    assert "'local_mode'" in str(unsupported[0].message)
    assert unsupported[0].filename == __file__, \
        f"{unsupported[0].filename}:{unsupported[0].lineno}"
