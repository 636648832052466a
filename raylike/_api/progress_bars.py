"""The driver's side of ``ray.experimental.tqdm_ray``: one manager that shows every process's
progress bars without overlap.

A bar in a task or actor process prints its state as one JSON line carrying
:data:`MAGIC`; the driver's log forwarder (``_api.logs``) hands such lines to
:func:`process_line` instead of printing them, and hides the bars while it prints other
lines. A bar made in the driver updates the manager directly. Bars of one process form a
group; groups are stacked in the order they appeared (each takes as many rows as its highest
``position``), as Ray's manager does.

Each bar is drawn by the ``tqdm`` package when it is installed; without it (Ray then shows no
bars at all) a bar is drawn as a line of text each time its state changes.
"""
from __future__ import annotations

import builtins
import json
import logging
import os
import sys
import threading
from typing import Any

MAGIC = "__ray_tqdm_magic_token__"  # Ray's marker of a progress-bar line

State = dict[str, Any]  # one bar's state, as a worker prints it

_log = logging.getLogger(__name__)
_print = builtins.print  # the builtin, before :func:`instance` may replace it
_manager: BarManager | None = None
_manager_lock = threading.Lock()
_WIDTH = 20  # characters of a text bar


class TextBar:
    """``tqdm.tqdm``'s few members the manager uses, drawn as a line per change of state."""

    def __init__(self, desc: str, total: int | None, unit: str, position: int) -> None:
        self.desc, self.total, self.unit, self.pos = desc, total, unit, position
        self.n = 0
        self._shown: tuple[Any, ...] | None = None

    def update(self, n: int = 1) -> None:
        self.n += n
        self.refresh()

    def set_description(self, desc: str) -> None:
        self.desc = desc
        self.refresh()

    def refresh(self) -> None:
        now = (self.desc, self.total, self.n)
        if now != self._shown:  # showing the same line again (after a hide) adds nothing
            self._shown = now
            _print(self.line(), file=sys.stdout, flush=True)

    def clear(self) -> None:
        pass  # a printed line stays

    def close(self) -> None:
        self.refresh()

    def line(self) -> str:
        prefix = f"{self.desc}: " if self.desc else ""
        if self.total:
            done = min(1.0, self.n / self.total)
            filled = int(done * _WIDTH)
            bar = "#" * filled + " " * (_WIDTH - filled)
            return f"{prefix}{done * 100:3.0f}%|{bar}| {self.n}/{self.total} [{self.unit}]"
        return f"{prefix}{self.n} [{self.unit}]"


def _draw(state: State, row: int) -> Any:
    """A bar drawn at ``row`` of the driver's terminal: ``tqdm``'s if installed."""
    try:
        from tqdm import auto as real_tqdm
    except ImportError:
        bar: Any = TextBar(state["desc"], state["total"], state["unit"], row)
    else:
        bar = real_tqdm.tqdm(desc=state["desc"], total=state["total"], unit=state["unit"],
                             position=row, dynamic_ncols=True, unit_scale=True)
    if state["x"]:
        bar.update(state["x"])
    return bar


class Bar:
    """One bar of one process, as the driver shows it (``bar`` is the drawn bar)."""

    def __init__(self, state: State, offset: int) -> None:
        self.state = state
        self.offset = offset
        self.bar = _draw(state, offset + state["pos"])

    def update(self, state: State) -> None:
        if state["desc"] != self.state["desc"]:
            self.bar.set_description(state["desc"])
        if state["total"] != self.state["total"]:
            self.bar.total = state["total"]
        if state["x"] != self.state["x"]:
            self.bar.update(state["x"] - self.state["x"])
        self.bar.refresh()
        self.state = state

    def move(self, offset: int) -> None:
        if offset != self.offset:
            self.offset = offset
            self.bar.clear()
            self.bar.pos = -(offset + self.state["pos"])  # tqdm's convention for a fixed row
            self.bar.refresh()


