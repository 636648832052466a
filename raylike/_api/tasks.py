"""Tasks: remote functions and the description of one call (``TaskCall``)."""
from __future__ import annotations

import functools
import inspect
import itertools
import os
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from raylike._api import context as _context
from raylike._api import memory as _memory
from raylike._api import options as _options
from raylike._api import pg_options as _pg_options
from raylike._api import resources as _resources
from raylike._api import runtime as _runtime
from raylike._api import runtime_env as _runtime_env
from raylike._api import unhandled as _unhandled
from raylike._api.objects import ObjectRef, _Borrowed
from raylike._api.serialization import check_definition_size, dumps, unpicklable_part

R = TypeVar("R")  # what a remote function returns


@dataclass
class TaskCall:
    """One task as it travels to a node: everything but the values of its top-level refs."""

    key: str
    name: str
    fn: bytes  # the pickled function (or, for actor calls, unused)
    args: bytes  # pickled (args, kwargs) where top-level refs are ``Dep`` placeholders
    num_returns: int = 1
    return_keys: list[str] = field(default_factory=list)
    resources: dict[str, float] = field(default_factory=dict)
    max_retries: int = 3
    retry_exceptions: bool | tuple[type, ...] = False
    backpressure: int = -1  # a streaming generator pauses with this many items not taken
    strategy: Any = None
    label_selector: dict[str, str] | None = None  # Ray's ``label_selector`` (``_labels``)
    fallback_strategy: list[dict[str, Any]] | None = None
    job_id: str = ""
    namespace: str | None = None
    detached_default: bool = False  # the job's actors are detached unless told otherwise
    depth: int = 1  # Ray's task depth: 1 for the driver's tasks, one more per nesting
    function_name: str = ""  # "module.function", as Ray names it
    placement: Any = None  # a bundle of a placement group (``_pg_options.Placement``)
    runtime_env: dict[str, Any] | None = None  # the effective one (``_runtime_env``)
    dep_keys: list[str] = field(default_factory=list)  # the objects of its top-level refs
    max_calls: int = 0  # a process runs the function this many times, then exits (0: no limit)
    task_events: bool = True  # ``enable_task_events``: False keeps it out of the state API
    owner: str = ""  # its caller (``_context.current_owner``): the memory monitor's groups

    @property
    def num_cpus(self) -> float:
        return self.resources.get("CPU", 0.0)

    @property
    def dask_resources(self) -> dict[str, float]:
        """The Dask restrictions: ``resources``, or in a placement group its bundle's."""
        return self.placement.dask if self.placement is not None else self.resources

    @property
    def cpu_names(self) -> tuple[str, ...]:
        """The resources whose CPUs the task gives back while it blocks."""
        return self.placement.cpu_names() if self.placement is not None else ("CPU",)

    @property
    def num_gpus(self) -> float:
        return self.resources.get("GPU", 0.0)


@dataclass(frozen=True)
class Dep:
    """Placeholder for the value of the ``index``-th top-level ref argument."""

    index: int


LARGE_ARGUMENTS = 1 << 20  # bytes of pickled arguments above which they are put


@dataclass(frozen=True)
class LargeArguments:
    """Placeholder: the pickled arguments are the value of the ``index``-th dependency."""

    index: int


def new_key(name: str) -> str:
    """A fresh Dask key whose prefix (what the dashboard groups by) is ``name``: the name, a
    random part drawn once per process, and a counter (unique without a uuid per call)."""
    return f"{_key_prefix(name)}-{_unique.next()}"


@functools.lru_cache(maxsize=1024)
def _key_prefix(name: str) -> str:
    return re.sub(r"[^0-9A-Za-z_.<>]", "_", name) or "task"


class _Unique:
    """32 hex digits unique to this call: 16 random per process (drawn again after a fork),
    then a 64-bit counter."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pid = -1
        self._random = ""
        self._count = itertools.count()

    def next(self) -> str:
        with self._lock:
            if self._pid != os.getpid():
                self._pid, self._random = os.getpid(), os.urandom(8).hex()
                self._count = itertools.count()
            return f"{self._random}{next(self._count):016x}"


_unique = _Unique()


def return_keys(key: str, num_returns: int) -> list[str]:
    """The keys of a call's return objects: the task's own key for a single return."""
    if num_returns == 1 or num_returns < 0:  # a generator's task: its own key
        return [key]
    return [f"{key}{i:04x}" for i in range(num_returns)]


def _large_buffer(value: Any) -> bool:
    """Whether ``value`` is one big buffer (a numpy array, bytes) to put on its own: larger
    than Ray's ``max_direct_call_object_size`` (the objects Ray passes through its store)."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return len(value) > _memory.inline_limit()
    return hasattr(value, "__array_interface__") and \
        getattr(value, "nbytes", 0) > _memory.inline_limit()


