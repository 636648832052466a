"""Ray's ``ray.actor`` module: actor classes, handles, methods, and ``exit_actor``."""
from __future__ import annotations

from raylike._api.actors import ActorClass, ActorClassInheritanceException, ActorHandle, ActorMethod
from raylike._process.actor import exit_actor as _exit_actor
from raylike.exceptions import AsyncioActorExit

__all__ = ["ActorClass", "ActorClassInheritanceException", "ActorHandle", "ActorMethod",
           "AsyncioActorExit", "exit_actor"]


def exit_actor() -> None:
    """End the current actor once the running method call returns.

    The call that runs this raises ``ActorDiedError`` at its caller (its return value is lost),
    calls that have not started fail with ``ActorDiedError``, and so do later calls. In a
    threaded or async actor, calls already running finish first.

    Raises:
        TypeError: outside an actor (in the driver or in a task).
    """
    _exit_actor()
