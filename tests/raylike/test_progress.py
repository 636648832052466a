"""``raylike.util.progress``: wait for refs while showing a bar (text, or a Jupyter widget)."""
from __future__ import annotations

import io
import sys
import time
import types
from typing import Any

import pytest

import raylike as ray
from raylike.exceptions import GetTimeoutError
from raylike.util import _progress

pytestmark = pytest.mark.timeout(120)


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _start() -> Any:
    ray.init(num_cpus=2, include_dashboard=False)

    @ray.remote(num_cpus=0)
    def nap(seconds: float, value: Any = None) -> Any:
        time.sleep(seconds)
        return value

    return nap


def test_line_format() -> None:
    text = _progress.line("work", 9, 20, 3.0)
    assert text.startswith("work:  45%|")
    assert text.endswith("| 9/20 [00:03<00:03]")
    assert _progress.line("x", 0, 4, 0.0).endswith("0/4 [00:00<?]")


def test_not_a_terminal_prints_one_line_and_returns_the_refs() -> None:
    nap = _start()
    refs = [nap.remote(0.1 * i, i) for i in range(4)]
    out = io.StringIO()
    assert ray.util.progress(refs, desc="naps", file=out) is refs
    text = out.getvalue()
    assert text.count("\n") == 1 and "\r" not in text
    assert text.startswith("naps: 4/4 done in ")
    assert ray.get(refs) == [0, 1, 2, 3]


def test_terminal_redraws_in_place() -> None:
    nap = _start()
    refs = [nap.remote(0.15 * i) for i in range(5)]
    out = FakeTerminal()
    ray.util.progress(refs, desc="bar", file=out, interval=0.05)
    text = out.getvalue()
    assert text.startswith("\rbar:   0%|")
    assert text.count("\r") >= 3  # redrawn as the naps finish
    last = text.rsplit("\r", 1)[1]
    assert last.startswith("bar: 100%|" + "#" * 30 + "| 5/5 [") and last.endswith("<00:00]\n")
    assert text.count("\n") == 1


def test_values_single_refs_and_any_kind_of_ref() -> None:
    nap = _start()

    @ray.remote
    class Counter:
        def __init__(self) -> None:
            self.n = 0

        def incr(self) -> int:
            self.n += 1
            return self.n

    counter = Counter.remote()
    refs = [nap.remote(0.05, "task"), ray.put("put"), counter.incr.remote()]
    out = io.StringIO()
    assert ray.util.progress(refs, return_values=True, file=out) == ["task", "put", 1]
    assert ray.util.progress(refs[0], return_values=True, file=out) == "task"
    assert ray.util.progress(refs[1], file=out) is refs[1]
    assert ray.util.progress(refs + refs, return_values=True, file=out)[3:] == ["task", "put", 1]
    empty = io.StringIO()
    assert ray.util.progress([], file=empty) == [] and empty.getvalue() == ""


def test_errors_and_timeout() -> None:
    nap = _start()

    @ray.remote
    def fail() -> None:
        raise ValueError("progress boom")

    refs = [fail.remote(), nap.remote(0.0)]
    out = io.StringIO()
    assert ray.util.progress(refs, file=out) is refs  # a failed task counts as done
    with pytest.raises(ValueError, match="progress boom"):
        ray.util.progress(refs, return_values=True, file=out)

    slow = [nap.remote(30.0), nap.remote(0.0)]
    out = io.StringIO()
    start = time.monotonic()
    with pytest.raises(GetTimeoutError):
        ray.util.progress(slow, desc="slow", timeout=0.5, file=out)
    assert time.monotonic() - start < 5
    assert out.getvalue().startswith("slow: 1/2 stopped in ")
    with pytest.raises(ValueError):
        ray.util.progress(refs, bar="fancy")


def test_widget_in_jupyter(monkeypatch: pytest.MonkeyPatch) -> None:
    nap = _start()
    shown: list[Any] = []

    class Widget:
        def __init__(self, *children: Any, **kwargs: Any) -> None:
            self.children = children
            self.__dict__.update(kwargs)

    widgets = types.ModuleType("ipywidgets")
    widgets.IntProgress = Widget  # type: ignore[attr-defined]
    widgets.HTML = Widget  # type: ignore[attr-defined]
    widgets.HBox = Widget  # type: ignore[attr-defined]
    display = types.ModuleType("IPython.display")
    display.display = shown.append  # type: ignore[attr-defined]
    ipython = types.ModuleType("IPython")
    ipython.get_ipython = lambda: types.SimpleNamespace(kernel=object())  # type: ignore[attr-defined]
    ipython.display = display  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "ipywidgets", widgets)
    monkeypatch.setitem(sys.modules, "IPython", ipython)
    monkeypatch.setitem(sys.modules, "IPython.display", display)

    out = io.StringIO()
    refs = [nap.remote(0.05 * i) for i in range(3)]
    ray.util.progress(refs, desc="cells", file=out)
    assert out.getvalue() == ""  # nothing written as text
    [box] = shown
    bar, label = box.children[0]
    assert (bar.value, bar.max, bar.description, bar.bar_style) == (3, 3, "cells", "success")
    assert label.value.startswith("3/3 [")

    # without ipywidgets the notebook gets the text bar, redrawn in place
    monkeypatch.setitem(sys.modules, "ipywidgets", None)
    ray.util.progress(refs, desc="text", file=out)
    assert out.getvalue().startswith("\rtext:")