class BarGroup:
    """The bars of one process (``ip``, ``pid``), stacked from row ``offset``."""

    def __init__(self, ip: str, pid: int, offset: int) -> None:
        self.ip, self.pid, self.offset = ip, pid, offset
        self.bars_by_uuid: dict[str, Bar] = {}

    def rows(self) -> int:
        return 1 + max((b.state["pos"] for b in self.bars_by_uuid.values()), default=-1)

    def move(self, offset: int) -> None:
        if offset != self.offset:
            self.offset = offset
            for bar in self.bars_by_uuid.values():
                bar.move(offset)

    def hide(self) -> None:
        for bar in self.bars_by_uuid.values():
            bar.bar.clear()

    def show(self) -> None:
        for bar in self.bars_by_uuid.values():
            bar.bar.refresh()


class BarManager:
    """Every bar the driver shows, grouped by process (Ray's ``_BarManager``)."""

    def __init__(self) -> None:
        from raylike.util import get_node_ip_address

        self.ip = get_node_ip_address()
        self.pid = os.getpid()
        self.bar_groups: dict[tuple[str, int], BarGroup] = {}
        self.in_hidden_state = False
        self.num_hides = 0  # how many times other output hid the bars
        self.lock = threading.RLock()

    def process_state_update(self, state: State) -> None:
        """Apply one bar's new state: draw it if new, close it if closed."""
        with self.lock:
            state = dict(state)
            state["desc"] = self._source(state) + (state.get("desc") or "")
            key = (state["ip"], state["pid"])
            group = self.bar_groups.get(key)
            if group is None:
                offset = sum(g.rows() for g in self.bar_groups.values())
                group = self.bar_groups[key] = BarGroup(state["ip"], state["pid"], offset)
            bar = group.bars_by_uuid.get(state["uuid"])
            if bar is None:
                group.bars_by_uuid[state["uuid"]] = Bar(state, group.offset)
                self._restack()
                return
            bar.update(state)  # the last updates first, so a closed bar shows its end
            if state["closed"]:
                self.hide_bars()
                bar.bar.close()
                del group.bars_by_uuid[state["uuid"]]
                self.unhide_bars()
                self._restack()

    def _source(self, state: State) -> str:
        if state.get("ip") == self.ip:
            return "" if state.get("pid") == self.pid else f"(pid={state.get('pid')}) "
        return f"(pid={state.get('pid')}, ip={state.get('ip')}) "

    def _restack(self) -> None:
        row = 0
        for group in self.bar_groups.values():
            group.move(row)
            row += group.rows()

    def hide_bars(self) -> None:
        """Clear the bars from the terminal while other output is printed."""
        with self.lock:
            if not self.in_hidden_state:
                self.in_hidden_state = True
                self.num_hides += 1
                for group in self.bar_groups.values():
                    group.hide()

    def unhide_bars(self) -> None:
        with self.lock:
            if self.in_hidden_state:
                self.in_hidden_state = False
                for group in self.bar_groups.values():
                    group.show()


def instance() -> BarManager:
    """This process's manager, made on first use. Like Ray, it then replaces the builtin
    ``print`` with :func:`safe_print` (``RAY_TQDM_PATCH_PRINT=0`` keeps the builtin)."""
    global _manager
    with _manager_lock:
        if _manager is None:
            _manager = BarManager()
            if os.environ.get("RAY_TQDM_PATCH_PRINT", "1").lower() not in ("0", "false"):
                builtins.print = safe_print
        return _manager


def existing() -> BarManager | None:
    """The manager if one was made (printing other output consults it, never makes one)."""
    return _manager


def safe_print(*args: Any, **kwargs: Any) -> None:
    """``print`` that hides the bars while it writes to stdout or stderr."""
    if kwargs.get("file") not in (sys.stdout, sys.stderr, None):
        _print(*args, **kwargs)
        return
    manager = instance()
    try:
        manager.hide_bars()
        _print(*args, **kwargs)
    finally:
        manager.unhide_bars()


def process_line(line: str) -> None:
    """A bar's state line printed by a task or actor process, as the driver received it."""
    try:
        state = json.loads(line)
        instance().process_state_update(state)
    except Exception:
        if not getattr(process_line, "_warned", False):
            process_line._warned = True  # type: ignore[attr-defined]
            _log.warning("[tqdm_ray] could not decode a progress-bar line (%.80s...); this "
                         "warning is not repeated", line)
