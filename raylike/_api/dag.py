"""Ray's lazy DAG API (``ray.dag``): ``f.bind(...)``, ``Actor.bind(...)``, ``actor.m.bind(...)``,
``InputNode``, ``MultiOutputNode`` and ``dag.execute(...)``.

A node records a call without making it; ``execute`` walks the graph from the node it is
called on, makes each call once (a node reached twice gives the same ref), with the nodes in
its arguments (anywhere in lists, tuples and dicts) replaced by their refs, so the usual task
and actor calls carry the data. An actor class node makes a new actor on each ``execute``; the
method calls bound on it run on that actor in the order they were bound, each after the one
bound before it (as in Ray, a call bound only to change the actor's state still runs when a
later call is executed). Compiled graphs (``experimental_compile``) are not provided.
"""
from __future__ import annotations

import warnings
from typing import Any

from raylike.util.annotations import RayDeprecationWarning

_NOT_METHODS = ("bind", "remote")


class DAGNode:
    """A call recorded by ``.bind()``; ``execute()`` makes it (and what it needs)."""

    def __init__(self, args: tuple[Any, ...] = (), kwargs: dict[str, Any] | None = None) -> None:
        self._bound_args = args
        self._bound_kwargs = kwargs or {}

    def execute(self, *args: Any, **kwargs: Any) -> Any:
        """Make the calls of the graph ending here; ``args``/``kwargs`` feed its
        ``InputNode``. An ``ObjectRef`` (an ``ActorHandle`` for an actor class node, a list
        of refs for a ``MultiOutputNode``)."""
        warnings.warn("DAGNode.execute() is deprecated and will be removed in a future "
                      "release.", RayDeprecationWarning, stacklevel=2)
        return _Execution(args, kwargs).value(self)

    def _run(self, run: _Execution) -> Any:
        raise NotImplementedError

    def get_args(self) -> tuple[Any, ...]:
        return self._bound_args

    def get_kwargs(self) -> dict[str, Any]:
        return self._bound_kwargs


