"""Ray's exception names and hierarchy.

Every exception raylike raises to a user lives here. Dask's own exceptions never reach a caller:
``raylike._dask.errors`` translates them in one place. Every class passes its constructor arguments
to
``Exception.__init__`` (or defines ``__reduce__``) so instances pickle across processes.
"""
from __future__ import annotations

import builtins
import logging
import os
from typing import Any

__all__ = [
    "ActorAlreadyExistsError",
    "ActorDiedError",
    "ActorHandleNotFoundError",
    "ActorPlacementGroupRemoved",
    "ActorUnavailableError",
    "ActorUnschedulableError",
    "AsyncioActorExit",
    "AuthenticationError",
    "CrossLanguageError",
    "GetTimeoutError",
    "LocalRayletDiedError",
    "NodeDiedError",
    "ObjectFetchTimedOutError",
    "ObjectFreedError",
    "ObjectLostError",
    "ObjectReconstructionFailedError",
    "ObjectRefStreamEndOfStreamError",
    "ObjectStoreFullError",
    "OufOfBandObjectRefSerializationException",
    "OutOfDiskError",
    "OutOfMemoryError",
    "OwnerDiedError",
    "PendingCallsLimitExceeded",
    "PlasmaObjectNotAvailable",
    "RayActorError",
    "RayCgraphCapacityExceeded",
    "RayChannelError",
    "RayChannelTimeoutError",
    "RayDirectTransportError",
    "RayError",
    "RaySystemError",
    "RayTaskError",
    "ReferenceCountingAssertionError",
    "RpcError",
    "RuntimeEnvSetupError",
    "StreamingGeneratorReplayInconsistentError",
    "TaskCancelledError",
    "TaskPlacementGroupRemoved",
    "TaskUnschedulableError",
    "UnserializableException",
    "UserCodeException",
    "WorkerCrashedError",
]


# the module tracebacks and task errors name for these classes: Ray's, as Ray prints them
SHOWN_MODULE = "ray.exceptions"
# frames of raylike's and Dask's own code: left out of a task error's text, as Ray leaves out
# its own
# (raylike's by this process's copy and by its private modules' names: the cluster's processes
# may import another copy than the driver's, e.g. the checkout in the working directory where
# the driver imports an installed one)
logger = logging.getLogger("raylike.exceptions")

_INTERNAL_FRAMES = (os.path.dirname(os.path.abspath(__file__)) + os.sep,
                    f"{os.sep}raylike{os.sep}_", f"{os.sep}site-packages{os.sep}raylike{os.sep}",
                    f"{os.sep}distributed{os.sep}", f"{os.sep}tornado{os.sep}")


class RayError(Exception):
    """Base of every raylike error."""


class CrossLanguageError(RayError):
    """Raised by Ray for cross-language calls; raylike never raises it (Python only)."""


class RaySystemError(RayError):
    """The runtime itself failed: for example the Dask scheduler cannot be reached."""

    def __init__(self, client_exc: Any = None, traceback_str: str | None = None) -> None:
        super().__init__(client_exc, traceback_str)
        self.client_exc = client_exc
        self.traceback_str = traceback_str

    def __str__(self) -> str:
        text = f"System error: {self.client_exc}"
        return f"{text}\ntraceback: {self.traceback_str}" if self.traceback_str else text


