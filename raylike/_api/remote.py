"""``@ray.remote`` and ``@ray.method``: turn functions into remote functions, classes into
actor classes."""
from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar, overload

from raylike._api import options as _options
from raylike.exceptions import RemoteArgumentsError

if TYPE_CHECKING:
    from raylike._api.actors import ActorClass
    from raylike._api.tasks import RemoteFunction

T = TypeVar("T")
R = TypeVar("R")


@overload
def remote(target: type[T], /) -> ActorClass[T]: ...  # type: ignore[overload-overlap]
@overload
def remote(target: Callable[..., R], /) -> RemoteFunction[R]: ...
@overload
def remote(**options: Any) -> Callable[[Any], Any]: ...


def remote(*args: Any, **options: Any) -> Any:
    """Define a remote function or an actor class.

    ``@ray.remote`` or ``@ray.remote(num_cpus=..., ...)`` on a function returns a
    ``RemoteFunction`` (call it with ``.remote()``); on a class, an ``ActorClass`` (create
    actors with ``.remote()``). Options are checked against one table: an unknown keyword is a
    ``ValueError`` naming the valid ones.
    """
    if len(args) == 1 and not options and (inspect.isfunction(args[0]) or
                                           inspect.isclass(args[0]) or callable(args[0])):
        return _make(args[0], {})
    if args or not options:  # ``@ray.remote()`` too, as in Ray
        raise RemoteArgumentsError(
            "The @ray.remote decorator must be applied either with no arguments and no "
            "parentheses, for example '@ray.remote', or it must be applied using some of the "
            f"arguments in the list {sorted(_options.OPTIONS)}, for example "
            "'@ray.remote(num_returns=2, resources={\"CustomResource\": 1})'.")

    def decorator(target: Any) -> Any:
        return _make(target, options)

    return decorator


def _make(target: Any, options: dict[str, Any]) -> Any:
    if inspect.isclass(target):
        from raylike._api.actors import ActorClass

        return ActorClass(target, options)
    if callable(target):
        from raylike._api.tasks import RemoteFunction

        return RemoteFunction(target, options)
    raise TypeError("The @ray.remote decorator must be applied to either a function or a class.")


def method(*, num_returns: int | str | None = None, concurrency_group: str | None = None,
           max_task_retries: int | None = None, retry_exceptions: Any = None,
           enable_task_events: bool | None = None,
           _generator_backpressure_num_objects: int | None = None) -> Callable[[Any], Any]:
    """Annotate an actor method with options, e.g. ``@ray.method(num_returns=2)`` or
    ``@ray.method(num_returns="streaming")`` (a generator method's default)."""
    from raylike._api import options as _options

    if num_returns is not None:
        _options.OPTIONS["num_returns"].validate("num_returns", num_returns)
    if _generator_backpressure_num_objects is not None:
        _options.OPTIONS["_generator_backpressure_num_objects"].validate(
            "_generator_backpressure_num_objects", _generator_backpressure_num_objects)

    def decorator(fn: Any) -> Any:
        if num_returns is not None:
            from raylike._api.tasks import is_generator_function

            _options.num_returns_code(num_returns, is_generator_function(fn))
            fn.__ray_num_returns__ = num_returns
        if _generator_backpressure_num_objects is not None:
            fn.__ray_generator_backpressure__ = _generator_backpressure_num_objects
        if concurrency_group is not None:
            fn.__ray_concurrency_group__ = concurrency_group
        if max_task_retries is not None:
            fn.__ray_max_task_retries__ = max_task_retries
        if retry_exceptions is not None:
            fn.__ray_retry_exceptions__ = retry_exceptions
        if enable_task_events is not None:
            fn.__ray_enable_task_events__ = bool(enable_task_events)
        return fn

    return decorator
