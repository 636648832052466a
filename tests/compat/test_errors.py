"""Exceptions: the ray.exceptions hierarchy and how task errors reach the caller."""

from __future__ import annotations

import os
import pickle

import pytest

# Anything that runs remotely (functions, exception classes) is defined inside the tests: module
# level objects are pickled by reference and the test module is not importable on workers.


# ----------------------------------------------------------------------------------------------
# the exceptions module
# ----------------------------------------------------------------------------------------------

# (subclass, base) pairs that hold in Ray
SUBCLASS_RELATIONS = [
    ("RayError", Exception),
    ("RayTaskError", "RayError"),
    ("RayActorError", "RayError"),
    ("ActorDiedError", "RayActorError"),
    ("ActorUnavailableError", "RayActorError"),
    ("ActorAlreadyExistsError", "RayError"),
    ("ActorAlreadyExistsError", ValueError),
    ("GetTimeoutError", "RayError"),
    ("GetTimeoutError", TimeoutError),
    ("TaskCancelledError", "RayError"),
    ("WorkerCrashedError", "RayError"),
    ("ObjectLostError", "RayError"),
    ("OwnerDiedError", "ObjectLostError"),
    ("ObjectFreedError", "ObjectLostError"),
    ("ObjectFetchTimedOutError", "ObjectLostError"),
    ("ObjectReconstructionFailedError", "ObjectLostError"),
    ("ObjectStoreFullError", "RayError"),
    ("OutOfMemoryError", "RayError"),
    ("OutOfDiskError", "RayError"),
    ("RaySystemError", "RayError"),
    ("NodeDiedError", "RayError"),
    ("LocalRayletDiedError", "RayError"),
    ("TaskUnschedulableError", "RayError"),
    ("ActorUnschedulableError", "RayError"),
    ("RuntimeEnvSetupError", "RayError"),
    ("PendingCallsLimitExceeded", "RayError"),
    ("TaskPlacementGroupRemoved", "RayError"),
    ("ActorPlacementGroupRemoved", "RayError"),
    ("CrossLanguageError", "RayError"),
]


@pytest.mark.parametrize(
    "sub,base",
    SUBCLASS_RELATIONS,
    ids=[f"{s}<{getattr(b, '__name__', b)}" for s, b in SUBCLASS_RELATIONS],
)
def test_exception_hierarchy(ray_module, sub, base):
    exc = ray_module.exceptions
    sub_cls = getattr(exc, sub)
    base_cls = getattr(exc, base) if isinstance(base, str) else base
    assert isinstance(sub_cls, type) and issubclass(sub_cls, BaseException)
    assert issubclass(sub_cls, base_cls)


def test_distinct_error_families(ray_module):
    exc = ray_module.exceptions
    # task errors, actor errors and timeouts are separate branches of RayError
    assert not issubclass(exc.RayTaskError, exc.RayActorError)
    assert not issubclass(exc.RayActorError, exc.RayTaskError)
    assert not issubclass(exc.GetTimeoutError, exc.RayTaskError)
    assert not issubclass(exc.TaskCancelledError, exc.RayTaskError)
    assert not issubclass(exc.RayError, TimeoutError)


def test_object_ref_and_actor_types_exported(ray_module):
    ray = ray_module
    assert isinstance(ray.ObjectRef, type)
    assert callable(ray.remote) and callable(ray.get) and callable(ray.put) and callable(ray.wait)
    assert callable(ray.method) and callable(ray.kill) and callable(ray.cancel)
    assert callable(ray.get_actor) and callable(ray.actor.exit_actor)


@pytest.mark.parametrize(
    "name,args",
    [
        ("RayError", ("message",)),
        ("GetTimeoutError", ("timed out",)),
        ("TaskCancelledError", ()),
        ("RayActorError", ()),
        ("ActorDiedError", ()),
        ("WorkerCrashedError", ()),
        ("RaySystemError", ("system",)),
        ("OutOfMemoryError", ("oom",)),
        ("ObjectStoreFullError", ("full",)),
        ("NodeDiedError", ("node died",)),
    ],
)
def test_exceptions_pickle(ray_module, name, args):
    cls = getattr(ray_module.exceptions, name)
    err = cls(*args)
    back = pickle.loads(pickle.dumps(err))
    assert type(back) is cls
    assert str(back) == str(err)


def test_exceptions_can_be_raised_and_caught_by_base(ray_module):
    exc = ray_module.exceptions
    with pytest.raises(exc.RayError):
        raise exc.GetTimeoutError("x")
    with pytest.raises(TimeoutError):
        raise exc.GetTimeoutError("x")
    with pytest.raises(exc.RayActorError):
        raise exc.ActorDiedError()
    assert str(exc.GetTimeoutError("custom text")) == "custom text"


