"""Messages between a worker and its child processes, over one Unix socket per child.

A message is pickled (protocol 5); buffers of 1 MiB or more (numpy arrays, the frames of values
pickled with :func:`raylike._serialization.dumps_frames`) travel out of band: each is copied once
into an anonymous memory file (``memfd``) whose descriptor is passed over the socket, and the
receiver maps it, so the value is rebuilt on that memory without another copy.
"""
from __future__ import annotations

import mmap
import os
import pickle
import socket
import struct
import threading
from multiprocessing.connection import Connection
from multiprocessing.reduction import recvfds, sendfds
from typing import Any

import cloudpickle

OUT_OF_BAND = 1 << 20
_HEADER = struct.Struct("!I")


def send(conn: Connection, lock: threading.Lock, message: Any, plain: bool = False) -> None:
    """Send ``message``; large buffers go through shared memory. ``plain``: the message holds
    only builtins and raylike's own classes, so the (faster) C pickler will do; cloudpickle
    is needed where user code may travel (a function or class defined in ``__main__``)."""
    buffers: list[pickle.PickleBuffer] = []

    def out_of_band(buf: pickle.PickleBuffer) -> bool:
        if buf.raw().nbytes < OUT_OF_BAND:
            return True  # small: in band
        buffers.append(buf)
        return False

    pickler = pickle.dumps if plain else cloudpickle.dumps
    data = pickler(message, protocol=5, buffer_callback=out_of_band)
    fds = [_to_memfd(buf) for buf in buffers]
    try:
        with lock:
            conn.send_bytes(_HEADER.pack(len(fds)) + data)
            if fds:
                with socket.socket(fileno=os.dup(conn.fileno())) as sock:
                    sendfds(sock, fds)
    finally:
        for fd in fds:
            os.close(fd)


def recv(conn: Connection) -> Any:
    """The next message (``EOFError``/``OSError`` once the other side is gone)."""
    raw = conn.recv_bytes()
    (count,) = _HEADER.unpack_from(raw)
    buffers = []
    if count:
        with socket.socket(fileno=os.dup(conn.fileno())) as sock:
            fds = recvfds(sock, count)
        for fd in fds:
            try:
                buffers.append(_map(fd))
            finally:
                os.close(fd)
    return pickle.loads(memoryview(raw)[_HEADER.size:], buffers=buffers)


def _to_memfd(buf: pickle.PickleBuffer) -> int:
    view = buf.raw()
    fd = os.memfd_create("raylike-object", os.MFD_CLOEXEC)
    try:
        os.ftruncate(fd, view.nbytes)
        with mmap.mmap(fd, view.nbytes) as mem:
            mem[:] = view
    except BaseException:
        os.close(fd)
        raise
    return fd


def _map(fd: int) -> memoryview:
    size = os.fstat(fd).st_size
    if size == 0:
        return memoryview(b"")
    return memoryview(mmap.mmap(fd, size))
