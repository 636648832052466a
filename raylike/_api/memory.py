"""This process's part of Ray's memory report (``ray memory``, ``memory_summary``).

Each process (a driver, a task's or an actor's process) answers for the objects it refers to,
as Ray's core worker does: for each one, how many ``ObjectRef`` objects name it here (local
references), how many of this process's unfinished tasks were given it (submitted), whether
this process holds a zero-copy view of its buffers (pinned), which objects it put that contain
it (captured in object), and where its first ref here was made (the call site, recorded only
while ``RAY_record_ref_creation_sites`` is on, as in Ray). The report is gathered from every
process when asked (``raylike._dask.scheduler.memory``) and printed by
``raylike._api.memory_text``.

Pinned: Ray pins an object in a process while a value read from its shared-memory store, zero
copy, is alive there (a numpy array on the object's buffer). raylike's analogue: a numpy array
that ``get`` (or a task's arguments) gave this process, on the object's buffer (it does not own
its data), of at least Ray's ``max_direct_call_object_size`` (100 KiB: smaller objects Ray keeps
in the process's own memory store, never pinned); tracked by a weak reference to the array.
"""
from __future__ import annotations

import collections
import contextlib
import gc
import itertools
import logging
import os
import sys
import threading
import weakref
from collections.abc import Callable, Iterator
from typing import Any

from raylike._api import ids as _ids
from raylike._api import serialization as _serialization

__all__ = ["annotate", "args_in_use", "contained", "owned", "pin", "record_sites", "table"]

SITES_ENV = "RAY_record_ref_creation_sites"
TOPIC = "raylike-memory"  # the memory report's queries to drivers (Dask's event system)
INLINE_LIMIT = 100 * 1024  # Ray's max_direct_call_object_size: larger objects go to its store
_KEPT = 100_000  # call sites and containments remembered (the oldest are forgotten first)
_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_FRAMES = 4  # Ray's call site: at most 4 parts (its annotation counts as one)

_lock = threading.RLock()
_local = threading.local()
_sites: collections.OrderedDict[str, str] = collections.OrderedDict()
_pins: dict[str, list[tuple[weakref.ref[Any], str]]] = {}
_dead_pins: collections.deque[str] = collections.deque()  # keys whose views died (see pin)
_args: dict[str, list[str]] = {}  # keys of running tasks' large arguments -> their call sites
_contains: collections.OrderedDict[str, list[str]] = collections.OrderedDict()
_owned: dict[str, None] = {}  # made here: put, a task's or a call's returns (oldest first)
_enabled: list[bool | None] = [None]  # cached: read at each ``init``, once in other processes


def inline_limit() -> int:
    """Ray's ``max_direct_call_object_size``: bytes above which an object goes to its
    shared-memory store (a task's argument is put there rather than inlined)."""
    text = os.environ.get("RAY_max_direct_call_object_size", "")
    return int(text) if text.strip().isdigit() else INLINE_LIMIT


def record_sites(enabled: bool | None = None) -> bool:
    """Whether refs made here record where they were made (Ray's ``record_ref_creation_sites``:
    the environment variable, or the driver's ``_system_config``). ``enabled`` sets it (``init``
    does); the answer is cached."""
    from raylike._api import objects as _objects

    if enabled is None and _enabled[0] is not None:
        return bool(_enabled[0])
    if enabled is None:
        enabled = os.environ.get(SITES_ENV, "").strip().lower() in ("1", "true")
    _enabled[0] = enabled
    _objects._site_hook = _note_site if enabled else None
    return enabled


def sites_wanted(system_config: dict[str, Any] | None) -> bool:
    """Whether a driver records call sites: its ``_system_config`` or the environment."""
    value = (system_config or {}).get("record_ref_creation_sites")
    if value is not None:
        return str(value).strip().lower() in ("1", "true")
    return os.environ.get(SITES_ENV, "").strip().lower() in ("1", "true")


def reset() -> None:
    """Forget the cached setting (``shutdown``): the next ``init`` reads it again."""
    from raylike._api import objects as _objects

    _enabled[0] = None
    _objects._site_hook = None


class annotate:  # noqa: N801 - used as a function: ``with annotate(...)``
    """Refs made on this thread meanwhile are annotated ``label`` (``"(put object)"``, ...),
    as Ray annotates its call sites, followed by the user's frames if ``frames``; an outer
    annotation wins (a large argument put by a task call is the task call's). A class, not a
    generator: it runs on every ``put`` and ``.remote()``."""

    __slots__ = ("_label", "_outer")

    def __init__(self, label: str, frames: bool = True) -> None:
        self._label = (label, frames)

    def __enter__(self) -> None:
        self._outer = getattr(_local, "label", None)
        if self._outer is None:
            _local.label = self._label

    def __exit__(self, *exc: object) -> None:
        if self._outer is None:
            _local.label = None


