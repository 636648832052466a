"""Details of ``@ray.remote`` classes and functions: class attributes and static methods, the
decorator's misuse, inheritance, ``_remote``, naming options, ``ActorPool``'s backlog."""

from __future__ import annotations

import pytest


def _counter_class(ray):
    @ray.remote
    class Counter:
        LIMIT = 10

        def __init__(self, start=0):
            self.value = start

        @staticmethod
        def double(x):
            return 2 * x

        @classmethod
        def limit(cls):
            return cls.LIMIT

        def attributes(self):
            return (self.LIMIT, type(self).LIMIT, self.double(3), type(self).double(4),
                    self.limit())

        def through_class_name(self):
            return Counter.LIMIT, Counter.double(5)

        def get(self):
            return self.value

    return Counter


def test_class_attributes_and_static_methods_inside_methods(ray_shared):
    ray = ray_shared
    counter = _counter_class(ray).remote()
    assert ray.get(counter.attributes.remote(), timeout=60) == (10, 10, 6, 8, 10)
    assert ray.get(counter.through_class_name.remote(), timeout=60) == (10, 10)


def test_static_and_class_methods_called_remotely(ray_shared):
    ray = ray_shared
    counter = _counter_class(ray).remote()
    assert ray.get(counter.double.remote(7), timeout=60) == 14
    assert ray.get(counter.limit.remote(), timeout=60) == 10


def test_actor_class_exposes_class_attributes(ray_shared):
    ray = ray_shared
    Counter = _counter_class(ray)
    assert Counter.LIMIT == 10
    assert Counter.double(2) == 4
    assert Counter.limit() == 10
    with pytest.raises(AttributeError):
        Counter.no_such_attribute  # noqa: B018


@pytest.mark.parametrize("call", ["empty_parentheses", "positional", "function_and_options",
                                  "two_positional"])
def test_remote_decorator_misuse_is_an_assertion_error(ray_module, call):
    ray = ray_module

    def f():
        return 1

    with pytest.raises(AssertionError, match="@ray.remote"):
        {"empty_parentheses": lambda: ray.remote()(f),
         "positional": lambda: ray.remote(2),
         "function_and_options": lambda: ray.remote(f, num_cpus=1),
         "two_positional": lambda: ray.remote(f, 1)}[call]()


@pytest.mark.parametrize("target", ["function", "class"])
@pytest.mark.parametrize("options,error", [
    ({"no_such_option": 1}, ValueError),
    ({"num_cpus": -1}, ValueError),
    ({"num_cpus": "one"}, TypeError),
])
def test_invalid_decorator_options(ray_module, target, options, error):
    ray = ray_module

    def f():
        return 1

    class C:
        pass

    with pytest.raises(error):
        ray.remote(**options)(f if target == "function" else C)


@pytest.mark.parametrize("target,option", [("function", {"max_restarts": 1}),
                                           ("function", {"get_if_exists": True}),
                                           ("class", {"num_returns": 2}),
                                           ("class", {"max_retries": 1})])
def test_option_of_the_other_kind_is_a_value_error(ray_module, target, option):
    ray = ray_module

    def f():
        return 1

    class C:
        pass

    with pytest.raises(ValueError, match="Invalid option keyword"):
        ray.remote(**option)(f if target == "function" else C)


def test_inheriting_from_actor_class_is_a_type_error(ray_module):
    ray = ray_module
    import importlib

    actor_module = importlib.import_module(f"{ray.__name__}.actor")

    @ray.remote
    class Base:
        pass

    with pytest.raises(TypeError, match="Inheriting from actor classes") as info:
        class Derived(Base):  # noqa: F841
            pass

    assert isinstance(info.value, actor_module.ActorClassInheritanceException)


def test_actor_class_private_remote(ray_shared):
    ray = ray_shared
    Counter = _counter_class(ray)
    assert ray.get(Counter._remote(args=[5]).get.remote(), timeout=60) == 5
    assert ray.get(Counter._remote(kwargs={"start": 6}).get.remote(), timeout=60) == 6
    assert ray.get(Counter._remote().get.remote(), timeout=60) == 0
    named = Counter._remote(args=[7], name="private-remote-counter", num_cpus=0)
    assert ray.get(ray.get_actor("private-remote-counter").get.remote(), timeout=60) == 7
    ray.kill(named)


