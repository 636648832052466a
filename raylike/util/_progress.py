"""``raylike.util.progress``: wait for refs while showing how many are done.

raylike's own helper (Ray's core has no progress bar). It is a loop over ``ray.wait``, so any
``ObjectRef`` works: task results, actor calls, ``put`` objects. The bar is text on a terminal
(redrawn in place on stderr), a single summary line when the output is not a terminal (a log
file, CI), and an ipywidgets bar in Jupyter when ipywidgets is installed.
"""
from __future__ import annotations

import sys
import time
from typing import IO, Any, Protocol

__all__ = ["progress"]

_WIDTH = 30  # characters of the text bar


class _Bar(Protocol):
    def update(self, done: int) -> None: ...
    def close(self, done: int, finished: bool) -> None: ...


def progress(refs: Any, *, desc: str = "progress", timeout: float | None = None,
             return_values: bool = False, bar: str = "auto", file: IO[str] | None = None,
             interval: float = 0.1) -> Any:
    """Block until every ref is ready, showing a progress bar; return the refs (or values).

    Args:
        refs: an ``ObjectRef`` or a list of them (repeats count once).
        desc: the label shown before the bar.
        timeout: give up after this many seconds with ``GetTimeoutError`` (``None``: never).
        return_values: return ``ray.get(refs)`` instead of ``refs``; a failed task's error is
            then raised, as ``get`` does. Without it errors are not looked at: a failed task
            counts as done.
        bar: ``"auto"`` (a widget in Jupyter when ipywidgets imports, text otherwise),
            ``"text"`` or ``"widget"`` (text if ipywidgets is missing).
        file: where the text bar goes (default ``sys.stderr``). Not a terminal: one line at
            the end only.
        interval: the most seconds between two redraws.

    Returns:
        ``refs`` as given, or their values with ``return_values=True``.

    Differences from Ray: raylike only; Ray has no equivalent in its core API.
    """
    import raylike as ray
    from raylike.exceptions import GetTimeoutError

    single = isinstance(refs, ray.ObjectRef)
    unique = list(dict.fromkeys([refs] if single else refs))
    if bar not in ("auto", "text", "widget"):
        raise ValueError(f"bar must be 'auto', 'text' or 'widget', got {bar!r}")
    deadline = None if timeout is None else time.monotonic() + timeout
    shown = _make_bar(len(unique), desc, bar, file) if unique else None
    pending, finished = unique, False
    try:
        while pending:
            left = None if deadline is None else deadline - time.monotonic()
            wait = interval if left is None else max(0.0, min(interval, left))
            _, pending = ray.wait(pending, num_returns=len(pending), timeout=wait)
            if shown is not None:
                shown.update(len(unique) - len(pending))
            if pending and left is not None and left <= interval:
                raise GetTimeoutError(f"progress timed out: {len(pending)} of {len(unique)} "
                                      f"object(s) not ready after {timeout} s.")
        finished = True
    finally:
        if shown is not None:
            shown.close(len(unique) - len(pending), finished)
    if not return_values:
        return refs
    return ray.get(refs if single else list(refs))


def _make_bar(total: int, desc: str, kind: str, file: IO[str] | None) -> _Bar:
    if kind == "widget" or (kind == "auto" and _in_notebook()):
        try:
            return _WidgetBar(total, desc)
        except ImportError:
            pass
    stream = file if file is not None else sys.stderr
    return _TextBar(total, desc, stream, interactive=_is_tty(stream) or _in_notebook())


def _in_notebook() -> bool:
    """Whether this runs in a Jupyter kernel (IPython's kernel shell has a ``kernel``)."""
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return False
    shell = ipython.get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def _is_tty(stream: IO[str]) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes:02d}:{secs:02d}"


def line(desc: str, done: int, total: int, elapsed: float) -> str:
    """One bar: ``desc:  45%|#############                 | 9/20 [00:03<00:04]``."""
    fraction = done / total if total else 1.0
    filled = int(fraction * _WIDTH)
    eta = _clock(elapsed / done * (total - done)) if done else "?"
    return (f"{desc}: {int(fraction * 100):3d}%|{'#' * filled}{' ' * (_WIDTH - filled)}| "
            f"{done}/{total} [{_clock(elapsed)}<{eta}]")


class _TextBar:
    """Redrawn in place with ``\\r`` when interactive; otherwise one summary line at the end."""

    def __init__(self, total: int, desc: str, stream: IO[str], interactive: bool) -> None:
        self.total, self.desc, self.stream = total, desc, stream
        self.interactive = interactive
        self.start = time.monotonic()
        self.last = ""
        self.update(0)

    def update(self, done: int) -> None:
        if not self.interactive:
            return
        text = line(self.desc, done, self.total, time.monotonic() - self.start)
        if text != self.last:
            self.stream.write("\r" + text)
            self.stream.flush()
            self.last = text

    def close(self, done: int, finished: bool) -> None:
        elapsed = time.monotonic() - self.start
        if self.interactive:
            self.update(done)
            self.stream.write("\n")
        else:
            state = "done" if finished else "stopped"
            self.stream.write(f"{self.desc}: {done}/{self.total} {state} in {elapsed:.1f} s\n")
        self.stream.flush()


class _WidgetBar:
    """An ipywidgets progress bar with a text label, displayed in the notebook cell."""

    def __init__(self, total: int, desc: str) -> None:
        import ipywidgets
        from IPython.display import display

        self.total, self.desc = total, desc
        self.start = time.monotonic()
        self.bar = ipywidgets.IntProgress(min=0, max=max(total, 1), value=0, description=desc)
        self.label = ipywidgets.HTML(value=f"0/{total}")
        display(ipywidgets.HBox([self.bar, self.label]))

    def update(self, done: int) -> None:
        self.bar.value = done
        elapsed = time.monotonic() - self.start
        self.label.value = f"{done}/{self.total} [{_clock(elapsed)}]"

    def close(self, done: int, finished: bool) -> None:
        self.update(done)
        self.bar.bar_style = "success" if finished else "danger"
