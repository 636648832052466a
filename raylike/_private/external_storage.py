"""``ray._private.external_storage``: Ray's object-spilling storages, where they mean something
on raylike.

A raylike node is a Dask worker: Dask moves its objects to disk by itself (see
docs/design/objects.md), so no raylet ever calls these classes. What stays is what they do
with bytes: the URL of an object inside a fused spill file (``create_url_with_offset``,
``parse_url_with_offset``), unique file names, and :class:`FileSystemStorage`, which writes
the objects it is given to ``<directory>/ray_spilled_objects_<node id>/`` in Ray's format
(per object: three little-endian 8-byte lengths, then owner address, metadata and data),
reads them back and deletes them. Taking an object from a store (``_get_objects_from_store``)
reads it with ``get`` and serializes it; putting a restored object back under its old ref
(``_put_object_to_store``) has no Dask meaning and raises. ``smart_open`` storage needs that
package (absent: ``ImportError``, as Ray).
"""
from __future__ import annotations

import abc
import os
import random
import urllib.parse
import uuid
from collections.abc import Sequence
from typing import IO, Any, NamedTuple

from raylike._api import spilling as _spilling
from raylike._private.ray_constants import DEFAULT_OBJECT_PREFIX

__all__ = ["ExternalStorage", "ExternalStorageSmartOpenImpl", "FileSystemStorage",
           "NullStorage", "ParsedURL", "create_url_with_offset", "parse_url_with_offset",
           "setup_external_storage", "validate_config"]

HEADER = 24  # three 8-byte lengths


class ParsedURL(NamedTuple):
    base_url: str
    offset: int
    size: int


def create_url_with_offset(*, url: str, offset: int, size: int) -> str:
    """The URL of ``size`` bytes at ``offset`` in the file at ``url``."""
    return f"{url}?offset={offset}&size={size}"


def parse_url_with_offset(url_with_offset: str) -> ParsedURL:
    """The file URL, offset and size of an URL made by :func:`create_url_with_offset`."""
    base, _, query = url_with_offset.partition("?")
    fields = urllib.parse.parse_qs(query)
    if "offset" not in fields or "size" not in fields:
        raise ValueError(f"Failed to parse URL: {url_with_offset}")
    return ParsedURL(base, int(fields["offset"][0]), int(fields["size"][0]))


def _get_unique_spill_filename(object_refs: Sequence[Any]) -> str:
    """A file name no other spill uses, naming how many objects the file holds."""
    return f"{uuid.uuid4().hex}-multi-{len(object_refs)}"


class ExternalStorage(metaclass=abc.ABCMeta):
    """A place spilled objects are written to (its constructor validates its parameters)."""

    HEADER_LENGTH = HEADER

    def _get_objects_from_store(self, object_refs: Sequence[Any]
                                ) -> list[tuple[bytes, bytes, None]]:
        """Each object as ``(data, metadata, None)``: its value read and serialized."""
        import raylike
        from raylike import cloudpickle

        return [(cloudpickle.dumps(v), b"", None) for v in raylike.get(list(object_refs))]

    def _put_object_to_store(self, *args: Any) -> None:
        raise NotImplementedError(
            "ray._private.external_storage cannot restore an object under its old ref on "
            "raylike: Dask keeps (and spills) the objects of its workers itself")

    def _write_objects(self, f: IO[bytes], object_refs: Sequence[Any],
                       owner_addresses: Sequence[bytes], url: str) -> list[bytes]:
        urls: list[bytes] = []
        offset = 0
        for ref, (data, metadata, _), owner in zip(
                object_refs, self._get_objects_from_store(object_refs), owner_addresses):
            if data is None and not metadata:
                raise ValueError(f"Object {ref.hex()} does not exist.")
            data = b"" if data is None else bytes(data)
            record = b"".join([len(owner).to_bytes(8, "little"),
                               len(metadata).to_bytes(8, "little"),
                               len(data).to_bytes(8, "little"), owner, metadata, data])
            f.write(record)
            urls.append(create_url_with_offset(url=url, offset=offset,
                                               size=len(record)).encode())
            offset += len(record)
        f.flush()
        return urls

    @abc.abstractmethod
    def spill_objects(self, object_refs: Sequence[Any],
                      owner_addresses: Sequence[bytes]) -> list[bytes]:
        """Write the objects; one URL (with offset) each."""

    @abc.abstractmethod
    def restore_spilled_objects(self, object_refs: Sequence[Any],
                                url_with_offset_list: Sequence[bytes]) -> int:
        """Put the objects back; the bytes read."""

    @abc.abstractmethod
    def delete_spilled_objects(self, urls: Sequence[bytes]) -> None:
        """Delete the files of the given URLs."""

    def destroy_external_storage(self) -> None:  # noqa: B027 - optional, as in Ray
        """Remove everything this storage wrote (nothing, unless a storage says otherwise)."""


class NullStorage(ExternalStorage):
    """No spilling configured: every use raises."""

    def spill_objects(self, object_refs: Sequence[Any],
                      owner_addresses: Sequence[bytes]) -> list[bytes]:
        raise NotImplementedError("External storage is not initialized")

    def restore_spilled_objects(self, object_refs: Sequence[Any],
                                url_with_offset_list: Sequence[bytes]) -> int:
        raise NotImplementedError("External storage is not initialized")

    def delete_spilled_objects(self, urls: Sequence[bytes]) -> None:
        raise NotImplementedError("External storage is not initialized")


