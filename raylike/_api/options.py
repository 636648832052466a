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

from raylike.exceptions import RaylikeUnsupportedWarning

TASK = "task"
ACTOR = "actor"


NONE = type(None)


def _resource_quantity(name: str, value: Any) -> None:
    """Ray's check of a resource quantity (``num_cpus``, ``resources[...]``, ...)."""
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"The type of keyword '{name}' must be {(float, int, NONE)}, "
                        f"but received type {type(value)}")
    if value < 0:
        raise ValueError(f"The quantity of resource {name} cannot be negative")
    if isinstance(value, float) and value and int(value * 10_000) == 0:
        raise ValueError(f"The precision of the fractional quantity of resource {name} "
                         "cannot go beyond 0.0001")


def _resources(name: str, value: Any) -> None:
    if value is None:
        return
    if not isinstance(value, dict):
        raise TypeError(f"The type of keyword '{name}' must be {(dict, NONE)}, "
                        f"but received type {type(value)}")
    if "CPU" in value or "GPU" in value:
        raise ValueError("Use the 'num_cpus' and 'num_gpus' keyword instead of 'CPU' and "
                         "'GPU' in 'resources' keyword")
    for key, quantity in value.items():
        if not isinstance(key, str):
            raise TypeError(f"Resource names must be strings, got {key!r}.")
        _resource_quantity(key, quantity)


def _counting(infinite: bool) -> Callable[[str, Any], None]:
    """Ray's counting options: None, 0 or a positive integer (and -1, for infinity)."""
    def check(name: str, value: Any) -> None:
        if value is None:
            return
        if infinite and value < -1:
            raise ValueError(f"The keyword '{name}' only accepts None, 0, -1 or a positive "
                             "integer, where -1 represents infinity.")
        if not infinite and value < 0:
            raise ValueError(f"The keyword '{name}' only accepts None, 0 or a positive "
                             "integer.")
    return check


def _positive(name: str, value: Any) -> None:
    if value is not None and value < 1:
        raise ValueError(f"The keyword '{name}' only accepts None or a positive integer, "
                         f"got {value}.")


STREAMING = -2  # ``num_returns="streaming"`` as a call carries it (Ray's own code)
DYNAMIC = -1  # ``num_returns="dynamic"``


def _num_returns(name: str, value: Any) -> None:
    if value is None or value in ("dynamic", "streaming"):
        return
    if isinstance(value, str):  # Ray fails comparing it to 0: a TypeError
        raise TypeError(f"num_returns must be None, a non-negative integer, 'streaming' or "
                        f"'dynamic', not {value!r}")
    if value < 0:
        raise ValueError("Default None. When None is passed, The default value is 1 for a task "
                         "and actor task, and 'streaming' for generator tasks and generator "
                         "actor tasks. The keyword 'num_returns' only accepts None, a "
                         "non-negative integer, 'streaming' (for generators), or 'dynamic'. "
                         "'dynamic' flag will be deprecated in the future, and it is "
                         "recommended to use 'streaming' instead.")


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
    if value == 0:
        raise ValueError("_generator_backpressure_num_objects=0 is not allowed. Use a value > 0 "
                         "(1 behaves like a Python generator), or -1 to disable it.")


def _retry_exceptions(name: str, value: Any) -> None:
    if isinstance(value, bool):
        return
    if all(isinstance(v, type) and issubclass(v, Exception) for v in value):
        return
    raise ValueError("retry_exceptions must be either a boolean or a list of exceptions")


def _lifetime(name: str, value: Any) -> None:
    if value not in (None, "detached", "non_detached"):
        raise ValueError("actor `lifetime` argument must be one of 'detached', "
                         "'non_detached' and 'None'.")


def _task_object_store_memory(name: str, value: Any) -> None:
    if value is not None:
        raise ValueError("Setting 'object_store_memory' is not implemented for tasks")


def _actor_object_store_memory() -> None:
    """Ray deprecates the option for actors (it never reserved anything): say so."""
    from raylike._private.utils import get_ray_doc_version

    warnings.warn("Setting 'object_store_memory' for actors is deprecated since it doesn't "
                  "actually reserve the required object store memory. Use object spilling "
                  f"that's enabled by default (https://docs.ray.io/en/{get_ray_doc_version()}/"
                  "ray-core/objects/object-spilling.html) instead to bypass the object store "
                  "memory size limitation.", DeprecationWarning, stacklevel=1)


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


def _none(name: str, value: Any) -> None:
    return None


def _labels(name: str, value: Any) -> None:
    """``label_selector`` and ``fallback_strategy``: Ray's label syntax."""
    from raylike._private import label_utils

    error = (label_utils.validate_label_selector(value) if name == "label_selector"
             else label_utils.validate_fallback_strategy(value))
    if error:
        raise ValueError(error)


def _strategy(name: str, value: Any) -> None:
    """``scheduling_strategy``: None, a name (``"DEFAULT"``, ``"SPREAD"``) or a strategy."""
    from raylike.util import scheduling_strategies as strategies

    kinds = (NONE, str, *(getattr(strategies, cls) for cls in (
        "PlacementGroupSchedulingStrategy", "NodeAffinitySchedulingStrategy",
        "NodeLabelSchedulingStrategy") if hasattr(strategies, cls)))
    if not isinstance(value, kinds):
        raise TypeError(f"The type of keyword '{name}' must be {kinds}, "
                        f"but received type {type(value)}")


