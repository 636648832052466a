"""Ray's ``ray.experimental.internal_kv``: a key-value store shared by every process of the
cluster, kept by the Dask scheduler (Ray keeps it in its GCS). Keys, values and namespaces are
``bytes`` (``str`` is encoded); each operation runs on the scheduler's event loop, so a put
that must not overwrite is atomic. The store lives as long as the scheduler."""
from __future__ import annotations

from typing import Any

from raylike._api import runtime as _runtime
from raylike._api import state as _state
from raylike.exceptions import RaySystemError

__all__ = ["_internal_kv_del", "_internal_kv_exists", "_internal_kv_get",
           "_internal_kv_initialized", "_internal_kv_list", "_internal_kv_put",
           "_internal_kv_reset"]

_STORE = "_raylike_internal_kv"  # the scheduler's attribute holding {(namespace, key): value}
RESERVED_PREFIX = b"@namespace_"  # Ray's GCS refuses keys (and prefixes) that start with it


def _as_bytes(value: str | bytes | None, what: str) -> bytes | None:
    if value is None or isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode()
    raise TypeError(f"internal_kv {what} must be str or bytes, not {type(value).__name__}")


def apply(op: str, namespace: bytes | None, key: bytes, value: bytes | None = None,
          flag: bool = False, *, dask_scheduler: Any) -> Any:
    """One store operation, run on the scheduler (``flag``: overwrite for ``put``, by prefix
    for ``del``)."""
    store: dict[tuple[bytes | None, bytes], bytes] = dask_scheduler.__dict__.setdefault(
        _STORE, {})
    entry = (namespace, key)
    if op == "get":
        return store.get(entry)
    if op == "exists":
        return entry in store
    if op == "put":
        existed = entry in store
        if flag or not existed:
            assert value is not None
            store[entry] = value
        return existed
    if op == "del":
        doomed = [k for k in store if k[0] == namespace
                  and (k[1].startswith(key) if flag else k[1] == key)]
        for k in doomed:
            del store[k]
        return len(doomed)
    if op == "keys":
        return [k[1] for k in store if k[0] == namespace and k[1].startswith(key)]
    raise ValueError(f"unknown internal_kv operation {op!r}")


def _call(op: str, key: str | bytes, namespace: str | bytes | None,
          value: str | bytes | None = None, flag: bool = False) -> Any:
    raw = _as_bytes(key, "key")
    if op != "exists" and raw is not None and raw.startswith(RESERVED_PREFIX):  # Ray's rule
        raise RaySystemError(f"Invalid internal_kv key {raw!r}: keys starting with "
                             f"{RESERVED_PREFIX.decode()} are reserved (Ray stores namespaces "
                             "under that prefix).")
    return _state._query("kv", op, _as_bytes(namespace, "namespace"), raw,
                         _as_bytes(value, "value"), flag)


def _internal_kv_initialized() -> bool:
    """Whether the store can be reached (``ray.init`` was called, or inside a task)."""
    return _runtime.is_initialized()


def _internal_kv_reset() -> None:
    """Ray forgets its GCS client here; raylike's store is reached through the runtime, so
    there is nothing to forget."""


def _internal_kv_get(key: str | bytes, *, namespace: str | bytes | None = None) -> bytes | None:
    """The value stored under ``key``, or None."""
    result: bytes | None = _call("get", key, namespace)
    return result


def _internal_kv_exists(key: str | bytes, *, namespace: str | bytes | None = None) -> bool:
    """Whether a value is stored under ``key``."""
    return bool(_call("exists", key, namespace))


def _internal_kv_put(key: str | bytes, value: str | bytes, overwrite: bool = True, *,
                     namespace: str | bytes | None = None) -> bool:
    """Store ``value`` under ``key`` (only if absent unless ``overwrite``); returns whether a
    value was stored under ``key`` already."""
    if not isinstance(overwrite, bool):
        raise TypeError("overwrite must be a bool")
    return bool(_call("put", key, namespace, value, overwrite))


def _internal_kv_del(key: str | bytes, *, del_by_prefix: bool = False,
                     namespace: str | bytes | None = None) -> int:
    """Delete ``key`` (or every key starting with it); returns how many were deleted."""
    return int(_call("del", key, namespace, None, del_by_prefix))


def _internal_kv_list(prefix: str | bytes, *,
                      namespace: str | bytes | None = None) -> list[bytes]:
    """The keys starting with ``prefix``."""
    return list(_call("keys", prefix, namespace))