class RayTaskError(RayError):
    """A task or actor method raised. ``get`` raises it as an instance of both this class and
    the original exception's type (see :meth:`as_instanceof_cause`), so ``except ValueError``
    works on the driver."""

    def __init__(
        self,
        function_name: str,
        traceback_str: str,
        cause: BaseException | None,
        proctitle: str | None = None,
        pid: int | None = None,
        ip: str | None = None,
        actor_repr: str | None = None,
        actor_id: str | None = None,
    ) -> None:
        self.function_name = function_name
        self.traceback_str = traceback_str
        self.cause = _picklable_cause(cause, traceback_str)
        cause = self.cause
        self.proctitle = proctitle or f"ray::{function_name}"
        self.pid = pid if pid is not None else os.getpid()
        self.ip = ip or "127.0.0.1"
        self.actor_repr = actor_repr
        self.actor_id = actor_id
        # as Ray's; not through super(): in a dual class the cause class's __init__ is next
        Exception.__init__(self, function_name, traceback_str, cause, proctitle, pid, ip)

    _task_key: str | None = None  # the Dask key of the task that raised (set by its node)
    # the cause's class could not be combined with this one (a final class): the process that
    # receives the error tries again, and warns, as Ray's driver does
    _not_dual: bool = False

    def __str__(self) -> str:
        """Ray's format: a ``ray::f() (pid=..., ip=...)`` header for each traceback, and only
        the user's frames (raylike's and Dask's own are left out)."""
        out: list[str] = []
        hidden = False
        for line in self.traceback_str.strip().split("\n"):
            if line.startswith("Traceback "):
                out.append(self._header())
                hidden = False
            elif line.startswith("  File ") and any(m in line for m in _INTERNAL_FRAMES):
                hidden = True
            elif hidden and line.startswith("    "):
                continue  # the hidden frame's source line and carets
            else:
                hidden = False
                out.append(line)
        if not out or (out[0] != self._header() and not out[0].startswith("+")):
            out.insert(0, self._header())  # a text that is no traceback (an exception group's
        return "\n".join(out)  # is left as Ray leaves it)

    def _header(self) -> str:
        where = f"pid={self.pid}, ip={self.ip}"
        if self.actor_repr:
            where += f", actor_id={self.actor_id}, repr={self.actor_repr}"
        return f"ray::{self.function_name}() ({where})"

    def __reduce__(self) -> Any:
        fields = (*self._fields()[:2], _portable(self.cause), *self._fields()[3:])
        state = {"_task_key": self._task_key} if self._task_key else None
        dual = type(self) is not RayTaskError or self._not_dual
        return (_rebuild_task_error, (fields, dual), state)

    def _fields(self) -> tuple[Any, ...]:
        return (self.function_name, self.traceback_str, self.cause, self.proctitle, self.pid,
                self.ip, self.actor_repr, self.actor_id)

    def make_dual_exception_instance(self) -> RayTaskError:
        """A copy whose class derives from both ``RayTaskError`` and the cause's class (the
        innermost cause's, for an error re-raised from a nested ``get``); ``TypeError`` where
        that class cannot be subclassed (a final class, conflicting slots, ...)."""
        root = self.cause
        while isinstance(root, RayTaskError) and root.cause is not None:
            root = root.cause  # an error re-raised from a nested get keeps its original type
        if root is None or isinstance(root, RayTaskError) or not isinstance(root, BaseException):
            raise TypeError(f"the cause {type(root).__name__} is no exception to combine with "
                            "RayTaskError")
        cause_cls = type(root)
        dual = _dual_class(cause_cls)
        err: RayTaskError = (cause_cls.__new__(dual, *root.args) if _is_group(root)
                             else _bare_new(dual))
        RayTaskError.__init__(err, *self._fields())
        err.args = (root,)  # as Ray's
        err._task_key = self._task_key
        return err

    def as_instanceof_cause(self, *, warn: bool = True) -> RayTaskError:
        """Return a copy whose class derives from both ``RayTaskError`` and the cause's class;
        where that class cannot be subclassed, ``self`` (with a warning, as Ray logs one)."""
        root = self.cause
        while isinstance(root, RayTaskError) and root.cause is not None:
            root = root.cause
        if (root is None or isinstance(root, RayTaskError) or not isinstance(root, BaseException)
                or issubclass(RayTaskError, type(root))):
            return self  # a bare BaseException or Exception: a RayTaskError already is one
        try:  # as Ray, a BaseException that is no Exception is combined too
            return self.make_dual_exception_instance()
        except Exception as exc:  # noqa: BLE001 - a final class, conflicting slots, a
            self._not_dual = True  # constructor or ``args`` of the user's that refuses, ...
            if warn:
                logger.warning("User exception type %s in RayTaskError can't be subclassed! "
                               "This exception is raised as RayTaskError only. You can use "
                               "`ray_task_error.cause` to access the user exception. Failure "
                               "in subclassing: %s", type(root), exc)
            return self


