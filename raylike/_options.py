"""Every ``@ray.remote`` / ``.options()`` keyword in one validated table.

Policy for options raylike cannot honour yet (``support="warn"``): they are validated like Ray
does and accepted, and the first use of each one emits a single ``RaylikeUnsupportedWarning``
naming it. Options that only carry metadata (``support="meta"``) are accepted silently.
"""
from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

TASK = "task"
ACTOR = "actor"


class RaylikeUnsupportedWarning(UserWarning):
    """An option or argument is accepted for compatibility but has no effect in raylike."""


def _resource_quantity(name: str, value: Any) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"The keyword '{name}' only accepts None, 0 or a positive number, "
                        f"got {type(value).__name__}.")
    if value < 0:
        raise ValueError(f"The keyword '{name}' only accepts None, 0 or a positive number, "
                         f"got {value}.")
    if value and int(value * 10_000) == 0:
        raise ValueError(f"The precision of the fractional quantity of resource {name} "
                         "cannot go beyond 0.0001")
    if name == "num_gpus" and value > 1 and value != int(value):
        raise ValueError(f"The keyword '{name}' only accepts a whole number above 1 "
                         f"(GPU resource quantity greater than 1 must be whole), got {value}.")


def _resources(name: str, value: Any) -> None:
    if value is None:
        return
    if not isinstance(value, dict):
        raise TypeError(f"The keyword '{name}' only accepts None or a dict, "
                        f"got {type(value).__name__}.")
    for key, quantity in value.items():
        if key in ("CPU", "GPU"):
            raise ValueError(f"Use the 'num_cpus' and 'num_gpus' keywords instead of 'CPU' and "
                             f"'GPU' in 'resources' (got {key!r}).")
        if not isinstance(key, str):
            raise TypeError(f"Resource names must be strings, got {key!r}.")
        _resource_quantity(f"{name}[{key!r}]", quantity)


def _int_at_least(low: int) -> Callable[[str, Any], None]:
    def check(name: str, value: Any) -> None:
        if value is None:
            return
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"The keyword '{name}' only accepts an integer, "
                            f"got {type(value).__name__}.")
        if value < low:
            raise ValueError(f"The keyword '{name}' only accepts an integer >= {low}, got {value}.")
    return check


STREAMING = -2  # ``num_returns="streaming"`` as a call carries it (Ray's own code)
DYNAMIC = -1  # ``num_returns="dynamic"``


def _num_returns(name: str, value: Any) -> None:
    if value in ("dynamic", "streaming"):
        return
    _int_at_least(0)(name, value)


def num_returns_code(value: Any, is_generator: bool) -> int:
    """``num_returns`` as a call carries it: ``None`` is ``"streaming"`` for a generator
    function (Ray 2's default) and 1 otherwise; ``"streaming"``/``"dynamic"`` become
    :data:`STREAMING`/:data:`DYNAMIC`. Raises ``ValueError`` for a generator mode on a function
    that does not ``yield``, as Ray does."""
    if value is None:
        return STREAMING if is_generator else 1
    if value in ("streaming", "dynamic"):
        if not is_generator:
            raise ValueError(f"num_returns='{value}' can only be used with generator functions "
                             "(functions that use 'yield'). The decorated function is not a "
                             "generator function.")
        return STREAMING if value == "streaming" else DYNAMIC
    return int(value)


def _backpressure(name: str, value: Any) -> None:
    _of_type(int)(name, value)
    if value == 0:
        raise ValueError("_generator_backpressure_num_objects=0 is not allowed. Use a value > 0 "
                         "(1 behaves like a Python generator), or -1 to disable it.")


def _retry_exceptions(name: str, value: Any) -> None:
    if isinstance(value, bool):
        return
    if isinstance(value, (list, tuple)) and all(
            isinstance(v, type) and issubclass(v, BaseException) for v in value):
        return
    raise TypeError(f"The keyword '{name}' only accepts a bool or a list of exception types.")


def _of_type(*types: type) -> Callable[[str, Any], None]:
    def check(name: str, value: Any) -> None:
        if value is not None and not isinstance(value, types):
            names = " or ".join(t.__name__ for t in types)
            raise TypeError(f"The keyword '{name}' only accepts None or {names}, "
                            f"got {type(value).__name__}.")
    return check


def _lifetime(name: str, value: Any) -> None:
    if value not in (None, "detached", "non_detached"):
        raise ValueError("actor 'lifetime' argument must be either None, 'detached' or "
                         f"'non_detached', got {value!r}.")


def validate_namespace(namespace: Any) -> None:
    """A namespace is None or a non-empty string (Ray's ``TypeError``/``ValueError``)."""
    if namespace is None:
        return
    if not isinstance(namespace, str):
        raise TypeError("namespace must be None or a string.")
    if namespace == "":
        raise ValueError('"" is not a valid namespace. Pass None to not specify a namespace.')


def _namespace(name: str, value: Any) -> None:
    validate_namespace(value)


