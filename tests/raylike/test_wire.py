"""The worker<->child transport: large buffers go through shared memory, intact."""
from __future__ import annotations

import multiprocessing
import threading

import numpy as np

from raylike._api.serialization import dumps_frames, loads
from raylike._transport import wire as _wire


def _pair():
    return multiprocessing.Pipe(duplex=True)


def test_small_message_round_trip():
    a, b = _pair()
    _wire.send(a, threading.Lock(), ("req", 1, "get", (["k"], None)))
    assert _wire.recv(b) == ("req", 1, "get", (["k"], None))


def test_large_array_travels_out_of_band_and_is_equal():
    a, b = _pair()
    array = np.arange(2_000_000, dtype=np.float64)  # 16 MB: above the out-of-band threshold
    frames = dumps_frames({"x": array}, "value")
    assert frames.buffers, "the array's buffer must be kept out of the pickle"
    _wire.send(a, threading.Lock(), ("done", "ok", frames))
    kind, status, payload = _wire.recv(b)
    value = loads(payload)
    assert (kind, status) == ("done", "ok")
    np.testing.assert_array_equal(value["x"], array)
    assert not value["x"].flags.writeable  # shared memory: read-only, as Ray's arrays are
    array[0] = -1.0  # the sender's array is its own
    assert value["x"][0] == 0.0


def _inode(value):
    mapping = _wire._mapping_of(memoryview(value))
    assert mapping is not None, "the array must live on a received mapping"
    return __import__("os").fstat(mapping.fd).st_ino


def test_a_received_array_is_passed_on_without_a_copy():
    a, b = _pair()
    c, d = _pair()
    _wire.send(a, threading.Lock(), ("done", "ok", dumps_frames(np.ones(500_000), "value")))
    first = loads(_wire.recv(b)[2])
    _wire.send(c, threading.Lock(), ("task", dumps_frames(first, "value")))
    second = loads(_wire.recv(d)[1])
    assert _inode(first) == _inode(second)  # the same memory file, not a copy
    np.testing.assert_array_equal(second, np.ones(500_000))
    half = first[: len(first) // 2]  # part of a mapping is copied, never sent whole
    _wire.send(c, threading.Lock(), ("task", dumps_frames(half, "value")))
    third = loads(_wire.recv(d)[1])
    assert third.shape == half.shape and _inode(third) != _inode(first)


def test_several_buffers_in_one_message_keep_their_order():
    a, b = _pair()
    arrays = [np.full(300_000, i, dtype=np.int64) for i in range(4)]  # 2.4 MB each
    _wire.send(a, threading.Lock(), ("task", arrays))
    _, received = _wire.recv(b)
    for i, arr in enumerate(received):
        assert arr.shape == (300_000,) and int(arr[0]) == i and int(arr[-1]) == i


def test_eof_when_the_other_side_closes():
    a, b = _pair()
    a.close()
    try:
        _wire.recv(b)
    except (EOFError, OSError):
        pass
    else:
        raise AssertionError("recv on a closed pipe must raise EOFError/OSError")
