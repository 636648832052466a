"""``ray.util.annotations``: the stability markers Ray puts on its API, for code that uses them
on its own (``@PublicAPI``, ``@DeveloperAPI``, ``@Deprecated``) and ``RayDeprecationWarning``.
"""
from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["Deprecated", "DeveloperAPI", "PublicAPI", "RayDeprecationWarning"]

F = TypeVar("F", bound=Callable[..., Any])

DEPRECATION_MESSAGE = ("This API is deprecated and may be removed in future Ray releases. You "
                       "could suppress this warning by setting env variable "
                       'PYTHONWARNINGS="ignore::DeprecationWarning"')


class RayDeprecationWarning(DeprecationWarning):
    """A Ray API that is deprecated was used."""


def _marker(*args: Any, **kwargs: Any) -> Any:
    """A decorator usable bare (``@PublicAPI``) or called (``@PublicAPI(stability=...)``)
    that returns what it decorates unchanged."""
    if len(args) == 1 and not kwargs and callable(args[0]):
        return args[0]
    return lambda obj: obj


PublicAPI = _marker
DeveloperAPI = _marker


DOC_MESSAGE = "**DEPRECATED**: This API is deprecated and may be removed in future Ray releases."


def _doc_indent(doc: str) -> int:
    """The indentation of a docstring's body (its second non-empty line; the summary line
    has none)."""
    lines = [line for line in doc.splitlines() if line.strip()]
    return len(lines[1]) - len(lines[1].lstrip()) if len(lines) > 1 else 0


def _append_warning(obj: Any, message: str) -> None:
    """Add a reST ``.. warning::`` block saying ``message`` to ``obj``'s docstring, at the
    docstring's own indentation (as Ray's ``Deprecated`` documents what it marks)."""
    doc = (obj.__doc__ or "").rstrip()
    pad = " " * _doc_indent(doc)
    body = message.replace("\n", "\n" + pad + "    ")
    try:
        obj.__doc__ = f"{doc}\n\n{pad}.. warning::\n\n{pad}    {body}\n{pad}"
    except (AttributeError, TypeError):  # a built-in or slotted object: its doc is fixed
        pass


def Deprecated(*args: Any, message: str = "", warning: bool = False) -> Any:  # noqa: N802
    """Mark a function or class deprecated: its docstring says so (with ``message``), and with
    ``warning=True`` each use warns (``RayDeprecationWarning``)."""
    if len(args) == 1 and callable(args[0]):
        return Deprecated()(args[0])
    text = DEPRECATION_MESSAGE + (f"\n{message}" if message else "")
    doc_text = DOC_MESSAGE + (f"\n{message}" if message else "")

    def inner(obj: F) -> F:
        _append_warning(obj, doc_text)
        if not warning:
            return obj
        if isinstance(obj, type):
            original = obj.__init__  # type: ignore[misc]

            @functools.wraps(original)
            def init(self: Any, *a: Any, **kw: Any) -> None:
                warnings.warn(text, RayDeprecationWarning, stacklevel=2)
                original(self, *a, **kw)

            obj.__init__ = init  # type: ignore[misc]
            return obj

        @functools.wraps(obj)
        def wrapper(*a: Any, **kw: Any) -> Any:
            warnings.warn(text, RayDeprecationWarning, stacklevel=2)
            return obj(*a, **kw)

        return wrapper  # type: ignore[return-value]

    return inner
