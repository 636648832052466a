"""Ray's ``ray._private.accelerators``: one manager per accelerator resource a node hands out
by id (``GPU``, ``TPU``, ``neuron_cores``, ``HPU``, ``NPU``), naming the resource and the
variable that lists a process's ids (what ``raylike._process.worker_env`` sets). raylike
detects GPUs itself (``raylike._api.resources``); the other managers count nothing, and
raylike's nodes do not consult these functions."""
from __future__ import annotations

from raylike._private.accelerators.accelerator import AcceleratorManager
from raylike._private.accelerators.tpu import TPUAcceleratorManager
from raylike._process.worker_env import VISIBLE

__all__ = ["AcceleratorManager", "TPUAcceleratorManager", "get_accelerator_manager_for_resource",
           "get_all_accelerator_managers", "get_all_accelerator_resource_names"]


def _manager(resource: str) -> type[AcceleratorManager]:
    if resource == "TPU":
        return TPUAcceleratorManager
    variable = VISIBLE[resource]
    return type(f"{resource}AcceleratorManager", (AcceleratorManager,),
                {"get_resource_name": staticmethod(lambda: resource),
                 "get_visible_accelerator_ids_env_var": staticmethod(lambda: variable)})


_MANAGERS = {name: _manager(name) for name in VISIBLE}


def get_all_accelerator_managers() -> set[type[AcceleratorManager]]:
    return set(_MANAGERS.values())


def get_all_accelerator_resource_names() -> set[str]:
    return set(_MANAGERS)


def get_accelerator_manager_for_resource(resource_name: str) -> type[AcceleratorManager] | None:
    return _MANAGERS.get(resource_name)
