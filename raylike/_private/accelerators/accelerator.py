"""Ray's ``ray._private.accelerators.accelerator``: the accelerator manager interface."""
from __future__ import annotations

import os

__all__ = ["AcceleratorManager"]


class AcceleratorManager:
    """One accelerator resource: its name, the variable listing a process's ids, what this
    node and process have of it."""

    @staticmethod
    def get_resource_name() -> str:
        raise NotImplementedError

    @staticmethod
    def get_visible_accelerator_ids_env_var() -> str:
        raise NotImplementedError

    @classmethod
    def get_current_process_visible_accelerator_ids(cls) -> list[str] | None:
        """The ids the variable lists (``None`` if it is not set)."""
        value = os.environ.get(cls.get_visible_accelerator_ids_env_var())
        if value is None:
            return None
        return [] if value in ("", "NoDevFiles") else value.split(",")

    @staticmethod
    def get_current_node_num_accelerators() -> int:
        return 0

    @staticmethod
    def get_current_node_accelerator_type() -> str | None:
        return None

    @staticmethod
    def get_current_node_additional_resources() -> dict[str, float] | None:
        return None

    @staticmethod
    def validate_resource_request_quantity(quantity: float) -> tuple[bool, str | None]:
        return True, None

    @classmethod
    def set_current_process_visible_accelerator_ids(cls, ids: list[str]) -> None:
        os.environ[cls.get_visible_accelerator_ids_env_var()] = ",".join(map(str, ids))