def _call_site(label: tuple[str, bool] | None, skip: int = 2) -> str:
    """Ray's call site text: the annotation, then the innermost user frames
    (``file:function:line``), raylike's own left out."""
    if label is not None and not label[1]:
        return label[0]
    parts = [label[0] + " "] if label else []
    frame: Any = sys._getframe(skip)
    while frame is not None and len(parts) < _FRAMES:
        code = frame.f_code
        if not code.co_filename.startswith(_PACKAGE):
            parts.append(f"{code.co_filename}:{code.co_name}:{frame.f_lineno}")
        frame = frame.f_back
    return " | ".join(parts)


def _note_site(key: str) -> None:
    """The hook ``ObjectRef.__init__`` calls while sites are recorded."""
    if key in _sites:
        return
    site = _call_site(getattr(_local, "label", None), skip=3)
    with _lock:
        _sites.setdefault(key, site)
        while len(_sites) > _KEPT:
            _sites.popitem(last=False)


def owned(keys: list[str]) -> None:
    """This process made the objects ``keys`` (``put``, a task's or a call's returns): it
    owns them, and knows their task's status (Ray's owner does; a borrower shows ``-``)."""
    for key in keys:  # no lock: a dict's item assignment is atomic
        _owned[key] = None
    if len(_owned) > 2 * _KEPT:  # now and then: the oldest are forgotten
        with _lock:
            for key in list(itertools.islice(_owned, max(0, len(_owned) - _KEPT))):
                _owned.pop(key, None)


def contained(owner: str, keys: list[str]) -> None:
    """The object ``owner``, put by this process, holds refs to ``keys``."""
    if keys:
        with _lock:
            _contains[owner] = list(dict.fromkeys(keys))
            while len(_contains) > _KEPT:
                _contains.popitem(last=False)


def _views(value: Any) -> list[Any]:
    """The numpy arrays of ``value`` (itself, or the items of a list, tuple or dict) that are
    views on an object's buffer, if they come to at least :data:`INLINE_LIMIT` bytes."""
    numpy = sys.modules.get("numpy")
    if numpy is None:
        return []
    items = value.values() if type(value) is dict else value \
        if type(value) in (list, tuple) else (value,)
    views = [v for v in items if isinstance(v, numpy.ndarray) and not v.flags.owndata]
    return views if sum(v.nbytes for v in views) >= inline_limit() else []


def pin(key: str, value: Any, site: str | None = None) -> bool:
    """``value`` was read here from object ``key``: pinned while its views live. ``site``: the
    call site to show (default: the caller's, if sites are recorded). Whether it pins."""
    views = _views(value)
    if not views:
        return False
    if site is None:
        site = _call_site(None) if _enabled[0] else ""
    with _lock:
        _prune_pins()
        kept = [(r, s) for r, s in _pins.get(key, ()) if r() is not None]
        kept += [(weakref.ref(v, _unpinned(key)), site) for v in views]
        _pins[key] = kept
    return True


def _unpinned(key: str) -> Callable[[Any], None]:
    """A weak reference's callback: ``key`` may be pinned no more (looked at later: the
    collector may run it anywhere, even inside this module's locked code)."""
    return lambda _ref: _dead_pins.append(key)


def _prune_pins() -> None:
    """Forget the pins whose views all died (under ``_lock``)."""
    while _dead_pins:
        key = _dead_pins.popleft()
        refs = _pins.get(key)
        if refs is not None and all(r() is None for r, _ in refs):
            del _pins[key]


@contextlib.contextmanager
def args_in_use(keys: list[str], values: list[Any], label: str) -> Iterator[None]:
    """A running task's or call's arguments ``values`` (the objects ``keys``): the large ones
    are this process's references while it runs (``label``: Ray's ``(deserialize task arg)
    module.function``), and pinned while their views live (site unknown after, as in Ray)."""
    used = [k for k, v in zip(keys, values) if pin(k, v, site="")]
    with _lock:
        for key in used:
            _args.setdefault(key, []).append(label)
    try:
        yield
    finally:
        with _lock:
            for key in used:
                labels = _args.get(key, [])
                if label in labels:
                    labels.remove(label)
                if not labels:
                    _args.pop(key, None)


