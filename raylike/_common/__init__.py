"""Ray's ``ray._common``: the few helpers of Ray's own test suite and tools that have a meaning
on raylike (``test_utils``, ``network_utils``, ``utils``). Private, as in Ray."""
from raylike._api.aliases import submodule_getattr
from raylike._common import network_utils, utils  # reached as attributes: ray._common.utils

__all__ = ["network_utils", "utils"]
__getattr__ = submodule_getattr(__name__)  # the others (constants, test_utils) on first use