# ----------------------------------------------------------------------------------------------
# errors raised in tasks
# ----------------------------------------------------------------------------------------------


def test_task_error_is_ray_task_error_and_original_type(ray_shared):
    ray = ray_shared

    @ray.remote
    def explode_with_value_error():
        raise ValueError("boom-4711")

    ref = explode_with_value_error.remote()
    with pytest.raises(ValueError) as info:
        ray.get(ref)
    err = info.value
    assert isinstance(err, ray.exceptions.RayTaskError)
    assert isinstance(err, ray.exceptions.RayError)
    text = str(err)
    assert "boom-4711" in text
    assert "explode_with_value_error" in text  # the remote traceback names the function
    assert "ValueError" in text


def test_except_clause_with_original_type(ray_shared):
    ray = ray_shared

    @ray.remote
    def bad_key():
        return {}["missing"]

    try:
        ray.get(bad_key.remote())
    except KeyError as e:
        caught = e
    else:
        pytest.fail("KeyError was not raised")
    assert isinstance(caught, ray.exceptions.RayTaskError)
    assert "missing" in str(caught)


def test_same_ref_raises_every_time(ray_shared):
    ray = ray_shared

    @ray.remote
    def bad():
        raise ZeroDivisionError("again")

    ref = bad.remote()
    for _ in range(2):
        with pytest.raises(ZeroDivisionError, match="again"):
            ray.get(ref)


def test_custom_exception_class(ray_shared):
    ray = ray_shared

    class InventoryError(Exception):
        pass

    @ray.remote
    def check_stock():
        err = InventoryError("out of widgets")
        err.sku = "W-42"
        raise err

    with pytest.raises(InventoryError) as info:
        ray.get(check_stock.remote())
    assert isinstance(info.value, ray.exceptions.RayTaskError)
    assert "out of widgets" in str(info.value)
    assert info.value.sku == "W-42"  # attributes of the original exception survive


def test_custom_exception_subclass_of_builtin(ray_shared):
    ray = ray_shared

    class ConfigError(LookupError):
        pass

    @ray.remote
    def load():
        raise ConfigError("no such key: port")

    with pytest.raises(LookupError):
        ray.get(load.remote())
    with pytest.raises(ConfigError):
        ray.get(load.remote())


def test_os_errors_keep_their_type(ray_shared):
    # OSError and its subclasses build their instances their own way: the error from get is
    # still both a RayTaskError and the task's own OSError subclass
    ray = ray_shared

    class ServiceDown(ConnectionError):
        pass

    @ray.remote
    def fail(kind):
        if kind == "file":
            with open("/no/such/dir/at/all/settings.toml"):
                pass
        raise ServiceDown("refused by the service")

    for kind, expected in (("file", FileNotFoundError), ("service", ServiceDown)):
        with pytest.raises(expected) as info:
            ray.get(fail.remote(kind), timeout=60)
        assert isinstance(info.value, ray.exceptions.RayTaskError)
        assert isinstance(info.value, OSError)


def test_error_propagates_through_dependent_tasks(ray_shared):
    ray = ray_shared

    @ray.remote
    class Counter:
        def __init__(self):
            self.n = 0

        def incr(self):
            self.n += 1

        def value(self):
            return self.n

    counter = Counter.remote()

    @ray.remote
    def source():
        raise ValueError("source failed")

    @ray.remote
    def step(x, c):
        ray.get(c.incr.remote())
        return x + 1

    a = source.remote()
    b = step.remote(a, counter)
    c = step.remote(b, counter)
    for ref in (a, b, c):
        with pytest.raises(ValueError, match="source failed") as info:
            ray.get(ref)
        assert isinstance(info.value, ray.exceptions.RayTaskError)
    # a task whose argument failed is not run at all
    assert ray.get(counter.value.remote()) == 0


def test_error_propagates_through_nested_get(ray_shared):
    ray = ray_shared

    @ray.remote
    def inner():
        raise IndexError("inner failure")

    @ray.remote
    def outer():
        return ray.get(inner.remote())

    with pytest.raises(IndexError, match="inner failure") as info:
        ray.get(outer.remote())
    assert isinstance(info.value, ray.exceptions.RayTaskError)


def test_task_can_catch_error_of_nested_task(ray_shared):
    ray = ray_shared

    @ray.remote
    def inner():
        raise ValueError("handled")

    @ray.remote
    def outer():
        try:
            ray.get(inner.remote())
        except ValueError as e:
            return ("caught", "handled" in str(e), isinstance(e, ray.exceptions.RayTaskError))
        return ("not caught",)

    assert ray.get(outer.remote()) == ("caught", True, True)


