"""Ray's ``ray._private.accelerators.tpu``: Google TPUs, read from the variables a TPU VM sets
(``TPU_ACCELERATOR_TYPE`` ``v4-16``, ``TPU_NAME``, ``TPU_WORKER_ID``, ``TPU_TOPOLOGY``)."""
from __future__ import annotations

from raylike._api.labels import tpu_accelerator_type
from raylike._private.accelerators.accelerator import AcceleratorManager

__all__ = ["TPUAcceleratorManager"]


class TPUAcceleratorManager(AcceleratorManager):
    """The ``TPU`` resource; a process's chips are ``TPU_VISIBLE_CHIPS``."""

    @staticmethod
    def get_resource_name() -> str:
        return "TPU"

    @staticmethod
    def get_visible_accelerator_ids_env_var() -> str:
        return "TPU_VISIBLE_CHIPS"

    @staticmethod
    def get_current_node_accelerator_type() -> str | None:
        """``TPU-<generation>`` from ``TPU_ACCELERATOR_TYPE`` (``v4-16`` -> ``TPU-V4``)."""
        return tpu_accelerator_type()