def table() -> list[dict[str, Any]]:
    """This process's rows: one per object it refers to (Ray's ``ObjectRefInfo``):
    ``object_id``, ``key``, ``local``, ``submitted``, ``pinned``, ``contained_in_owned``,
    ``call_site``, ``owned`` (made here), ``status`` (a direct call's, where known here),
    ``actor`` (an actor handle's ref). Garbage is collected first, as Ray counts live refs only."""
    from raylike._api import objects as _objects
    from raylike._api import ref_counts as _ref_counts

    gc.collect()
    local: collections.Counter[str] = collections.Counter()
    direct: dict[str, str] = {}
    sizes: dict[str, int] = {}  # of the answers held here (Dask knows no size for them)
    for obj in gc.get_objects():
        if type(obj) is _objects.ObjectRef:
            local[obj._key] += 1
            if obj._direct is not None and (obj._future is None or obj._direct.future.done()):
                # a direct call's or leased task's answer, known here (one that took Dask's
                # path, or became a Dask key, has its status from the scheduler)
                done = obj._direct.future.done()
                direct[obj._key] = "FINISHED" if done else obj._direct.stage
                if done and obj._key not in sizes:
                    sizes[obj._key] = _answer_size(obj._direct.future)
    submitted = _ref_counts.submitted.snapshot()
    with _lock:
        pinned = {k: [s for r, s in v if r() is not None] for k, v in _pins.items()}
        for key in [k for k, v in pinned.items() if not v]:
            del pinned[key], _pins[key]
        args = {k: list(v) for k, v in _args.items()}
        contains = {k: list(v) for k, v in _contains.items()}
    held = {k for k in (*local, *submitted, *pinned, *args) if k != _objects._NIL}
    captured = _captured(held, contains)
    rows = []
    for key in (*held, *(k for k in captured if k not in held)):
        rows.append({
            "object_id": _ids.object_hex(key), "key": key, "local": local.get(key, 0) +
            len(args.get(key, ())), "submitted": submitted.get(key, 0),
            "pinned": bool(pinned.get(key)),
            "contained_in_owned": [_ids.object_hex(k) for k in captured.get(key, ())],
            "call_site": _site_of(key, args, pinned), "actor": key in _objects._actor_keys,
            "owned": key in _owned, "status": direct.get(key), "size": sizes.get(key, -1)})
    _forget(held | set(captured), contains)
    return rows


def _answer_size(answer: Any) -> int:
    """Bytes of a done direct answer's value (-1: an error, or not known)."""
    try:
        status, payload = answer.result(0)
    except Exception:  # noqa: BLE001 - cancelled, or the connection went: not known
        return -1
    return _serialization.payload_size(payload) if status == "ok" else -1


def _captured(held: set[str], contains: dict[str, list[str]]) -> dict[str, list[str]]:
    """``{key: [owners]}``: objects captured in objects this process put that are still in
    its table (directly or captured in turn)."""
    found: dict[str, list[str]] = {}
    alive = set(held)
    todo = [k for k in contains if k in alive]
    while todo:
        owner = todo.pop()
        for key in contains.get(owner, ()):
            found.setdefault(key, []).append(owner)
            if key not in alive:
                alive.add(key)
                if key in contains:
                    todo.append(key)
    return found


def _site_of(key: str, args: dict[str, list[str]], pinned: dict[str, list[str]]) -> str:
    if key in _sites:
        return _sites[key]
    if args.get(key):
        return args[key][0]
    return next((s for s in pinned.get(key, ()) if s), "")


def _forget(alive: set[str], contains: dict[str, list[str]]) -> None:
    """Drop the call sites and containments of objects this process no longer refers to."""
    with _lock:
        for key in [k for k in _sites if k not in alive]:
            del _sites[key]
        for key in [k for k in contains if k not in alive]:
            _contains.pop(key, None)
        for key in [k for k in list(_owned) if k not in alive]:
            _owned.pop(key, None)




class Responder:
    """A driver's answers to the memory report's queries (``raylike._dask.scheduler.memory``
    publishes one event of :data:`TOPIC` per query)."""

    def __init__(self, backend: Any, ip: str) -> None:
        self.backend = backend
        self.ip = ip
        backend.subscribe(TOPIC, self.on_event)

    def on_event(self, event: Any) -> None:
        """On the client's event loop: answered from a thread (the answer is an RPC)."""
        message = event[1] if isinstance(event, (tuple, list)) and len(event) > 1 else {}
        query = message.get("query") if isinstance(message, dict) else None
        if query is not None:
            threading.Thread(target=self._reply, args=(query,), daemon=True,
                             name="raylike-memory-reply").start()

    def _reply(self, query: str) -> None:
        try:
            process = {"pid": os.getpid(), "ip": self.ip, "type": "Driver", "rows": table()}
            self.backend.scheduler_call("raylike_memory_reply", query=query, process=process,
                                        client=str(getattr(self.backend.client, "id", "")))
        except Exception:  # noqa: BLE001 - the query goes on without this driver
            logging.getLogger("raylike").debug("memory report not sent", exc_info=True)

    def close(self) -> None:
        try:
            self.backend.unsubscribe(TOPIC)
        except Exception:  # noqa: BLE001 - the client is closing anyway
            pass