def _picklable_cause(cause: Any, traceback_str: str) -> Any:
    """``cause``, or, where it does not pickle, a ``RayError`` holding its text (Ray's rule: a
    task error must reach the caller even when the user's exception cannot)."""
    if cause is None:
        return None
    import cloudpickle  # not ``ray.cloudpickle``: a trial pickle must not pin refs it holds

    try:
        cloudpickle.dumps(_portable(cause))
        return cause
    except Exception as exc:  # noqa: BLE001 - any pickling failure is the same to the caller
        kind = f"{type(cause).__module__}.{type(cause).__name__}"
        logger.error("The original cause of the RayTaskError (%s) isn't serializable: %s",
                     kind, exc)
        return RayError(f"Exception {kind} isn't serializable: {exc}.\n"
                        f"Original exception details:\n{traceback_str}")


_DUAL_CLASSES: dict[type, type] = {}

# a dual instance's ``args`` are its own: the cause's class may make ``args`` a read-only
# property, which must neither refuse the dual instance's nor be written to
_DUAL_ARGS = property(lambda self: self.__dict__.get("_dual_args", ()),
                      lambda self, value: self.__dict__.__setitem__("_dual_args", tuple(value)))


def _bare_new(dual: type) -> Any:
    """An instance of ``dual`` with nothing set, made by the ``__new__`` its built-in base
    requires: ``OSError``'s for ``FileNotFoundError``, ``ConnectionError``, ..."""
    try:
        return Exception.__new__(dual)
    except TypeError:  # "Exception.__new__(X) is not safe, use OSError.__new__()"
        base: Any = next(b for b in dual.__mro__
                         if b.__module__ == "builtins" and b is not object)
        return base.__new__(dual)


def _dual_class(cause_cls: type) -> type:
    dual = _DUAL_CLASSES.get(cause_cls)
    if dual is None:

        def __getattr__(self: Any, name: str) -> Any:
            # attributes of the original exception stay reachable
            cause = self.__dict__.get("cause")
            if cause is None:
                raise AttributeError(name)
            return getattr(cause, name)

        dual = type(
            f"RayTaskError({cause_cls.__name__})",
            (RayTaskError, cause_cls),
            {"__getattr__": __getattr__, "__str__": RayTaskError.__str__,
             "__init__": RayTaskError.__init__, "args": _DUAL_ARGS},
        )
        dual.__module__ = SHOWN_MODULE  # tracebacks print "ray.exceptions.RayTaskError(...)"
        _DUAL_CLASSES[cause_cls] = dual
    return dual


def dependency_failed(error: RayError, function_name: str) -> RayTaskError:
    """The error of task ``function_name``, which never ran because one of its arguments
    holds ``error`` (a failed task's, or an actor call's: Ray's wording)."""
    kind = "RayTaskError" if isinstance(error, RayTaskError) else type(error).__name__
    text = ("Traceback (most recent call last):\n"
            "  At least one of the input arguments for this task could not be computed:\n"
            f"{SHOWN_MODULE}.{kind}: {error}")
    return RayTaskError(function_name, text, error, pid=getattr(error, "pid", None),
                        ip=getattr(error, "ip", None)).as_instanceof_cause()


def _rebuild_task_error(fields: tuple[Any, ...], dual: bool) -> RayTaskError:
    cause = fields[2]
    if isinstance(cause, _Group):
        fields = (*fields[:2], cause.rebuild(), *fields[3:])
    err = RayTaskError(*fields)
    return err.as_instanceof_cause() if dual else err


def _is_group(exc: Any) -> bool:
    group = getattr(builtins, "BaseExceptionGroup", None)  # Python 3.11+
    return group is not None and isinstance(exc, group)


