"""Host/port helpers under Ray's names (``ray._common.network_utils``)."""
from __future__ import annotations

import socket

__all__ = ["build_address", "find_free_port", "get_localhost_ip", "is_ipv6", "is_localhost",
           "parse_address"]


def is_ipv6(host: str) -> bool:
    """True if ``host`` is an IPv6 literal (brackets allowed)."""
    try:
        socket.inet_pton(socket.AF_INET6, host.strip("[]"))
    except (OSError, ValueError):
        return False
    return True


def build_address(host: str, port: int | str) -> str:
    """``host:port``, with an IPv6 host in brackets."""
    if is_ipv6(host) and not host.startswith("["):
        return f"[{host}]:{port}"
    return f"{host}:{port}"


def parse_address(address: str) -> tuple[str, str] | None:
    """``(host, port)`` of ``host:port`` (brackets of an IPv6 host removed); None without a
    port."""
    host, sep, port = address.rpartition(":")
    if not sep or not host:
        return None
    return host.strip("[]"), port


def is_localhost(host: str) -> bool:
    """True for the loopback names and addresses."""
    return host.strip("[]") in ("localhost", "127.0.0.1", "::1")


def get_localhost_ip() -> str:
    """The loopback address this machine's Ray processes listen on."""
    return "127.0.0.1"


def find_free_port(family: socket.AddressFamily = socket.AF_INET) -> int:
    """A TCP port that nothing listens on right now."""
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.bind(("", 0))
        return int(sock.getsockname()[1])