class _Execution:
    """One ``execute``: each node's result, made once."""

    def __init__(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        self.args = args
        self.kwargs = kwargs
        self.results: dict[int, Any] = {}
        self.nodes: list[DAGNode] = []  # keeps the ids of ``results`` unique

    def value(self, node: DAGNode) -> Any:
        if id(node) not in self.results:
            self.results[id(node)] = node._run(self)
            self.nodes.append(node)
        return self.results[id(node)]

    def resolve(self, obj: Any) -> Any:
        """``obj`` with every node in it replaced by its result."""
        if isinstance(obj, DAGNode):
            return self.value(obj)
        if type(obj) in (list, tuple):
            return type(obj)(self.resolve(item) for item in obj)
        if type(obj) is dict:
            return {key: self.resolve(item) for key, item in obj.items()}
        return obj

    def call(self, target: Any, node: DAGNode) -> Any:
        args = self.resolve(node._bound_args)
        kwargs = self.resolve(node._bound_kwargs)
        return target.remote(*args, **kwargs)


class FunctionNode(DAGNode):
    """``f.bind(...)``: a task."""

    def __init__(self, function: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        super().__init__(args, kwargs)
        self._body = function

    def _run(self, run: _Execution) -> Any:
        return run.call(self._body, self)


class ClassNode(DAGNode):
    """``Actor.bind(...)``: an actor, made anew by each ``execute``."""

    def __init__(self, actor_class: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        super().__init__(args, kwargs)
        self._body = actor_class
        self._last_call: ClassMethodNode | None = None

    def _run(self, run: _Execution) -> Any:
        return run.call(self._body, self)

    def __getattr__(self, name: str) -> _UnboundClassMethod:
        if name.startswith("_") or name in _NOT_METHODS:
            raise AttributeError(f"{type(self).__name__} has no attribute {name!r}")
        return _UnboundClassMethod(self, name, {})


class _UnboundClassMethod:
    """``class_node.method``: ``.bind(...)`` records a call on the class node's actor."""

    def __init__(self, parent: ClassNode, name: str, options: dict[str, Any]) -> None:
        self._parent = parent
        self._name = name
        self._options = options

    def options(self, **options: Any) -> _UnboundClassMethod:
        return _UnboundClassMethod(self._parent, self._name, {**self._options, **options})

    def bind(self, *args: Any, **kwargs: Any) -> ClassMethodNode:
        node = ClassMethodNode(self._parent, self._name, args, kwargs, self._options,
                               after=self._parent._last_call)
        self._parent._last_call = node
        return node

    def remote(self, *args: Any, **kwargs: Any) -> Any:
        raise AttributeError(f".remote() cannot be used on a method of a class node; use "
                             f".bind() and execute the graph (method {self._name!r}).")


class ClassMethodNode(DAGNode):
    """``class_node.method.bind(...)`` or ``actor_handle.method.bind(...)``: an actor call."""

    def __init__(self, parent: Any, name: str, args: tuple[Any, ...], kwargs: dict[str, Any],
                 options: dict[str, Any] | None = None,
                 after: ClassMethodNode | None = None) -> None:
        super().__init__(args, kwargs)
        self._parent = parent  # a ClassNode, or an ActorHandle
        self._method_name = name
        self._options = options or {}
        self._after = after  # the call bound on the same class node before this one

    def _run(self, run: _Execution) -> Any:
        actor = run.value(self._parent) if isinstance(self._parent, DAGNode) else self._parent
        if self._after is not None:
            run.value(self._after)
        method = getattr(actor, self._method_name)
        if self._options:
            method = method.options(**self._options)
        return run.call(method, self)

    def get_method_name(self) -> str:
        return self._method_name


class DAGInputData:
    """What ``execute`` was given, when it is more than one positional value: ``[i]`` is the
    ``i``-th positional argument, ``["name"]`` a keyword argument."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._args = list(args)
        self._kwargs = kwargs

    def __getitem__(self, key: int | str) -> Any:
        if isinstance(key, int):
            return self._args[key]
        if isinstance(key, str):
            return self._kwargs[key]
        raise ValueError("Please only use int index or str as first-level key to access "
                         "fields of dag input.")


class InputNode(DAGNode):
    """The graph's input: ``with InputNode() as inp: dag = f.bind(inp)``; then
    ``dag.execute(value)`` gives ``value`` where ``inp`` was bound (``inp[0]``, ``inp["k"]``,
    ``inp.k`` pick from several values)."""

    def __enter__(self) -> InputNode:
        return self

    def __exit__(self, *exc: Any) -> None:
        return None

    def _run(self, run: _Execution) -> Any:
        if len(run.args) == 1 and not run.kwargs:
            return run.args[0]
        return DAGInputData(*run.args, **run.kwargs)

    def __getitem__(self, key: int | str) -> InputAttributeNode:
        return InputAttributeNode(self, key, "__getitem__")

    def __getattr__(self, name: str) -> InputAttributeNode:
        if name.startswith("_"):
            raise AttributeError(f"InputNode has no attribute {name!r}")
        return InputAttributeNode(self, name, "__getattr__")


class InputAttributeNode(DAGNode):
    """``input_node[key]`` or ``input_node.key``."""

    def __init__(self, input_node: InputNode, key: int | str, accessor: str) -> None:
        super().__init__()
        self._input = input_node
        self._key = key
        self._accessor = accessor

    def _run(self, run: _Execution) -> Any:
        value = run.value(self._input)
        if isinstance(value, DAGInputData) or self._accessor == "__getitem__":
            return value[self._key]
        return getattr(value, str(self._key))


class MultiOutputNode(DAGNode):
    """Several outputs: ``execute`` returns the list of their refs."""

    def __init__(self, outputs: list[DAGNode]) -> None:
        super().__init__((list(outputs),))
        self._outputs = list(outputs)

    def _run(self, run: _Execution) -> Any:
        return [run.resolve(node) for node in self._outputs]
