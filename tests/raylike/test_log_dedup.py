"""Ray's log deduplication on the driver (``_api.log_dedup``), with a fake clock."""
from __future__ import annotations

from typing import Any

import pytest

from raylike._api import log_dedup


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _batch(pid: Any, *lines: str) -> dict[str, Any]:
    return {"ip": "127.0.0.1", "pid": pid, "name": "f", "err": False, "lines": list(lines)}


def _lines(batches: list[dict[str, Any]]) -> list[tuple[int, str, int]]:
    return [(b["pid"], line, b.get("repeated", 0)) for b in batches for line in b["lines"]]


@pytest.fixture
def dedup(monkeypatch: pytest.MonkeyPatch) -> tuple[log_dedup.Deduplicator, Clock]:
    monkeypatch.delenv("RAY_DEDUP_LOGS_AGG_WINDOW_S", raising=False)
    monkeypatch.delenv("RAY_DEDUP_LOGS_SKIP_REGEX", raising=False)
    monkeypatch.delenv("RAY_DEDUP_LOGS_ALLOW_REGEX", raising=False)
    clock = Clock()
    return log_dedup.Deduplicator(log_dedup.hint_once(), clock), clock


def test_key_drops_words_with_numbers() -> None:
    assert log_dedup.key_of("hello world, id=17.5 0xff pid") == "hello world, pid"
    assert log_dedup.key_of("42 17") == ""


def test_repeats_across_processes_are_counted_until_the_window_closes(dedup: Any) -> None:
    d, clock = dedup
    assert _lines(d.feed(_batch(1, "hello id=1"))) == [(1, "hello id=1", 0)]
    assert d.feed(_batch(2, "hello id=2")) == []
    assert d.feed(_batch(3, "hello id=3")) == []
    clock.now = 6.0  # past the 5 s window: the next batch shows the count
    shown = d.feed(_batch(4, "other"))
    assert _lines(shown) == [(4, "other", 0), (3, "hello id=3", 2)]
    assert "RAY_DEDUP_LOGS=0" in shown[1]["hint"]
    assert d.feed(_batch(5, "hello id=5")) == []  # still counted, in a new window
    assert d.feed(_batch(6, "hello id=6")) == []
    held = d.flush()
    assert _lines(held) == [(6, "hello id=6", 2)] and held[0]["hint"] == ""  # the note once
    assert d.flush() == []


def test_one_repeat_is_shown_plainly_and_same_process_is_not_folded(dedup: Any) -> None:
    d, _ = dedup
    d.feed(_batch(1, "x 1"))
    assert _lines(d.feed(_batch(1, "x 2"))) == [(1, "x 2", 0)]  # the same process: shown
    assert d.feed(_batch(2, "x 3")) == []
    assert _lines(d.flush()) == [(2, "x 3", 0)]


def test_empty_keys_allow_and_skip(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAY_DEDUP_LOGS_SKIP_REGEX", "noise")
    monkeypatch.setenv("RAY_DEDUP_LOGS_ALLOW_REGEX", "keep")
    d = log_dedup.Deduplicator(log_dedup.hint_once(), Clock())
    for pid in (1, 2):
        shown = d.feed(_batch(pid, "123", "keep me", "noise here", "word"))
        expected = ["123", "keep me"] + (["word"] if pid == 1 else [])
        assert [line for _, line, _ in _lines(shown)] == expected


def test_dedup_logs_0(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAY_DEDUP_LOGS", "0")
    assert not log_dedup.enabled()
    monkeypatch.delenv("RAY_DEDUP_LOGS")
    assert log_dedup.enabled()


def test_the_raylets_messages_are_folded_even_from_one_source(dedup: Any) -> None:
    d, _ = dedup
    raylet = log_dedup.SYSTEM_SOURCE
    assert _lines(d.feed(_batch(raylet, "9 workers started on node 1"))) == [
        (raylet, "9 workers started on node 1", 0)]
    assert d.feed(_batch(raylet, "10 workers started on node 1")) == []
    assert d.feed(_batch(raylet, "11 workers started on node 1")) == []
    assert _lines(d.flush()) == [(raylet, "11 workers started on node 1", 2)]