class _Group:
    """An exception group as it travels: Dask's workers pickle exceptions with ``tblib``,
    which cannot rebuild a ``BaseExceptionGroup`` that is not an ``Exception``."""

    def __init__(self, cls: type, message: str, exceptions: list[Any]) -> None:
        self.cls, self.message, self.exceptions = cls, message, exceptions

    def rebuild(self) -> BaseException:
        excs = [e.rebuild() if isinstance(e, _Group) else e for e in self.exceptions]
        try:
            group: BaseException = self.cls(self.message, excs)
        except Exception:  # a subclass with a constructor of its own
            group = builtins.BaseExceptionGroup(self.message, excs)  # type: ignore[attr-defined]
        return group


def _portable(exc: Any) -> Any:
    """``exc``, or a :class:`_Group` standing for it where it is an exception group."""
    if not _is_group(exc):
        return exc
    return _Group(type(exc), exc.message, [_portable(e) for e in exc.exceptions])


class RayActorError(RayError):
    """An actor cannot run the call: it died, was killed, or could not be created."""

    def __init__(self, *args: Any, error_msg: str | None = None, actor_id: str | None = None,
                 cause: BaseException | None = None) -> None:
        message = error_msg or (str(args[0]) if args else "The actor died unexpectedly.")
        super().__init__(message)
        self.error_msg = message
        self.actor_id = actor_id
        self.cause = cause

    def __reduce__(self) -> Any:
        return (_rebuild_kw, (type(self), {"error_msg": self.error_msg,
                                           "actor_id": self.actor_id, "cause": self.cause}))

    @property
    def actor_init_failed(self) -> bool:
        """Whether the actor died in its creation (its constructor, or an argument, failed:
        :attr:`cause` holds why)."""
        return self.cause is not None

    @property
    def preempted(self) -> bool:
        """Whether the actor died because its node was preempted: never on raylike (Dask
        workers are not drained for preemption)."""
        return False


class ActorDiedError(RayActorError):
    """The actor is dead: killed, exited, crashed past ``max_restarts``, or failed in
    ``__init__`` (then :attr:`cause` holds the constructor's error)."""

    BASE_ERROR_MSG = "The actor died unexpectedly before finishing this task."


class ActorUnavailableError(RayActorError):
    """The actor is temporarily unreachable (for example restarting)."""


class ActorUnschedulableError(RayError):
    """The actor cannot be scheduled: for example its hard ``NodeAffinitySchedulingStrategy``
    names a dead node, or one that cannot ever provide its resources."""

    def __init__(self, error_message: str) -> None:
        super().__init__(error_message)
        self.error_message = error_message

    def __str__(self) -> str:
        return f"The actor is not schedulable: {self.error_message}"


class TaskUnschedulableError(RayError):
    """The task cannot be scheduled (for the same reasons as
    :class:`ActorUnschedulableError`)."""

    def __init__(self, error_message: str) -> None:
        super().__init__(error_message)
        self.error_message = error_message

    def __str__(self) -> str:
        return f"The task is not schedulable: {self.error_message}"


class TaskCancelledError(RayError):
    """The task was cancelled with ``ray.cancel``."""

    def __init__(self, task_id: Any = None, error_message: str | None = None) -> None:
        super().__init__(task_id, error_message)
        self.task_id = task_id
        self.error_message = error_message

    def __str__(self) -> str:
        if self.error_message:
            return self.error_message
        if self.task_id:
            return f"Task: {self.task_id} was cancelled."
        return "This task was cancelled."


class WorkerCrashedError(RayError):
    """The process running the task died (retries, if any, were used up)."""

    def __str__(self) -> str:
        detail = f" {self.args[0]}" if self.args and self.args[0] else ""
        return ("The worker died unexpectedly while executing this task. Check the worker's "
                "logs for the reason (segfault, os._exit, OOM kill, ...)." + detail)


class NodeDiedError(RayError):
    """The node (Dask worker) running the task died."""


class LocalRayletDiedError(RayError):
    """Kept for compatibility; raylike never raises it."""


class TaskPlacementGroupRemoved(RayError):
    """The placement group a task was scheduled in was removed."""


class PendingCallsLimitExceeded(RayError):
    """Too many pending calls to an actor."""


