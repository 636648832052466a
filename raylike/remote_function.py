"""``ray.remote_function``: the ``RemoteFunction`` type of ``@ray.remote`` functions."""
from raylike._api.tasks import RemoteFunction

__all__ = ["RemoteFunction"]