def test_get_on_list_raises_if_any_failed(ray_shared):
    ray = ray_shared

    @ray.remote
    def maybe(i):
        if i == 2:
            raise RuntimeError("item 2 failed")
        return i

    refs = [maybe.remote(i) for i in range(4)]
    with pytest.raises(RuntimeError, match="item 2 failed"):
        ray.get(refs)
    # the other results are still available
    assert ray.get([refs[0], refs[1], refs[3]]) == [0, 1, 3]


def test_error_in_one_of_multiple_returns(ray_shared):
    ray = ray_shared

    @ray.remote(num_returns=2)
    def pair():
        raise TypeError("no pair")

    a, b = pair.remote()
    for ref in (a, b):
        with pytest.raises(TypeError, match="no pair"):
            ray.get(ref)


def test_worker_crash_raises_worker_crashed_error(ray_shared):
    ray = ray_shared

    @ray.remote(max_retries=0)
    def crash():
        os._exit(1)

    with pytest.raises(ray.exceptions.WorkerCrashedError):
        ray.get(crash.remote(), timeout=30)

    @ray.remote
    def ok():
        return "still works"

    assert ray.get(ok.remote(), timeout=30) == "still works"


def test_worker_crash_is_retried_by_default(ray_shared):
    ray = ray_shared

    @ray.remote
    class Counter:
        def __init__(self):
            self.n = 0

        def incr(self):
            self.n += 1
            return self.n

    counter = Counter.remote()

    @ray.remote
    def crash_once(c):
        if ray.get(c.incr.remote()) == 1:
            os._exit(1)
        return "survived"

    assert ray.get(crash_once.remote(counter), timeout=50) == "survived"
    assert ray.get(counter.incr.remote()) == 3


# ----------------------------------------------------------------------------------------------
# causes that cannot be pickled or subclassed
# ----------------------------------------------------------------------------------------------


def test_unpicklable_cause_becomes_ray_error(ray_shared):
    ray = ray_shared
    import threading

    class HoldsLock(Exception):
        def __init__(self):
            super().__init__("holds a lock")
            self.lock = threading.Lock()

    @ray.remote
    def fails():
        raise HoldsLock()

    with pytest.raises(ray.exceptions.RayTaskError) as info:
        ray.get(fails.remote())
    cause = info.value.cause
    assert isinstance(cause, ray.exceptions.RayError)
    assert "isn't serializable" in str(cause)
    assert "HoldsLock" in str(cause)


def test_exception_that_cannot_be_rebuilt_is_unserializable_exception(ray_shared):
    # a user exception whose __init__ does not take its own args pickles but cannot be
    # unpickled: Ray raises UnserializableException, with the original's text
    ray = ray_shared

    class NeedsTwo(Exception):
        def __init__(self, first, second):
            super().__init__(f"{first}-{second}")

    @ray.remote(max_retries=0)
    def fails():
        raise NeedsTwo("left", "right")

    @ray.remote
    class Actor:
        def fails(self):
            raise NeedsTwo("actor", "method")

    for ref, text in [(fails.remote(), "left-right"), (Actor.remote().fails.remote(),
                                                       "actor-method")]:
        with pytest.raises(ray.exceptions.UnserializableException) as info:
            ray.get(ref, timeout=60)
        assert "Failed to deserialize exception" in str(info.value)
        assert text in str(info.value) and "NeedsTwo" in str(info.value)
        assert isinstance(info.value, ray.exceptions.RayError)


def test_constructor_replaces_unpicklable_cause(ray_module):
    import threading

    class HoldsLock(Exception):
        pass

    cause = HoldsLock()
    cause.lock = threading.Lock()
    err = ray_module.exceptions.RayTaskError("f", "a traceback", cause)
    assert isinstance(err.cause, ray_module.exceptions.RayError)
    assert "isn't serializable" in str(err.cause)


def test_make_dual_exception_instance_pickles(ray_module):
    class TwoFields(Exception):
        def __init__(self, one, two):
            super().__init__(one, two)
            self.one, self.two = one, two

        def __reduce__(self):
            return type(self), (self.one, self.two)

    err = ray_module.exceptions.RayTaskError("f", "a traceback", TwoFields("a", "b"))
    dual = err.make_dual_exception_instance()
    back = ray_module.cloudpickle.loads(ray_module.cloudpickle.dumps(dual))
    assert isinstance(back, ray_module.exceptions.RayTaskError)
    assert isinstance(back, TwoFields)
    assert (back.one, back.two) == ("a", "b")


def test_make_dual_exception_instance_refuses_a_final_class(ray_module):
    class Final(Exception):
        def __init_subclass__(cls, **kwargs):
            raise TypeError("final")

    err = ray_module.exceptions.RayTaskError("f", "a traceback", Final("x"))
    with pytest.raises(TypeError):
        err.make_dual_exception_instance()