class ObjectLostError(RayError):
    """The object's only copy was lost and it cannot be rebuilt."""

    def __init__(self, object_ref_hex: str = "", owner_address: str = "",
                 call_site: str = "") -> None:
        super().__init__(object_ref_hex, owner_address, call_site)
        self.object_ref_hex = object_ref_hex
        self.owner_address = owner_address
        self.call_site = call_site

    def __str__(self) -> str:
        return f"Failed to retrieve object {self.object_ref_hex}: all copies were lost."


class ObjectFetchTimedOutError(ObjectLostError):
    """Fetching the object timed out."""


class ReferenceCountingAssertionError(ObjectLostError, AssertionError):
    """The object was deleted while a reference still existed."""


class OwnerDiedError(ObjectLostError):
    """The process that owned the object died."""


class ObjectReconstructionFailedError(ObjectLostError):
    """The object was lost and could not be rebuilt from its lineage (re-running the task
    that made it); ``reason`` says why, as Ray's ``ErrorType`` value."""

    REASON_MESSAGES = {
        "OBJECT_UNRECONSTRUCTABLE_MAX_ATTEMPTS_EXCEEDED": (
            "The object cannot be reconstructed because the maximum number of task retries "
            "has been exceeded. Consider increasing the number of retries using "
            "`@ray.remote(max_retries=N)`."),
        "OBJECT_UNRECONSTRUCTABLE_LINEAGE_EVICTED": (
            "The object cannot be reconstructed because its lineage has been evicted to "
            "reduce memory pressure. To prevent this error, set the environment variable "
            "RAY_max_lineage_bytes=<bytes> (default 1GB) during `ray start`."),
        "OBJECT_UNRECONSTRUCTABLE_PUT": (
            "The object cannot be reconstructed because it was created by ray.put(), which "
            "has no task lineage. To prevent this error, return the value from a task "
            "instead."),
        "OBJECT_UNRECONSTRUCTABLE_RETRIES_DISABLED": (
            "The object cannot be reconstructed because the task was created with "
            "max_retries=0. Consider enabling retries using `@ray.remote(max_retries=N)`."),
        "OBJECT_UNRECONSTRUCTABLE_TASK_CANCELLED": (
            "The object cannot be reconstructed because the task that would produce it was "
            "cancelled."),
        "OBJECT_UNRECONSTRUCTABLE_LINEAGE_DISABLED": (
            "The object cannot be reconstructed because lineage reconstruction is disabled "
            "system-wide (lineage_pinning_enabled=False)."),
    }

    def __init__(self, object_ref_hex: str = "", reason: Any = None,
                 reason_message: str | None = None, owner_address: Any = None,
                 call_site: str = "") -> None:
        super().__init__(object_ref_hex, owner_address, call_site)
        self.args = (object_ref_hex, reason, reason_message, owner_address, call_site)
        if isinstance(reason, str):  # a name of Ray's ErrorType: its value, as Ray's
            from raylike.core.generated.common_pb2 import ErrorType

            reason = ErrorType.Value(reason)
        self.reason = reason
        self.reason_message = reason_message or self.REASON_MESSAGES.get(
            self._reason_name(), "The object cannot be reconstructed.")

    def _reason_name(self) -> str:
        if self.reason is None:
            return "UNKNOWN"
        from raylike.core.generated.common_pb2 import ErrorType

        try:
            return ErrorType.Name(int(self.reason))
        except ValueError:
            return str(self.reason)

    def __str__(self) -> str:
        return (f"Failed to retrieve object {self.object_ref_hex}.\n\n"
                f"[{self._reason_name()}] {self.reason_message}")


class ObjectFreedError(ObjectLostError):
    """The object was freed explicitly."""


class ActorAlreadyExistsError(ValueError, RayError):
    """A named actor with this name already exists in the namespace."""


class ActorHandleNotFoundError(ValueError, RayError):
    """No actor with this name (or id) exists."""


class ActorPlacementGroupRemoved(RayError):
    """The placement group an actor was scheduled in was removed."""


class AsyncioActorExit(RayError):
    """Raised inside an async actor to make it exit."""