class FileSystemStorage(ExternalStorage):
    """Spill files in ``<directory_path>/ray_spilled_objects_<node_id>`` (one directory or
    several, used in turn)."""

    def __init__(self, node_id: str, directory_path: str | list[str],
                 buffer_size: int | None = None) -> None:
        if directory_path is None:
            raise ValueError("directory_path should be provided to use object spilling.")
        paths = [directory_path] if isinstance(directory_path, str) else directory_path
        if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
            raise TypeError("directory_path must be either a single string or a list of "
                            "strings")
        if buffer_size is not None and not isinstance(buffer_size, int):
            raise TypeError("buffer_size must be an integer.")
        self._buffer_size = -1 if buffer_size is None else buffer_size
        self._directory_paths = []
        for path in paths:
            full = os.path.join(path, f"{DEFAULT_OBJECT_PREFIX}_{node_id}")
            os.makedirs(full, exist_ok=True)
            self._directory_paths.append(full)
        self._next = random.randrange(len(self._directory_paths))

    def spill_objects(self, object_refs: Sequence[Any],
                      owner_addresses: Sequence[bytes]) -> list[bytes]:
        if not object_refs:
            return []
        self._next = (self._next + 1) % len(self._directory_paths)
        url = os.path.join(self._directory_paths[self._next],
                           _get_unique_spill_filename(object_refs))
        with open(url, "wb", buffering=self._buffer_size) as f:
            return self._write_objects(f, object_refs, owner_addresses, url)

    def restore_spilled_objects(self, object_refs: Sequence[Any],
                                url_with_offset_list: Sequence[bytes]) -> int:
        self._put_object_to_store()
        return 0

    def delete_spilled_objects(self, urls: Sequence[bytes]) -> None:
        for url in urls:
            path = parse_url_with_offset(url.decode()).base_url
            try:
                os.remove(path)
            except FileNotFoundError:
                pass

    def destroy_external_storage(self) -> None:
        import shutil

        for path in self._directory_paths:
            shutil.rmtree(path, ignore_errors=True)


class ExternalStorageSmartOpenImpl(ExternalStorage):
    """Spill files at a ``smart_open`` URI (one or several, used in turn), each named
    ``ray_spilled_objects_<node id>-<unique name>``; needs ``smart_open`` (and ``boto3`` for
    ``s3://``)."""

    def __init__(self, node_id: str, uri: str | list[str], override_transport_params: Any = None,
                 buffer_size: int = 1024 * 1024) -> None:
        try:
            import smart_open  # noqa: F401
        except ImportError as exc:
            raise ModuleNotFoundError("Smart open is chosen to be a object spilling external "
                                      "storage, but smart_open and boto3 is not downloaded. "
                                      f"Original error: {exc}") from None
        uris = [uri] if isinstance(uri, str) else uri
        if not isinstance(uris, list) or not uris:
            raise TypeError("uri must be a single string or list of strings.")
        if not isinstance(buffer_size, int):
            raise TypeError("buffer_size must be an integer.")
        on_s3 = [u.startswith("s3://") for u in uris]
        if any(on_s3) and not all(on_s3):
            raise ValueError("all uri's must be s3 or none can be s3.")
        self._uris = [u.rstrip("/") for u in uris] if all(on_s3) else list(uris)
        self._next = random.randrange(len(self._uris))
        self.prefix = f"{DEFAULT_OBJECT_PREFIX}_{node_id}"
        self.transport_params: dict[str, Any] = {}
        if all(on_s3):
            import boto3

            self.transport_params = {"defer_seek": True, "buffer_size": buffer_size,
                                     "resource": boto3.resource(service_name="s3")}
        self.transport_params.update(override_transport_params or {})

    def spill_objects(self, object_refs: Sequence[Any],
                      owner_addresses: Sequence[bytes]) -> list[bytes]:
        if not object_refs:
            return []
        from smart_open import open as smart_open

        self._next = (self._next + 1) % len(self._uris)
        url = f"{self._uris[self._next]}/{self.prefix}-{_get_unique_spill_filename(object_refs)}"
        with smart_open(url, mode="wb", transport_params=self.transport_params) as f:
            return self._write_objects(f, object_refs, owner_addresses, url)

    def restore_spilled_objects(self, object_refs: Sequence[Any],
                                url_with_offset_list: Sequence[bytes]) -> int:
        self._put_object_to_store()
        return 0

    def delete_spilled_objects(self, urls: Sequence[bytes]) -> None:
        """Nothing, as in Ray: remote spill files are left to the storage's own policies."""


_TYPES = {"filesystem": FileSystemStorage, "mock_distributed_fs": FileSystemStorage,
          "unstable_fs": FileSystemStorage, "slow_fs": FileSystemStorage,
          "smart_open": ExternalStorageSmartOpenImpl}


def setup_external_storage(config: dict[str, Any] | None, node_id: str,
                           session_name: str | None = None) -> ExternalStorage:
    """The storage ``config`` (Ray's ``object_spilling_config``, parsed) describes."""
    if not config:
        return NullStorage()
    kind = _TYPES.get(config.get("type", ""))
    if kind is None:
        raise ValueError(f"Unknown external storage type: {config.get('type')}")
    return kind(node_id, **(config.get("params") or {}))


def validate_config(config: dict[str, Any]) -> None:
    """Raise as Ray's ``init`` does for a bad ``object_spilling_config`` (creates nothing)."""
    _spilling.validate(config)
