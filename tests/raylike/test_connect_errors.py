"""Connecting to an address where no Dask scheduler answers fails fast and clearly."""
from __future__ import annotations

import socket
import threading
import time

import pytest

import raylike as ray


@pytest.mark.timeout(60)
def test_a_server_that_is_not_dask_is_refused_within_seconds():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    accepted: list[socket.socket] = []

    def accept() -> None:  # accepts connections and never answers, like a foreign service
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            accepted.append(conn)

    threading.Thread(target=accept, daemon=True).start()
    address = f"tcp://127.0.0.1:{server.getsockname()[1]}"
    start = time.monotonic()
    try:
        with pytest.raises(ray.exceptions.RaySystemError, match=address):
            ray.init(address=address)
        assert time.monotonic() - start < 30
        assert not ray.is_initialized()
    finally:
        server.close()
        for conn in accepted:
            conn.close()
