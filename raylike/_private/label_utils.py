"""Ray's ``ray._private.label_utils``: the syntax of node labels and label selectors
(Kubernetes-style keys ``[prefix/]name``, values of at most 63 characters, selectors with
``!`` and ``in(a, b)``). Each check returns an error message, or None when valid."""
from __future__ import annotations

import re
from typing import Any

__all__ = ["validate_fallback_strategy", "validate_label_key", "validate_label_selector",
           "validate_label_selector_value", "validate_label_value"]

_NAME = r"[a-zA-Z0-9](?:[a-zA-Z0-9_.-]{0,61}[a-zA-Z0-9])?"
_PREFIX = re.compile(rf"(?:{_NAME})?(?:\.(?:{_NAME})?)*")
_SELECTOR = re.compile(rf"!?(?:in)?\({_NAME}(?:, ?{_NAME})*\)|!?{_NAME}")
_RULES = ("must be 63 chars or less beginning and ending with an alphanumeric character "
          "([a-z0-9A-Z]) with dashes (-), underscores (_), dots (.), and alphanumerics between.")


def validate_label_key(key: str) -> str | None:
    """An error message if ``key`` is not ``[prefix/]name`` with a DNS-like prefix."""
    name = key
    if "/" in key:
        prefix, name = key.rsplit("/", 1)
        if len(prefix) > 253 or not _PREFIX.fullmatch(prefix):
            return (f"Invalid label key prefix `{prefix}`. Prefix must be a series of DNS "
                    "labels separated by dots (.), not longer than 253 characters in total.")
    if len(name) > 63 or not re.fullmatch(_NAME, name):
        return f"Invalid label key name `{name}`. Name {_RULES}"
    return None


def validate_label_value(value: str) -> None:
    """Raise ``ValueError`` if a node label's ``value`` is not empty nor a valid name."""
    if value != "" and (len(value) > 63 or not re.fullmatch(_NAME, value)):
        raise ValueError(f"Invalid label key value `{value}`. Value {_RULES}")


def validate_label_selector_value(selector: str) -> str | None:
    """An error message if ``selector`` is not a value, ``!value``, ``in(a, b)`` or
    ``!in(a, b)`` (the empty string is valid)."""
    if selector == "" or _SELECTOR.fullmatch(selector):
        return None
    return (f"Invalid label selector value `{selector}`. The label selector value should "
            "contain optional operators and a label value. Supported operators are: ! and "
            f"{{'in'}}. Value {_RULES}")


def validate_label_selector(label_selector: dict[str, str] | None) -> str | None:
    """The first error message among the selector's keys and values, or None."""
    for key, value in (label_selector or {}).items():
        error = validate_label_key(key)
        if error is None and value is not None:
            error = validate_label_selector_value(value)
        if error:
            return error
    return None


def validate_fallback_strategy(fallback_strategy: list[dict[str, Any]] | None) -> str | None:
    """An error message if ``fallback_strategy`` is not a list of non-empty dicts whose only
    key is ``label_selector``, each a valid selector; None when valid."""
    for strategy in fallback_strategy or []:
        if not isinstance(strategy, dict):
            return "Each element in fallback_strategy must be a dictionary."
        if not strategy:
            return "Empty dictionary found in `fallback_strategy`."
        unknown = [key for key in strategy if key != "label_selector"]
        if unknown:
            return (f"Unsupported option found: '{unknown[0]}'. Only ['label_selector'] is "
                    "currently supported.")
        selector = strategy["label_selector"]
        if selector and not isinstance(selector, dict):
            return 'The value of "label_selector" must be a dictionary.'
        error = validate_label_selector(selector or None)
        if error:
            return error
    return None