class AuthenticationError(RayError):
    """The cluster refused the connection's credentials."""


class ObjectRefStreamEndOfStreamError(RayError):
    """A streaming generator has no more items."""


class OufOfBandObjectRefSerializationException(RayError):
    """Kept for compatibility (Ray's spelling)."""


class PlasmaObjectNotAvailable(RayError):
    """Kept for compatibility."""


class RpcError(RayError):
    """An internal RPC failed."""


class UnserializableException(RayError):
    """A task's exception could not be rebuilt from its pickle (a user exception whose
    ``__init__`` does not take its own ``args``, ...): ``get`` raises this instead, with the
    original's text and traceback (``original_stack_trace``)."""

    def __init__(self, original_stack_trace: str) -> None:
        super().__init__(original_stack_trace)
        self._original_stack_trace = original_stack_trace

    def __str__(self) -> str:
        return ("Failed to deserialize exception. Refer to https://docs.ray.io/en/latest/"
                "ray-core/objects/serialization.html#custom-serializers-for-exceptions for "
                "more information.\nOriginal exception:\n" + self._original_stack_trace)


class UserCodeException(RayError):
    """Kept for compatibility."""


class RayChannelError(RaySystemError):
    """Kept for compatibility (compiled graphs)."""


class RayChannelTimeoutError(RayChannelError, TimeoutError):
    """Kept for compatibility (compiled graphs)."""


class RayCgraphCapacityExceeded(RaySystemError):
    """Kept for compatibility (compiled graphs)."""


class RayDirectTransportError(RaySystemError):
    """Kept for compatibility."""


class StreamingGeneratorReplayInconsistentError(RaySystemError):
    """Kept for compatibility (streaming generators)."""


class GetTimeoutError(RayError, TimeoutError):
    """``ray.get`` / ``ray.wait`` ran past its timeout."""


class OutOfMemoryError(RayError):
    """The task was killed because the node ran out of memory."""


class ObjectStoreFullError(RayError):
    """The object store is full."""


class OutOfDiskError(RayError):
    """The node ran out of disk."""


class RuntimeEnvSetupError(RayError):
    """The runtime environment of a task or actor could not be set up (a ``pip`` install
    failed or timed out, a field raylike cannot set up, ...): raised by ``get`` of its
    refs."""

    def __init__(self, error_message: str | None = None) -> None:
        super().__init__(error_message)
        self.error_message = error_message

    def __str__(self) -> str:
        lines = ["Failed to set up runtime environment."]
        if self.error_message:
            lines.append(self.error_message)
        return "\n".join(lines)


def _rebuild_kw(cls: type, kwargs: dict[str, Any]) -> Any:
    return cls(**kwargs)


# -- raylike's own: errors and warnings Ray has no class for -----------------------------------
# Each is also the built-in type Ray raises in its place, so ``except`` clauses written for
# Ray catch it. They are not in ``__all__`` (which is Ray's list); import them by name.
RAYLIKE_EXTRAS = ("DefaultResourceError", "RaylikeUnsupportedWarning", "RemoteArgumentsError",
                  "SerializationError", "UnknownInitArgument")


class RaylikeUnsupportedWarning(UserWarning):
    """An option or argument is accepted for compatibility but has no effect in raylike."""


class UnknownInitArgument(RuntimeError, TypeError):
    """``init`` got a keyword it does not know (Ray raises ``RuntimeError``; Python's own
    convention is ``TypeError``: this is both)."""


class SerializationError(TypeError):
    """A value, argument or function that does not pickle (a ``TypeError``, as Ray's is)."""


class DefaultResourceError(AssertionError, ValueError):
    """A default resource named in a node's ``resources`` (Ray's ``init`` fails an assertion
    here; a task's ``resources`` option raises ``ValueError``: this is both)."""


class RemoteArgumentsError(AssertionError, TypeError):
    """``@ray.remote`` used with positional arguments or empty parentheses: Ray's
    ``AssertionError`` (a ``TypeError`` too, the usual error for a call's arguments)."""
