"""``ray.util.accelerators``: the accelerator types ``accelerator_type=`` names.

``@ray.remote(accelerator_type=NVIDIA_TESLA_V100)`` runs only on a node whose GPUs are of that
type: as in Ray, the option asks for a sliver of the resource ``accelerator_type:V100``, which
a node declares when pynvml reports its GPUs as that type (``raylike._api.resources``).
"""
from __future__ import annotations

import warnings
from typing import Any

from raylike.util.accelerators.accelerators import *  # noqa: F403
from raylike.util.accelerators.accelerators import NVIDIA_A100
from raylike.util.accelerators.accelerators import __all__ as __all__


def __getattr__(name: str) -> Any:
    if name == "NVIDIA_TESLA_A100":  # Ray's old name, kept with a warning
        from raylike.util.annotations import RayDeprecationWarning

        warnings.warn("NVIDIA_TESLA_A100 is deprecated, use NVIDIA_A100 instead.",
                      RayDeprecationWarning, stacklevel=2)
        return NVIDIA_A100
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
