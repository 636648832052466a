"""Messages between a worker and its child processes, over one Unix socket per child.

A message is pickled (protocol 5); buffers of 1 MiB or more (numpy arrays, the frames of values
pickled with :func:`raylike._api.serialization.dumps_frames`) travel out of band: each is copied
once
into an anonymous memory file (``memfd``) whose descriptor is passed over the socket, and the
receiver maps it, so the value is rebuilt on that memory without another copy.

The receiver maps it read-only and keeps the descriptor while the mapping lives. A buffer that
is such a mapping as a whole (an object that came in this way and is passed on: a task's result
sent to the driver, a ``put`` array given to a task) is sent as the same descriptor, with no
copy at all, which is safe because nobody can write to it. So, as in Ray, large arrays a
process receives are read-only.
"""
from __future__ import annotations

import mmap
import os
import pickle
import socket
import struct
import threading
import weakref
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
    fds, made = [], []
    try:
        for buf in buffers:
            mapping = _mapping_of(buf.raw())
            if mapping is None:
                made.append(_to_memfd(buf))
            fds.append(made[-1] if mapping is None else mapping.fd)
        with lock:
            conn.send_bytes(_HEADER.pack(len(fds)) + data)
            if fds:
                with socket.socket(fileno=os.dup(conn.fileno())) as sock:
                    sendfds(sock, fds)
    finally:
        for fd in made:
            os.close(fd)


def recv(conn: Connection) -> Any:
    """The next message (``EOFError``/``OSError`` once the other side is gone)."""
    raw = conn.recv_bytes()
    (count,) = _HEADER.unpack_from(raw)
    buffers = []
    if count:
        with socket.socket(fileno=os.dup(conn.fileno())) as sock:
            fds = recvfds(sock, count)
        for i, fd in enumerate(fds):
            try:
                buffers.append(_map(fd))
            except BaseException:
                for rest in fds[i:]:
                    os.close(rest)
                raise
    return pickle.loads(memoryview(raw)[_HEADER.size:], buffers=buffers)


def _to_memfd(buf: pickle.PickleBuffer) -> int:
    view = buf.raw().cast("B")
    fd = os.memfd_create("raylike-object", os.MFD_CLOEXEC)
    try:  # write(), not a mapping: the kernel fills the pages without a fault for each
        done = 0
        while done < view.nbytes:
            done += os.write(fd, view[done:])
    except BaseException:
        os.close(fd)
        raise
    return fd


class _Mapped(mmap.mmap):
    """A read-only mapping of a received memfd, which keeps the descriptor (``fd``) to pass the
    same memory on; the descriptor is closed with the mapping."""

    fd: int


def _map(fd: int) -> memoryview:
    """Map a received descriptor (``fd`` is taken over: closed with the mapping)."""
    size = os.fstat(fd).st_size
    if size == 0:
        os.close(fd)
        return memoryview(b"")
    mapping = _Mapped(fd, size, access=mmap.ACCESS_READ)
    mapping.fd = fd
    weakref.finalize(mapping, os.close, fd)
    return memoryview(mapping)


def _mapping_of(view: memoryview) -> _Mapped | None:
    """The received mapping ``view`` covers whole, if it is one (through numpy arrays'
    ``base`` and memoryviews' ``obj``)."""
    obj: Any = view
    for _ in range(8):
        if isinstance(obj, _Mapped):
            return obj if view.nbytes == len(obj) else None
        below = obj.obj if isinstance(obj, memoryview) else getattr(obj, "base", None)
        if below is None:
            return None
        obj = below
    return None