def pack_arguments(args: tuple[Any, ...], kwargs: dict[str, Any], owner: str = "task"
                   ) -> tuple[bytes, list[ObjectRef[Any]], list[ObjectRef[Any]]]:
    """Pickle arguments with top-level refs replaced by ``Dep``s (Ray resolves only those).
    Returns the bytes, the top-level refs (dependencies) and the refs nested deeper.
    ``owner`` names the function or method in the error for an argument that does not pickle.

    A top-level ``distributed.Future`` counts as a ref (raylike's Dask interop); a Dask
    collection travels as it is, as in Ray."""
    deps: list[ObjectRef[Any]] = []
    backend = _runtime.backend(auto_init=True)

    def swap(value: Any) -> Any:
        ref = value if isinstance(value, ObjectRef) else backend.argument_ref(value)
        if ref is None and _large_buffer(value):
            # Like Ray, a large value passed by value is put in the object store once and
            # read by the task from there: its buffers travel out of band, never copied into
            # the pickle of the arguments (a 100 MB array took 1.1 s that way, 0.1 s this way)
            ref = backend.put(value)
            _memory.owned([ref._key])
        if ref is None:
            return value
        deps.append(ref)
        return Dep(len(deps) - 1)

    packed = ([swap(a) for a in args], {k: swap(v) for k, v in kwargs.items()})
    if deps and _runtime._process is None:  # as in Ray, an error passed on to a task is
        _unhandled.handled([ref._key for ref in deps])  # not reported when its ref is dropped
    with _Borrowed() as borrowed:
        try:
            data = dumps(packed, "task arguments")
        except TypeError as exc:
            what = "argument {value} for a task or actor " + owner
            parts = [(what, v) for v in [*args, *kwargs.values()]]
            raise unpicklable_part(parts, exc) from exc
    if len(data) > LARGE_ARGUMENTS:
        # Like Ray, large arguments go to the object store instead of the task's description
        # (a Dask graph that big slows the scheduler). A bytearray travels out of band.
        deps.append(backend.put(bytearray(data)))
        _memory.owned([deps[-1]._key])
        data = dumps(LargeArguments(len(deps) - 1))
    return data, deps, borrowed.refs


def unpack_arguments(data: bytes, dep_values: list[Any]
                     ) -> tuple[list[Any], dict[str, Any]]:
    """The inverse of :func:`pack_arguments`, given the dependencies' values."""
    from raylike._api.serialization import loads

    packed = loads(data)
    if isinstance(packed, LargeArguments):
        packed = loads(dep_values[packed.index])
    args, kwargs = packed

    def fill(value: Any) -> Any:
        return dep_values[value.index] if isinstance(value, Dep) else value

    return [fill(a) for a in args], {k: fill(v) for k, v in kwargs.items()}


