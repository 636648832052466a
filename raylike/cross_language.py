"""``ray.cross_language``: calling Java and C++ code from Python, which raylike cannot do.

Ray's cross-language calls run functions and actors of Ray's Java and C++ workers; a Dask
cluster has only Python workers, so each entry point raises ``NotImplementedError`` naming why.
``Language`` is kept for code that names it.
"""
from __future__ import annotations

import enum
from typing import Any, NoReturn

__all__ = ["Language", "cpp_actor_class", "cpp_function", "java_actor_class", "java_function"]


class Language(enum.IntEnum):
    """The languages of Ray's workers."""

    PYTHON = 0
    JAVA = 1
    CPP = 2

    def __repr__(self) -> str:
        return self.name

    __str__ = __repr__


def _no_workers(language: str, what: str) -> NoReturn:
    raise NotImplementedError(f"{what} needs Ray's {language} workers; raylike runs on a Dask "
                              f"cluster, whose workers run Python only.")


def java_function(class_name: str, function_name: str) -> Any:
    """Not available in raylike (a Java function of Ray's Java workers)."""
    _no_workers("Java", f"ray.java_function({class_name!r}, {function_name!r})")


def java_actor_class(class_name: str) -> Any:
    """Not available in raylike (a Java actor class of Ray's Java workers)."""
    _no_workers("Java", f"ray.java_actor_class({class_name!r})")


def cpp_function(function_name: str) -> Any:
    """Not available in raylike (a C++ function of Ray's C++ workers)."""
    _no_workers("C++", f"ray.cpp_function({function_name!r})")


def cpp_actor_class(create_function_name: str, class_name: str) -> Any:
    """Not available in raylike (a C++ actor class of Ray's C++ workers)."""
    _no_workers("C++", f"ray.cpp_actor_class({create_function_name!r}, {class_name!r})")
