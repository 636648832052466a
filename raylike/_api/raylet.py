"""``ray._raylet``: where Ray's programs and tests import its core classes from by path.

Only the names Ray users reach there: the ref and generator classes (``ray.ObjectRefGenerator``
is ``ray._raylet.ObjectRefGenerator``, also named ``StreamingObjectRefGenerator``), the
end-of-stream error (``ray.exceptions``'s class) and ``GcsClient``, whose key-value methods
reach the cluster's store (``ray.experimental.internal_kv``).
"""
from __future__ import annotations

from typing import Any

from raylike._api.generators import DynamicObjectRefGenerator, ObjectRefGenerator
from raylike._api.objects import ObjectRef
from raylike.exceptions import ObjectRefStreamEndOfStreamError

StreamingObjectRefGenerator = ObjectRefGenerator
STREAMING_GENERATOR_RETURN = -2  # Ray's ``num_returns`` code of a streaming generator
GCS_PID_KEY = "gcs_pid"  # Ray's key of its GCS server's pid in the key-value store (raylike
# has no GCS process: nothing is stored under it)

__all__ = ["GCS_PID_KEY", "STREAMING_GENERATOR_RETURN", "DynamicObjectRefGenerator",
           "GcsClient", "ObjectRef", "ObjectRefGenerator", "ObjectRefStreamEndOfStreamError",
           "StreamingObjectRefGenerator"]


class GcsClient:
    """Ray's client of its GCS, reduced to the key-value store of the cluster this process is
    connected to (``address`` must be that cluster's ``gcs_address`` or None). Its other
    methods (node, actor and job tables) raise ``NotImplementedError``."""

    def __init__(self, address: str | None = None, cluster_id: str | None = None,
                 **_: Any) -> None:
        import raylike

        own = raylike.get_runtime_context().gcs_address
        if address is not None and address != own:
            raise NotImplementedError(f"ray._raylet.GcsClient on raylike reaches only the "
                                      f"cluster this process is connected to ({own}), not "
                                      f"{address}")
        self.address = own

    def internal_kv_get(self, key: bytes, namespace: bytes | None,
                        timeout: float | None = None) -> bytes | None:
        from raylike.experimental import internal_kv

        return internal_kv._internal_kv_get(key, namespace=namespace)

    def internal_kv_multi_get(self, keys: list[bytes], namespace: bytes | None,
                              timeout: float | None = None) -> dict[bytes, bytes]:
        values = {key: self.internal_kv_get(key, namespace) for key in keys}
        return {key: value for key, value in values.items() if value is not None}

    def internal_kv_put(self, key: bytes, value: bytes, overwrite: bool,
                        namespace: bytes | None, timeout: float | None = None) -> int:
        """1 if ``key`` was new, else 0 (as Ray's GCS counts added keys)."""
        from raylike.experimental import internal_kv

        existed = internal_kv._internal_kv_put(key, value, overwrite, namespace=namespace)
        return 0 if existed else 1

    def internal_kv_del(self, key: bytes, del_by_prefix: bool, namespace: bytes | None,
                        timeout: float | None = None) -> int:
        from raylike.experimental import internal_kv

        return internal_kv._internal_kv_del(key, del_by_prefix=del_by_prefix,
                                            namespace=namespace)

    def internal_kv_exists(self, key: bytes, namespace: bytes | None,
                           timeout: float | None = None) -> bool:
        from raylike.experimental import internal_kv

        return internal_kv._internal_kv_exists(key, namespace=namespace)

    def internal_kv_keys(self, prefix: bytes, namespace: bytes | None,
                         timeout: float | None = None) -> list[bytes]:
        from raylike.experimental import internal_kv

        return internal_kv._internal_kv_list(prefix, namespace=namespace)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        raise NotImplementedError(f"ray._raylet.GcsClient.{name} is not available on raylike: "
                                  "only the key-value store has a counterpart (the Dask "
                                  "scheduler keeps no GCS tables)")
