"""A task's or actor's process holds its submissions back a moment (``Channel.submit_soon``):
they travel as one ``submits`` message, ahead of anything else the process sends, once
``BATCH_MAX`` wait, or when the flusher thread runs; with fork support, each at once."""

from __future__ import annotations

import multiprocessing
import time
from typing import Any

import pytest

from raylike._process import child as _child
from raylike._transport import wire as _wire


class _Quiet(_child.Channel):
    """The channel without its pipe reader (which ends the process when the pipe closes)."""

    def start(self) -> None:
        pass


@pytest.fixture
def pipe() -> Any:
    ours, theirs = multiprocessing.Pipe()
    yield _Quiet(ours), theirs
    ours.close()
    theirs.close()


def _read(conn: Any, timeout: float = 10.0) -> Any:
    assert conn.poll(timeout), "nothing arrived"
    return _wire.recv(conn)


def test_a_burst_travels_as_one_message_ahead_of_the_next(pipe):
    channel, worker = pipe
    with channel._flush_lock:  # the flusher thread cannot send them meanwhile
        for i in range(5):
            channel._batch.append((f"call-{i}", [], []))
    channel.send(("req", 7, "get", (["call-4"], None)))
    first = _read(worker)
    assert first[:3] == ("req", None, "submits")
    assert [c for c, _, _ in first[3][0]] == [f"call-{i}" for i in range(5)]
    assert _read(worker) == ("req", 7, "get", (["call-4"], None))


def test_submissions_reach_the_worker_without_another_message(pipe):
    channel, worker = pipe
    for i in range(3):
        channel.submit_soon((f"call-{i}", [], []))
    got: list[str] = []
    deadline = time.monotonic() + 10
    while len(got) < 3 and time.monotonic() < deadline:
        message = _read(worker)
        assert message[0] == "req" and message[2] in ("submit", "submits")
        got += [message[3][0]] if message[2] == "submit" else [c for c, _, _ in message[3][0]]
    assert got == ["call-0", "call-1", "call-2"]


def test_a_full_batch_is_sent_by_the_submitting_thread(pipe, monkeypatch):
    channel, worker = pipe
    monkeypatch.setattr(_child, "BATCH_MAX", 4)
    with channel._flush_lock:
        for i in range(3):
            channel._batch.append((f"call-{i}", [], []))
    channel.submit_soon(("call-3", [], []))  # the fourth: sent now, in this thread
    message = _read(worker, timeout=0.5)
    assert [c for c, _, _ in message[3][0]] == ["call-0", "call-1", "call-2", "call-3"]


def test_without_batching_each_is_sent_at_once(pipe):
    channel, worker = pipe
    channel.batches = False  # fork support: no flusher thread
    channel.submit_soon(("call-0", [], []))
    assert _read(worker, timeout=0.5) == ("req", None, "submit", ("call-0", [], []))
    assert not channel._batch