def test_final_exception_class_raised_as_task_error_with_warning(ray_shared, caplog):
    ray = ray_shared
    import logging

    class Final(Exception):
        def __init_subclass__(cls, **kwargs):
            raise TypeError("final")

    @ray.remote
    def fails():
        raise Final("from the task")

    top = logging.getLogger(ray.__name__)
    saved = top.propagate
    top.propagate = True  # Ray's own logger does not propagate to caplog's by default
    try:
        with caplog.at_level(logging.WARNING):
            with pytest.raises(ray.exceptions.RayTaskError) as info:
                ray.get(fails.remote())
    finally:
        top.propagate = saved
    assert not isinstance(info.value, Final)
    assert isinstance(info.value.cause, Final)
    assert str(info.value.cause) == "from the task"
    assert "raised as RayTaskError only" in caplog.text


# ----------------------------------------------------------------------------------------------
# unhandled errors: a failed task's ref dropped without get raising its error is reported
# ----------------------------------------------------------------------------------------------


def test_dropped_error_is_reported_unless_handled(ray_shared, monkeypatch):
    import importlib
    import time

    ray = ray_shared
    worker = importlib.import_module(f"{ray.__name__}._private.worker")
    seen = []
    monkeypatch.setattr(worker, "_unhandled_error_handler", seen.append)
    monkeypatch.delenv("RAY_IGNORE_UNHANDLED_ERRORS", raising=False)

    @ray.remote
    def fails(tag):
        raise ValueError(tag)

    @ray.remote
    def passes_on(value):
        return value

    @ray.remote
    class Failing:
        def call(self, tag):
            raise ValueError(tag)

    handled = fails.remote("handled")
    with pytest.raises(ValueError):
        ray.get(handled)
    upstream = fails.remote("passed-on")
    with pytest.raises(ValueError):
        ray.get(passes_on.remote(upstream))
    del handled, upstream
    actor = Failing.remote()
    dropped = [fails.remote("dropped-task"), actor.call.remote("dropped-call")]
    del dropped
    deadline = time.time() + 60
    while len(seen) < 2 and time.time() < deadline:
        time.sleep(0.1)
    text = " ".join(str(e) for e in seen)
    assert "dropped-task" in text and "dropped-call" in text, seen
    time.sleep(1)
    assert len(seen) == 2, seen
    assert "handled" not in text and "passed-on" not in text


def test_task_given_a_dead_actors_result_raises_task_error(ray_shared):
    # a task whose argument is a failed actor call's result fails with a RayTaskError that is
    # also the actor's error
    ray = ray_shared

    @ray.remote
    class Doomed:
        def ready(self):
            return True

        def die(self):
            os._exit(1)

    @ray.remote
    def consume(value):
        return value

    actor = Doomed.remote()
    assert ray.get(actor.ready.remote(), timeout=60)
    dead = actor.die.remote()
    with pytest.raises(ray.exceptions.RayActorError):
        ray.get(dead, timeout=60)
    with pytest.raises(ray.exceptions.RayTaskError) as info:
        ray.get(consume.remote(dead), timeout=60)
    assert isinstance(info.value, ray.exceptions.RayActorError)


def _vanishing_module(tmp_path, monkeypatch):
    """A module imported here whose file is then gone: a function or class that refers to it
    pickles by reference (it stays in ``sys.modules``) and cannot be unpickled where it
    runs."""
    import importlib
    import uuid

    name = f"_vanishing_{uuid.uuid4().hex[:8]}"
    path = tmp_path / f"{name}.py"
    path.write_text("def helper():\n    return 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    module = importlib.import_module(name)
    path.unlink()
    return module


def test_function_that_cannot_be_imported_on_the_worker(ray_shared, tmp_path, monkeypatch):
    ray = ray_shared
    module = _vanishing_module(tmp_path, monkeypatch)

    @ray.remote
    def uses_it():
        return module.helper()

    with pytest.raises(ray.exceptions.RayTaskError) as info:
        ray.get(uses_it.remote(), timeout=60)
    assert isinstance(info.value, RuntimeError)
    assert "The remote function failed to import on the worker" in str(info.value)
    assert "ModuleNotFoundError" in str(info.value)


def test_actor_class_that_cannot_be_imported_on_the_worker(ray_shared, tmp_path, monkeypatch):
    ray = ray_shared
    module = _vanishing_module(tmp_path, monkeypatch)

    @ray.remote
    class UsesIt:
        def __init__(self):
            self.x = module.helper()

        def ready(self):
            return True

    with pytest.raises(ray.exceptions.RayActorError) as info:
        ray.get(UsesIt.remote().ready.remote(), timeout=60)
    assert "The actor with name UsesIt failed to import on the worker" in str(info.value)
    assert "ModuleNotFoundError" in str(info.value)