def _placement_group(name: str, value: Any) -> None:
    from raylike._api.placement_groups import PlacementGroup

    kinds = (NONE, str, PlacementGroup)
    if not isinstance(value, kinds):
        raise TypeError(f"The type of keyword '{name}' must be {kinds}, "
                        f"but received type {type(value)}")


def _runtime_env(name: str, value: Any) -> None:
    from raylike._api.runtime_env import check_option

    check_option(name, value)


@dataclass(frozen=True)
class Option:
    """One keyword: where it applies, its default, its type, how its value is checked, whether
    it is honoured. ``validate`` and ``default_value`` are Ray's names
    (``ray._common.ray_option_utils``)."""

    kinds: tuple[str, ...]
    default: Any
    types: type | tuple[type, ...] | None  # None: ``check`` checks the type itself
    check: Callable[[str, Any], None] = _none  # the value, once its type is right
    support: str = "yes"  # "yes" | "meta" (accepted, only metadata) | "warn" (see module doc)

    @property
    def default_value(self) -> Any:
        return self.default

    def validate(self, name: str, value: Any) -> None:
        """Ray's checks: ``TypeError`` for a value of the wrong type, else ``ValueError``."""
        if self.types is not None and not isinstance(value, self.types):
            raise TypeError(f"The type of keyword '{name}' must be {self.types}, "
                            f"but received type {type(value)}")
        self.check(name, value)


_BOTH = (TASK, ACTOR)
_COUNT = (int, NONE)
_QUANTITY = (float, int, NONE)
OPTIONS: dict[str, Option] = {
    "num_cpus": Option(_BOTH, None, _QUANTITY, _resource_quantity),
    "num_gpus": Option(_BOTH, None, _QUANTITY, _resource_quantity),
    "resources": Option(_BOTH, None, (dict, NONE), _resources),
    "memory": Option(_BOTH, None, _QUANTITY, _resource_quantity),
    "object_store_memory": Option(_BOTH, None, _COUNT, _counting(False), "warn"),
    "accelerator_type": Option(_BOTH, None, (str, NONE)),
    "label_selector": Option(_BOTH, None, (dict, NONE), _labels),
    "fallback_strategy": Option(_BOTH, None, (list, NONE), _labels),
    "num_returns": Option((TASK,), None, (int, str, NONE), _num_returns),
    "max_calls": Option((TASK,), 0, _COUNT, _counting(False), "meta"),
    "max_retries": Option((TASK,), 3, _COUNT, _counting(True)),
    "retry_exceptions": Option((TASK,), False, (bool, list, tuple), _retry_exceptions),
    "name": Option(_BOTH, None, (str, NONE)),
    "namespace": Option((ACTOR,), None, (str, NONE), _namespace),
    "lifetime": Option((ACTOR,), None, (str, NONE), _lifetime),
    "get_if_exists": Option((ACTOR,), False, bool),
    "max_restarts": Option((ACTOR,), 0, _COUNT, _counting(True)),
    "max_task_retries": Option((ACTOR,), 0, _COUNT, _counting(True)),
    "max_concurrency": Option((ACTOR,), None, _COUNT, _positive),
    "max_pending_calls": Option((ACTOR,), -1, _COUNT, _counting(True), "meta"),
    "concurrency_groups": Option((ACTOR,), None, (list, dict, NONE)),
    "allow_out_of_order_execution": Option((ACTOR,), None, (bool, NONE)),
    "enable_tensor_transport": Option((ACTOR,), None, (bool, NONE), support="warn"),
    "scheduling_strategy": Option(_BOTH, None, None, _strategy),
    "runtime_env": Option(_BOTH, None, (dict, NONE), _runtime_env),
    "placement_group": Option(_BOTH, "default", None, _placement_group),
    "placement_group_bundle_index": Option(_BOTH, -1, int, _counting(True)),
    "placement_group_capture_child_tasks": Option(_BOTH, None, (bool, NONE)),
    "enable_task_events": Option(_BOTH, True, bool, support="meta"),
    "_metadata": Option(_BOTH, None, (dict, NONE), support="meta"),
    "_labels": Option(_BOTH, None, (dict, NONE), support="meta"),
    "concurrency_group": Option((TASK,), None, (str, NONE)),
    "_generator_backpressure_num_objects": Option((TASK,), -1, _COUNT, _backpressure),
    "_num_objects_per_yield": Option((TASK,), 1, _COUNT, _positive, "warn"),
    "_actor_generator_backpressure_num_objects": Option((ACTOR,), None, _COUNT,
                                                         _backpressure, "warn"),
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
        opt.validate(name, value)
        if name == "object_store_memory":
            if kind == TASK:
                _task_object_store_memory(name, value)
            else:
                _actor_object_store_memory()
                continue  # Ray's deprecation says all there is to say
        if opt.support == "warn" and value not in (None, opt.default):
            warn_unsupported(name)
    from raylike._api.pg_options import check_options

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
    fixed = "max_calls" if kind == TASK else "concurrency_groups"  # decorator-only, as in Ray
    if fixed in updates:
        raise ValueError(f"Setting '{fixed}' is not supported in '.options()'.")
    combined = {**base, **validate(kind, updates)}
    from raylike._api.pg_options import check_options

    check_options(combined)  # Ray checks the merged options: a decorator's strategy counts
    return combined


def get(options: dict[str, Any], name: str) -> Any:
    """The value of ``name`` in ``options``, or the table's default."""
    value = options.get(name)
    return OPTIONS[name].default if value is None else value
