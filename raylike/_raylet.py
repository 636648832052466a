"""Ray's ``ray._raylet`` module path (``from ray._raylet import GcsClient``): the names of
:mod:`raylike._api.raylet`, which ``ray._raylet`` is as an attribute too."""
from raylike._api.raylet import *  # noqa: F403
from raylike._api.raylet import __all__  # noqa: F401
