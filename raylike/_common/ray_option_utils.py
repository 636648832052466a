"""Ray's ``ray._common.ray_option_utils``: the option tables of tasks and actors, read from
raylike's one table (``raylike._api.options``). Each entry has Ray's ``default_value`` and
``validate(keyword, value)``."""
from __future__ import annotations

import dataclasses
from typing import Any

from raylike._api.options import ACTOR, OPTIONS, TASK, Option, merged, validate

__all__ = ["Option", "actor_options", "task_options", "update_options", "valid_options",
           "validate_actor_options", "validate_task_options"]


def _table(kind: str) -> dict[str, Option]:
    table = {name: opt for name, opt in OPTIONS.items() if kind in opt.kinds}
    if kind == TASK:  # a task asks for one CPU unless told otherwise; an actor's lifetime, none
        table["num_cpus"] = dataclasses.replace(table["num_cpus"], default=1)
    return table


task_options: dict[str, Option] = _table(TASK)
actor_options: dict[str, Option] = _table(ACTOR)
valid_options: dict[str, Option] = {**task_options, **actor_options}


def validate_task_options(options: dict[str, Any], in_options: bool) -> None:
    """Check a task's options (``in_options``: given to ``.options()``)."""
    if in_options:
        merged(TASK, {}, options)
    else:
        validate(TASK, options)


def validate_actor_options(options: dict[str, Any], in_options: bool) -> None:
    """Check an actor's options (``in_options``: given to ``.options()``)."""
    if in_options:
        merged(ACTOR, {}, options)
    else:
        validate(ACTOR, options)
    if options.get("get_if_exists") and not options.get("name"):
        raise ValueError("The actor name must be specified to use `get_if_exists`.")


def update_options(original: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """``original`` overlaid with ``new`` (a shallow copy)."""
    return {**original, **new}