def test_remote_function_private_remote(ray_shared):
    ray = ray_shared

    @ray.remote
    def add(a, b=1):
        return a + b

    @ray.remote
    def pair():
        return 1, 2

    assert ray.get(add._remote(args=[1], kwargs={"b": 5}), timeout=60) == 6
    assert ray.get(add._remote(args=[1]), timeout=60) == 2
    refs = pair._remote(num_returns=2)
    assert ray.get(refs, timeout=60) == [1, 2]


def test_get_if_exists_needs_a_name(ray_shared):
    ray = ray_shared
    Counter = _counter_class(ray)
    with pytest.raises(ValueError):
        Counter.options(get_if_exists=True).remote()
    with pytest.raises(TypeError):
        Counter.options(name="gie-typed", get_if_exists=1).remote()


def test_get_if_exists_returns_the_live_actor(ray_shared):
    ray = ray_shared
    Counter = _counter_class(ray)
    first = Counter.options(name="gie-counter", get_if_exists=True).remote(1)
    second = Counter.options(name="gie-counter", get_if_exists=True).remote(2)
    assert ray.get(second.get.remote(), timeout=60) == 1
    ray.kill(first)


def test_empty_actor_name_is_a_value_error(ray_shared):
    ray = ray_shared
    with pytest.raises(ValueError):
        _counter_class(ray).options(name="").remote()


def test_actor_pool_pending_submits(ray_shared):
    ray = ray_shared
    import importlib

    util = importlib.import_module(f"{ray.__name__}.util")
    Counter = _counter_class(ray)
    pool = util.ActorPool([Counter.remote(), Counter.remote()])
    assert pool._pending_submits == []
    for value in range(4):
        pool.submit(lambda actor, v: actor.double.remote(v), value)
    assert [value for _, value in pool._pending_submits] == [2, 3]
    results = sorted(pool.get_next_unordered(timeout=60) for _ in range(4))
    assert results == [0, 2, 4, 6]
    assert pool._pending_submits == []


def test_instance_attribute_does_not_hide_a_method(ray_shared):
    # Ray calls the method the class defines, even where __init__ set an instance attribute
    # of the same name (Ray's own test of the global gc does exactly this).
    ray = ray_shared

    @ray.remote
    class Flagged:
        def __init__(self):
            self.done = "attribute"

        def done(self):  # noqa: F811 (the point of the test)
            return ("method", self.done)

    actor = Flagged.remote()
    assert ray.get(actor.done.remote()) == ("method", "attribute")


def test_invocation_decorator_wraps_the_callers_submission(ray_shared):
    """A method whose function carries ``__ray_invocation_decorator__`` has its submission
    (``invocation(args, kwargs)``) wrapped by it on the caller's side: here it doubles the
    only argument and also hands back the keywords it kept from the actor."""
    ray = ray_shared

    def on_caller_side(invocation):
        def wrapped(args, kwargs):
            return invocation([args[0], args[0]], {}), kwargs
        return wrapped

    def two_into_one(fn):
        def method(self, first, second):
            return fn(self, first * 10 + second)
        method.__ray_invocation_decorator__ = on_caller_side
        return method

    @ray.remote
    class Decorated:
        @two_into_one
        def combine(self, value):
            return value

    ref, kept = Decorated.remote().combine.remote(4, note="kept")
    assert kept == {"note": "kept"}
    assert ray.get(ref, timeout=60) == 44


def test_dir_lists_the_actor_methods(ray_shared):
    # autocompletion: the class lists its methods with remote/options/bind; a handle lists
    # its methods and the built-in ones, nothing else
    ray = ray_shared

    @ray.remote
    class Greeter:
        def hello(self):
            return "hi"

    assert {"hello", "remote", "options", "bind"} <= set(dir(Greeter))
    handle = Greeter.remote()
    assert [name for name in dir(handle) if not name.startswith("_")] == ["hello"]
    assert {"__init__", "hello", "__ray_ready__", "__ray_call__",
            "__ray_terminate__"} == set(dir(handle))
    assert ray.get(handle.hello.remote()) == "hi"


def test_ray_call_runs_a_function_on_the_instance(ray_shared):
    ray = ray_shared

    @ray.remote
    class Box:
        def __init__(self):
            self.value = 21

    box = Box.remote()
    with pytest.raises(TypeError):
        box.__ray_call__()
    assert ray.get(box.__ray_call__.remote(lambda self: self.value)) == 21
    assert ray.get(box.__ray_call__.remote(lambda self, k: self.value * k, 2)) == 42
    assert ray.get(box.__ray_call__.remote(lambda self, k: self.value + k, k=1)) == 22
