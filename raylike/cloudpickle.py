"""``ray.cloudpickle``: the cloudpickle raylike serializes functions and classes with."""
from cloudpickle import *  # noqa: F403
from cloudpickle import CloudPickler, dump, dumps, load, loads, register_pickle_by_value
from cloudpickle import __version__ as __version__

__all__ = ["CloudPickler", "dump", "dumps", "load", "loads", "register_pickle_by_value"]
