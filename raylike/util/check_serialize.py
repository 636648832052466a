"""``ray.util.inspect_serializability``: find what in a value keeps it from pickling.

It pickles the value (cloudpickle, as raylike does); on failure it looks inside, a few
levels deep, for the first member that fails on its own: a function's globals and closure
variables, an object's methods and attributes. It prints a report, in Ray's layout, and
returns whether the value pickles and the culprits found.
"""
from __future__ import annotations

import inspect
from typing import IO, Any

import cloudpickle

__all__ = ["FailureTuple", "inspect_serializability"]

_DOCS = "https://docs.ray.io/en/master/ray-core/objects/serialization.html#troubleshooting"


class FailureTuple:
    """One object that does not pickle: ``obj``, the names that lead to it (``path``) and
    the object that holds it (``parent``)."""

    def __init__(self, obj: Any, path: tuple[str, ...], parent: Any) -> None:
        self.obj = obj
        self.path = path
        self.parent = parent

    @property
    def name(self) -> str:
        """The culprit's own name (the last of ``path``), ``"unknown"`` at the top."""
        return str(self.path[-1]) if self.path else "unknown"

    def __repr__(self) -> str:
        path = " -> ".join("unknown" if p is None else str(p) for p in self.path)
        return f"FailTuple({self.name} [path={path}, obj={self.obj}, parent={self.parent}])"


class _Report:
    def __init__(self, file: IO[str] | None) -> None:
        self.file, self.level, self.failures = file, 0, set[FailureTuple]()

    def line(self, text: str) -> None:
        print("    " * self.level + text, file=self.file)


def inspect_serializability(base_obj: Any, name: str | None = None, depth: int = 3,
                            print_file: IO[str] | None = None
                            ) -> tuple[bool, set[FailureTuple]]:
    """Check whether ``base_obj`` pickles and, if not, which of its parts do not.

    Args:
        base_obj: a value, function or class.
        name: its name, used in the path of what fails.
        depth: how many levels of members to look through.
        print_file: where the report goes (``print``'s ``file``: stdout by default).

    Returns:
        ``(True, set())`` when it pickles, else ``(False, failures)``: the
        :class:`FailureTuple` of each culprit found.
    """
    report = _Report(print_file)
    title = f"Checking Serializability of {base_obj}"
    rule = "=" * min(len(title), 80)
    for text in (rule, title, rule):
        report.line(text)
    if _check(base_obj, name, depth, None, (), report):
        return True, report.failures
    report.line(rule)
    culprits = "\n".join(str(f) for f in report.failures)
    report.line(f"Variable: \n\n\t{culprits}\n\nwas found to be non-serializable. There may "
                "be multiple other undetected variables that were non-serializable. ")
    report.line("Consider either removing the instantiation/imports of these variables or "
                "moving the instantiation into the scope of the function/class. ")
    report.line(rule)
    report.line(f"Check {_DOCS} for more information.")
    report.line("If you have any suggestions on how to improve this error message, please "
                "reach out to the Ray developers on github.com/ray-project/ray/issues/")
    report.line(rule)
    return False, report.failures


def _check(obj: Any, name: str | None, depth: int, parent: Any, path: tuple[str, ...],
           report: _Report) -> bool:
    """Whether ``obj`` pickles; if not, records the culprits found inside it (or ``obj``)."""
    try:
        cloudpickle.dumps(obj)
        return True
    except Exception as exc:
        report.line(f"!!! FAIL serialization: {exc}")
    here = path + ((name,) if name is not None else ())
    if depth <= 0 or not _look_inside(obj, depth, here, report):
        report.failures.add(FailureTuple(obj, here, parent))
    return False


def _look_inside(obj: Any, depth: int, path: tuple[str, ...], report: _Report) -> bool:
    """Whether a member of ``obj`` that fails on its own was found (and recorded)."""
    if inspect.isfunction(obj):
        report.line(f"Inspecting closure of '{obj.__qualname__}':")
        closure = inspect.getclosurevars(obj)
        groups = [("global", closure.globals), ("nonlocal", closure.nonlocals)]
        what = obj.__qualname__
    else:
        members = _members(obj)
        groups = [("", dict(m for m in members if inspect.isfunction(m[1]))),
                  ("", dict(m for m in members if not inspect.isfunction(m[1])))]
        what = obj.__name__ if inspect.isclass(obj) else f"{type(obj).__name__} instance"
    for kind, variables in groups:
        if not variables:
            continue
        if kind:
            report.line(f"Detected {len(variables)} {kind} variables. "
                        "Checking serializability...")
        report.level += 1
        try:
            for var, value in variables.items():
                report.line(f"Serializing '{var}' {value}...")
                if not _check(value, var, depth - 1, obj, path, report):
                    return True
        finally:
            report.level -= 1
    report.line(f"WARNING: Did not find non-serializable object in {what}. This may be "
                "because the object is only non-serializable when combined with other "
                "objects, or because cloudpickle and the traversal disagree. Try calling "
                "`ray.util.inspect_serializability` on individual attributes to isolate "
                "the cause.")
    return False


def _members(obj: Any) -> list[tuple[str, Any]]:
    try:
        members = inspect.getmembers(obj)
    except Exception:  # a member whose lookup raises
        return []
    return [(n, v) for n, v in members
            if not (n.startswith("__") and n.endswith("__")) and not inspect.isbuiltin(v)]
