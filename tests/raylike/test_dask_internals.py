"""The private Dask names raylike relies on exist in the installed Dask (one known place to
fail in when an upgrade moves one)."""
from __future__ import annotations

import pytest

from raylike._dask import internals


def test_every_private_dask_name_exists():
    assert internals.missing() == []
    internals.check()


def test_a_missing_name_is_named_in_one_clear_error(monkeypatch):
    monkeypatch.setattr(internals, "NEEDED", internals.NEEDED + (
        ("distributed.client:Client", "_no_such_thing"),))
    assert internals.missing() == ["distributed.client:Client._no_such_thing"]
    with pytest.raises(RuntimeError, match=r"Client\._no_such_thing.*supports"):
        internals.check()


def test_the_private_names_used_in_raylike_are_the_ones_listed():
    """Each private name is reached only through ``raylike._dask.internals``."""
    import pathlib
    import re

    root = pathlib.Path(internals.__file__).parents[1]
    pattern = re.compile(r"\._send_to_scheduler|\._graph_to_futures|\._get_client\(|"
                         r"_handle_event\.register|\._ensure_computing|\.batched_stream|"
                         r"bulk_schedule_unrunnable|\._broker\b|\.stream_handlers|"
                         r"\bclient\.futures\b|\.futures\.get\(")
    offenders = []
    for path in root.rglob("*.py"):
        if path.parent.name == "_dask":
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if pattern.search(line) and not line.lstrip().startswith("#"):
                offenders.append(f"{path.relative_to(root)}:{number}: {line.strip()}")
    assert offenders == []


def test_a_value_in_a_workers_memory_is_read_without_its_loop(tmp_path):
    """``memory_value`` reads Dask's store from any thread: a plain dict, or the in-memory
    half of the spilling buffer Dask gives a worker with a memory limit (a spilled value is
    left to the loop)."""
    from types import SimpleNamespace

    from distributed.spill import SpillBuffer

    plain = SimpleNamespace(data={"a": 1})
    assert internals.memory_value(plain, "a") == (True, 1)
    assert internals.memory_value(plain, "b") == (False, None)
    buffer = SpillBuffer(str(tmp_path), target=10**9)
    buffer["x"] = [1, 2, 3]
    spilling = SimpleNamespace(data=buffer)
    assert internals.memory_value(spilling, "x") == (True, [1, 2, 3])
    buffer.evict()  # now on disk only
    assert "x" in buffer and internals.memory_value(spilling, "x") == (False, None)