class RemoteFunction(Generic[R]):
    """A function decorated with ``@ray.remote``: call it with ``.remote()``. Typed by what
    the function returns, so ``f.remote()`` is an ``ObjectRef[R]`` to a type checker (as Ray
    types it; a function with ``num_returns`` other than 1 gives a list at run time)."""

    def __init__(self, function: Callable[..., R], options: dict[str, Any]) -> None:
        if inspect.iscoroutinefunction(function):  # Ray refuses these: tasks are not awaited
            raise ValueError("'async def' should not be used for remote tasks. You can wrap "
                             "the async function with `asyncio.run(f())`.")
        self._function = function
        self._options = _options.validate(_options.TASK, options)
        if (self._options.get("num_gpus") or 0) > 0 and self._options.get("max_calls") is None:
            self._options = {**self._options, "max_calls": 1}  # Ray's default for GPU tasks
        self._is_generator = is_generator_function(function)
        self._num_returns = _options.num_returns_code(self._options.get("num_returns"),
                                                      self._is_generator)
        self._pickled: bytes | None = None
        self._signature: inspect.Signature | None = None
        self._function_name = _context.function_name(function)
        functools.update_wrapper(self, function)

    @property
    def _default_options(self) -> dict[str, Any]:
        """The options given to ``@ray.remote`` (Ray's attribute)."""
        return self._options

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        name = self._function.__name__
        raise TypeError(f"Remote functions cannot be called directly. Instead of running "
                        f"'{name}()', try '{name}.remote()'.")

    def __getstate__(self) -> dict[str, Any]:
        return {"_function": self._function, "_options": self._options, "_pickled": None}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["_function"], state["_options"])  # type: ignore[misc]

    def options(self, **options: Any) -> RemoteFunction[R]:
        """A copy of this remote function with some options changed."""
        copy = RemoteFunction(self._function, _options.merged(_options.TASK, self._options,
                                                               options))
        copy._pickled = self._pickled
        return copy

    def remote(self, *args: Any, **kwargs: Any) -> ObjectRef[R]:
        """Submit a call; returns an ``ObjectRef`` (a list of them for ``num_returns > 1``,
        ``None`` for ``num_returns=0``, an ``ObjectRefGenerator`` for a generator function)."""
        return self._remote(args, kwargs)

    def bind(self, *args: Any, **kwargs: Any) -> Any:
        """A lazy call (``ray.dag``): a ``FunctionNode`` that ``execute()`` submits."""
        from raylike._api.dag import FunctionNode

        return FunctionNode(self, args, kwargs)

    def _check_arguments(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        """Ray checks the arguments against the signature at submission (``TypeError``)."""
        if self._signature is None:
            try:
                self._signature = inspect.signature(self._function)
            except (TypeError, ValueError):  # builtins without a signature
                return
        self._signature.bind(*args, **kwargs)

    def _remote(self, args: Any = None, kwargs: Any = None, **options: Any) -> Any:
        """Ray's lower-level form of ``remote``: ``f._remote(args=[...], kwargs={...},
        **options)``, the options as ``.options()`` takes them."""
        if options:
            return self.options(**options)._remote(args, kwargs)
        args, kwargs = tuple(args or ()), dict(kwargs or {})
        decorator = getattr(self._function, "__ray_invocation_decorator__", None)
        if decorator is not None:  # Ray's hook: it wraps the submission of every call
            return decorator(self._submit)(args, kwargs)
        return self._submit(args, kwargs)

    def _submit(self, args: Any, kwargs: Any) -> Any:
        args, kwargs = tuple(args or ()), dict(kwargs or {})
        backend = _runtime.backend(auto_init=True)
        if self._pickled is None:
            pickled = dumps(self._function, f"function {_descriptor(self._function)}",
                            named=True)
            check_definition_size(pickled, self._function_name, "remote function")
            self._pickled = pickled
        self._check_arguments(args, kwargs)
        with _memory.annotate("(task call)"):  # Ray's call site of its refs
            return self._submit_annotated(backend, self._pickled, args, kwargs)

    def _submit_annotated(self, backend: Any, pickled: bytes, args: tuple[Any, ...],
                          kwargs: dict[str, Any]) -> Any:
        opts = self._options
        name = opts.get("name") or self._function.__name__
        num_returns = self._num_returns
        data, deps, nested = pack_arguments(args, kwargs, _descriptor(self._function))
        key = new_key(name)
        retry = _options.get(opts, "retry_exceptions")
        resources = _resources.request(opts, default_cpus=1.0)
        call = TaskCall(
            key=key, name=name, fn=pickled, args=data, num_returns=num_returns,
            return_keys=return_keys(key, num_returns) if num_returns else [],
            resources=resources,
            max_retries=_options.get(opts, "max_retries"),
            retry_exceptions=tuple(retry) if isinstance(retry, (list, tuple)) else retry,
            backpressure=_options.get(opts, "_generator_backpressure_num_objects"),
            strategy=opts.get("scheduling_strategy"), label_selector=opts.get("label_selector"),
            fallback_strategy=opts.get("fallback_strategy"), job_id=_context.current_job_id(),
            namespace=_context.current_namespace(),
            detached_default=_context.default_detached(), depth=_context.task_depth() + 1,
            function_name=self._function_name,
            placement=_pg_options.resolve(opts, resources, self._function.__qualname__),
            runtime_env=_runtime_env.for_call(opts.get("runtime_env")),
            max_calls=_options.get(opts, "max_calls") or 0,
            dep_keys=[d._key for d in deps],
            task_events=_options.get(opts, "enable_task_events") is not False,
            owner=_context.current_owner(),
        )
        if call.placement is None:
            _resources.warn_if_infeasible(f"task {name}", call.resources, backend)
        refs = backend.submit(call, deps, nested)
        _memory.owned([r._key for r in refs])
        return returned(refs, num_returns)


def returned(refs: list[ObjectRef[Any]], num_returns: int) -> Any:
    """What ``.remote()`` returns for a call's refs (tasks and actor methods alike)."""
    if num_returns == 1 or num_returns == _options.DYNAMIC:
        return refs[0]
    if num_returns == _options.STREAMING:
        from raylike._api.generators import ObjectRefGenerator

        return ObjectRefGenerator(refs[0])
    return refs if num_returns else None


def is_generator_function(fn: Any) -> bool:
    """Whether calling ``fn`` makes a generator (sync or async): Ray's test for generator
    tasks and methods."""
    return inspect.isgeneratorfunction(fn) or inspect.isasyncgenfunction(fn)


def _descriptor(function: Any) -> str:
    """``module.qualname``, as Ray names a function in its errors."""
    return f"{getattr(function, '__module__', '')}.{getattr(function, '__qualname__', function)}"