def _any(name: str, value: Any) -> None:
    return None


def _runtime_env(name: str, value: Any) -> None:
    from raylike._runtime_env import check_option

    check_option(name, value)


@dataclass(frozen=True)
class Option:
    """One keyword: where it applies, its default, how it is checked, whether it is honoured."""

    kinds: tuple[str, ...]
    default: Any
    check: Callable[[str, Any], None]
    support: str = "yes"  # "yes" | "meta" (accepted, only metadata) | "warn" (see module doc)


_BOTH = (TASK, ACTOR)
OPTIONS: dict[str, Option] = {
    "num_cpus": Option(_BOTH, None, _resource_quantity),
    "num_gpus": Option(_BOTH, None, _resource_quantity),
    "resources": Option(_BOTH, None, _resources),
    "memory": Option(_BOTH, None, _resource_quantity),
    "object_store_memory": Option(_BOTH, None, _resource_quantity, "warn"),
    "accelerator_type": Option(_BOTH, None, _of_type(str)),
    "label_selector": Option(_BOTH, None, _of_type(dict), "warn"),
    "num_returns": Option((TASK,), None, _num_returns),
    "max_calls": Option((TASK,), 0, _int_at_least(0), "meta"),
    "max_retries": Option((TASK,), 3, _int_at_least(-1)),
    "retry_exceptions": Option((TASK,), False, _retry_exceptions),
    "name": Option(_BOTH, None, _of_type(str)),
    "namespace": Option((ACTOR,), None, _namespace),
    "lifetime": Option((ACTOR,), None, _lifetime),
    "get_if_exists": Option((ACTOR,), False, _of_type(bool)),
    "max_restarts": Option((ACTOR,), 0, _int_at_least(-1)),
    "max_task_retries": Option((ACTOR,), 0, _int_at_least(-1)),
    "max_concurrency": Option((ACTOR,), None, _int_at_least(1)),
    "max_pending_calls": Option((ACTOR,), -1, _int_at_least(-1), "meta"),
    "concurrency_groups": Option((ACTOR,), None, _of_type(dict, list)),
    "allow_out_of_order_execution": Option((ACTOR,), None, _of_type(bool)),
    "scheduling_strategy": Option(_BOTH, None, _any),
    "runtime_env": Option(_BOTH, None, _runtime_env),
    "placement_group": Option(_BOTH, "default", _any),
    "placement_group_bundle_index": Option(_BOTH, -1, _int_at_least(-1)),
    "placement_group_capture_child_tasks": Option(_BOTH, None, _of_type(bool)),
    "enable_task_events": Option(_BOTH, True, _of_type(bool), "meta"),
    "_metadata": Option(_BOTH, None, _of_type(dict), "meta"),
    "_labels": Option(_BOTH, None, _of_type(dict), "meta"),
    "concurrency_group": Option((TASK,), None, _of_type(str)),
    "_generator_backpressure_num_objects": Option((TASK,), -1, _backpressure),
}

_warned: set[str] = set()


def validate(kind: str, options: dict[str, Any]) -> dict[str, Any]:
    """Check ``options`` for a task or actor; return them unchanged. Raises ``ValueError`` for
    an unknown keyword (naming the valid ones) and ``TypeError``/``ValueError`` for bad values."""
    valid = sorted(name for name, opt in OPTIONS.items() if kind in opt.kinds)
    for name, value in options.items():
        opt = OPTIONS.get(name)
        if opt is None or kind not in opt.kinds:
            what = "remote functions" if kind == TASK else "actors"
            raise ValueError(f"Invalid option keyword {name} for {what}. "
                             f"Valid ones are {valid}.")
        opt.check(name, value)
        if opt.support == "warn" and value not in (None, opt.default):
            warn_unsupported(name)
    from raylike._pg_options import check_options

    check_options(options)
    return options


def warn_unsupported(name: str, why: str = "") -> None:
    """Warn, once per process and name, that ``name`` is accepted but has no effect."""
    if name not in _warned:
        _warned.add(name)
        text = why or (f"raylike accepts the option {name!r} for compatibility but does not "
                       "honour it yet.")
        warnings.warn(text, RaylikeUnsupportedWarning, stacklevel=_caller_level())


def _caller_level() -> int:
    """The ``stacklevel`` of the first frame outside raylike (the user's call)."""
    package = os.path.dirname(os.path.abspath(__file__)) + os.sep
    frame: Any = sys._getframe(1)
    level = 1
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(package):
        frame, level = frame.f_back, level + 1
    return level


def merged(kind: str, base: dict[str, Any], updates: dict[str, Any]) -> dict[str, Any]:
    """``base`` overlaid with validated ``updates`` (``.options()``)."""
    return {**base, **validate(kind, updates)}


def get(options: dict[str, Any], name: str) -> Any:
    """The value of ``name`` in ``options``, or the table's default."""
    value = options.get(name)
    return OPTIONS[name].default if value is None else value
