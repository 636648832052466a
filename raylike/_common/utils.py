"""Small helpers under Ray's names (``ray._common.utils``) that Ray's tests and fixtures call."""
from __future__ import annotations

import asyncio
import binascii
import os
import tempfile
import warnings

from raylike._api.host_limits import system_memory as get_system_memory

__all__ = ["RESOURCE_CONSTRAINT_PREFIX", "binary_to_hex", "decode", "get_default_ray_temp_dir",
           "get_or_create_event_loop", "get_ray_address_file", "get_system_memory",
           "hex_to_binary", "reset_ray_address"]

# the prefix of the resource an ``accelerator_type=X`` option asks for (``accelerator_type:X``;
# raylike._api.resources.ACCELERATOR_PREFIX, which imports this module)
RESOURCE_CONSTRAINT_PREFIX = "accelerator_type:"


def get_default_ray_temp_dir() -> str:
    """Ray's default temporary directory: ``ray`` under ``RAY_TMPDIR``, else the system's."""
    from raylike._api.session import default_temp_dir

    return default_temp_dir()


def get_ray_address_file(temp_dir: str | None = None) -> str:
    """Where Ray records the address of the cluster last started on this machine."""
    base = temp_dir or os.path.join(tempfile.gettempdir(), "ray")
    return os.path.join(base, "ray_current_cluster")


def reset_ray_address(temp_dir: str | None = None) -> None:
    """Forget the cluster recorded as started last on this machine (raylike's record, and a
    file Ray left behind)."""
    from raylike._dask.cluster.embedded import forget_current

    forget_current(None)
    try:
        os.remove(get_ray_address_file(temp_dir))
    except OSError:
        pass


def decode(byte_str: bytes | str | None, allow_none: bool = False,
           encode_type: str = "utf-8") -> str:
    """``byte_str`` as text (``None`` -> ``""`` when ``allow_none``)."""
    if byte_str is None and allow_none:
        return ""
    if isinstance(byte_str, bytes):
        return byte_str.decode(encode_type)
    if isinstance(byte_str, str):
        return byte_str
    raise ValueError(f"The argument {byte_str!r} must be a bytes object.")


def get_or_create_event_loop() -> asyncio.AbstractEventLoop:
    """The running event loop, else this thread's loop, creating one if it has none."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        pass
    with warnings.catch_warnings():  # get_event_loop warns where no loop is set
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            return asyncio.get_event_loop()
        except RuntimeError:
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            return loop


def binary_to_hex(identifier: bytes) -> str:
    """``bytes`` -> lowercase hex text."""
    return binascii.hexlify(identifier).decode()


def hex_to_binary(hex_identifier: str) -> bytes:
    """Hex text -> ``bytes``."""
    return binascii.unhexlify(hex_identifier)
