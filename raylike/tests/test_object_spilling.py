"""``ray.tests.test_object_spilling``: the helper other Ray test files import from it."""
from __future__ import annotations

from pathlib import Path

from raylike._private.ray_constants import DEFAULT_OBJECT_PREFIX

__all__ = ["is_dir_empty"]


def is_dir_empty(temp_folder: Path, node_id: str, append_path: bool = True) -> bool:
    """Whether ``temp_folder/ray_spilled_objects_<node_id>`` (``temp_folder`` itself when
    ``append_path`` is false) holds no file; a missing directory is empty."""
    folder = Path(temp_folder)
    if append_path:
        folder = folder / f"{DEFAULT_OBJECT_PREFIX}_{node_id}"
    return not folder.exists() or next(folder.iterdir(), None) is None
