"""Serialization, as Ray's "Serialization" page describes it: one pickle per value (objects
met twice stay one), custom ``__reduce__``, ``ray.util.register_serializer`` /
``deregister_serializer``, ``ray.util.inspect_serializability`` and the errors for values
that cannot be pickled."""

from __future__ import annotations

import io
import sqlite3
import threading

import numpy as np
import pytest

# Anything that runs remotely is defined inside the test functions: module-level functions and
# classes are pickled by reference and the test module is not importable on workers.


# ----------------------------------------------------------------------------------------------
# an object met twice in one value is one object after the trip
# ----------------------------------------------------------------------------------------------


def test_docs_example_repeated_array_is_one_object_right_after_init(ray_fresh):
    ray = ray_fresh
    ray.init(num_cpus=2, include_dashboard=False)
    obj = [np.zeros(42)] * 99
    out = ray.get(ray.put(obj))
    assert out[0] is out[1] and out[0] is out[98]


def test_put_keeps_objects_met_twice_as_one(ray_shared):
    ray = ray_shared

    class Box:
        pass

    box, small, big = Box(), np.arange(10), np.ones(1 << 18)  # big: 2 MB, out of band
    out = ray.get(ray.put([box, box]))
    assert out[0] is out[1] and isinstance(out[0], Box)
    out = ray.get(ray.put({"a": small, "b": small, "c": (small, box), "d": [box]}))
    assert out["a"] is out["b"] is out["c"][0]
    assert out["c"][1] is out["d"][0]
    out = ray.get(ray.put((big, big, {"again": big})))
    assert out[0] is out[1] is out[2]["again"]
    assert np.array_equal(out[0], big)


def test_task_arguments_and_results_keep_objects_met_twice_as_one(ray_shared):
    ray = ray_shared

    class Box:
        pass

    @ray.remote
    def same(value):
        return value[0] is value[1], value

    @ray.remote
    def make(n):
        box, arr = Box(), np.ones(n)
        return [box, box, arr, {"arr": arr}]

    box, big = Box(), np.ones(1 << 18)
    ok, back = ray.get(same.remote([box, box]))
    assert ok and back[0] is back[1]
    ok, back = ray.get(same.remote((big, big)))
    assert ok and back[0] is back[1]
    for n in (10, 1 << 18):
        out = ray.get(make.remote(n))
        assert out[0] is out[1] and out[2] is out[3]["arr"]
    ok, back = ray.get(same.remote(ray.put([box, box])))  # through the store, then the task
    assert ok and back[0] is back[1]


def test_actor_arguments_and_results_keep_objects_met_twice_as_one(ray_shared):
    ray = ray_shared

    class Box:
        pass

    @ray.remote
    class Keeper:
        def __init__(self, pair):
            self.pair = pair

        def kept(self):
            return self.pair[0] is self.pair[1], self.pair

        def same(self, value):
            return value[0] is value[1], value

    box, big = Box(), np.ones(1 << 18)
    keeper = Keeper.remote([box, box])
    ok, back = ray.get(keeper.kept.remote())
    assert ok and back[0] is back[1]
    ok, back = ray.get(keeper.same.remote({0: big, 1: big}))
    assert ok and back[0] is back[1]


# ----------------------------------------------------------------------------------------------
# customized serialization (the docs' three ways)
# ----------------------------------------------------------------------------------------------


def test_custom_reduce_rebuilds_the_object(ray_shared, tmp_path):
    ray = ray_shared
    path = str(tmp_path / "db")

    class DBConnection:
        def __init__(self, path):
            self.path = path
            self.conn = sqlite3.connect(path)

        def __reduce__(self):
            return DBConnection, (self.path,)

    @ray.remote
    def path_of(db):
        return db.path, type(db.conn).__name__

    copied = ray.get(ray.put(DBConnection(path)))
    assert copied.path == path and isinstance(copied.conn, sqlite3.Connection)
    assert ray.get(path_of.remote(DBConnection(path))) == (path, "Connection")


def test_register_and_deregister_serializer_docs_example(ray_shared):
    ray = ray_shared

    class A:
        def __init__(self, x):
            self.x = x
            self.lock = threading.Lock()

    with pytest.raises(TypeError):
        ray.get(ray.put(A(1)))
    ray.util.register_serializer(A, serializer=lambda a: a.x, deserializer=lambda x: A(x))
    try:
        assert ray.get(ray.put(A(1))).x == 1
        ray.util.register_serializer(A, serializer=lambda a: a.x * 10,
                                     deserializer=lambda x: A(x))  # replaces the pair
        assert ray.get(ray.put(A(2))).x == 20
    finally:
        ray.util.deregister_serializer(A)
    with pytest.raises(TypeError):
        ray.put(A(1))
    ray.util.deregister_serializer(A)  # nothing registered: no effect


def test_registered_serializer_values_reach_tasks_and_actors(ray_shared):
    ray = ray_shared

    class A:
        def __init__(self, x):
            self.x = x
            self.lock = threading.Lock()

    calls = []

    def serializer(a):
        calls.append(a.x)
        return a.x

    def deserializer(x):
        return A(x + 100)

    @ray.remote
    def x_of(a):
        return type(a).__name__, a.x

    @ray.remote
    class Holder:
        def __init__(self, a):
            self.a = a

        def x(self, other):
            return self.a.x, other.x

    ray.util.register_serializer(A, serializer=serializer, deserializer=deserializer)
    try:
        assert ray.get(x_of.remote(A(1))) == ("A", 101)
        assert ray.get(x_of.remote(ray.put(A(2)))) == ("A", 102)
        assert ray.get(ray.put(A(3))).x == 103  # deserialized once, as in Ray
        holder = Holder.remote(A(4))
        assert ray.get(holder.x.remote(A(5))) == (104, 105)
        assert calls  # the serializer ran in this process
    finally:
        ray.util.deregister_serializer(A)


def test_serialization_helper_for_one_object(ray_shared):
    ray = ray_shared

    class A:
        def __init__(self, x):
            self.x = x
            self.lock = threading.Lock()

    class Helper:
        def __init__(self, a):
            self.a = a

        def __reduce__(self):
            return A, (self.a.x,)

    @ray.remote
    def x_of(a):
        return type(a).__name__, a.x

    assert ray.get(x_of.remote(Helper(A(7)))) == ("A", 7)
    with pytest.raises(TypeError):
        ray.put(A(1))


def test_a_stored_object_that_does_not_pickle_again_is_read_from_its_bytes(ray_shared):
    # the helper pickles as "build an A": the object stored is read by unpickling those
    # bytes, never by pickling the A it makes (whose lock cannot be pickled)
    ray = ray_shared

    class A:
        def __init__(self, x):
            self.x = x
            self.lock = threading.Lock()

    class Helper:
        def __init__(self, x):
            self.x = x

        def __reduce__(self):
            return A, (self.x,)

    @ray.remote
    def x_of(a):
        return type(a).__name__, a.x

    @ray.remote
    def make(x):
        return Helper(x)

    stored = ray.put(Helper(3))
    for _ in range(2):  # read twice: each reader gets an A of its own
        got = ray.get(stored, timeout=60)
        assert (type(got).__name__, got.x) == ("A", 3)
    assert ray.get(x_of.remote(stored), timeout=60) == ("A", 3)
    made = ray.get(make.remote(4), timeout=60)
    assert (type(made).__name__, made.x) == ("A", 4)
    assert ray.get(x_of.remote(make.remote(5)), timeout=60) == ("A", 5)


# ----------------------------------------------------------------------------------------------
# inspect_serializability
# ----------------------------------------------------------------------------------------------


def test_inspect_serializability_finds_the_global_lock(ray_module):
    ray = ray_module
    lock = threading.Lock()

    def uses_lock():
        print(lock)

    report = io.StringIO()
    ok, failures = ray.util.inspect_serializability(uses_lock, name="uses_lock",
                                                    print_file=report)
    assert ok is False
    assert [f.obj for f in failures] == [lock]
    text = report.getvalue()
    assert "Checking Serializability of" in text and "FAIL" in text and "lock" in text


def test_inspect_serializability_of_members_and_of_what_pickles(ray_module):
    ray = ray_module

    class Holder:
        def __init__(self):
            self.fine = [1, 2]
            self.bad = threading.Lock()

    report = io.StringIO()
    ok, failures = ray.util.inspect_serializability(Holder(), print_file=report)
    assert ok is False and len(failures) == 1
    assert isinstance(next(iter(failures)).obj, type(threading.Lock()))
    ok, failures = ray.util.inspect_serializability({"a": [1, 2.0]}, print_file=io.StringIO())
    assert ok is True and failures == set()


# ----------------------------------------------------------------------------------------------
# errors for what cannot be pickled
# ----------------------------------------------------------------------------------------------


def test_unpicklable_values_raise_ray_type_errors(ray_shared):
    ray = ray_shared
    lock = threading.Lock()

    @ray.remote
    def f(x=None):
        return 1

    @ray.remote
    def closes_over_lock():
        return str(lock)

    @ray.remote
    class Actor:
        def m(self, x):
            return 1

    with pytest.raises(TypeError, match="Could not serialize the put value"):
        ray.put(lock)
    with pytest.raises(TypeError, match="Could not serialize the argument"):
        f.remote(lock)
    with pytest.raises(TypeError, match="Could not serialize the argument"):
        f.remote(x=[lock])
    with pytest.raises(TypeError, match="Could not serialize the function"):
        closes_over_lock.remote()
    actor = Actor.remote()
    with pytest.raises(TypeError, match="Could not serialize the argument"):
        actor.m.remote(lock)
    with pytest.raises(TypeError) as info:
        ray.put({"lock": lock})
    assert "Checking Serializability" in str(info.value)
    assert ray.get(f.remote(1)) == 1 and ray.get(actor.m.remote(1)) == 1


def test_unpicklable_definitions_are_named_as_ray_names_them(ray_shared):
    # Ray names a function by module.qualname and an actor class by its __init__, no repr
    ray = ray_shared
    lock = threading.Lock()

    @ray.remote
    def captures_lock():
        return str(lock)

    @ray.remote
    class CapturesLock:
        def __init__(self):
            self.text = str(lock)

    with pytest.raises(TypeError) as info:
        captures_lock.remote()
    first = str(info.value).splitlines()[0]
    assert first.startswith("Could not serialize the function ")
    assert first.endswith(".captures_lock:") and " at 0x" not in first
    with pytest.raises(TypeError) as info:
        CapturesLock.remote()
    first = str(info.value).splitlines()[0]
    assert first.startswith("Could not serialize the actor class ")
    assert first.endswith(".CapturesLock.__init__:")


def test_unpicklable_return_values_fail_the_call_with_a_type_error(ray_shared):
    ray = ray_shared

    @ray.remote
    def returns_lock():
        return threading.Lock()

    @ray.remote
    class Actor:
        def returns_lock(self):
            return threading.Lock()

        def fine(self):
            return "fine"

    with pytest.raises(ray.exceptions.RayTaskError) as info:
        ray.get(returns_lock.remote(), timeout=60)
    assert isinstance(info.value, TypeError) and "lock" in str(info.value)
    actor = Actor.remote()
    with pytest.raises(ray.exceptions.RayTaskError) as info:
        ray.get(actor.returns_lock.remote(), timeout=60)
    assert isinstance(info.value, TypeError)
    assert ray.get(actor.fine.remote(), timeout=60) == "fine"


def test_a_value_that_gets_another_object_as_it_unpickles(ray_shared):
    ray = ray_shared

    class Deref:  # unpickles as the value of the object it refers to
        def __init__(self, ref):
            self.ref = ref

        def __reduce__(self):
            return ray.get, (self.ref,)

    ref = ray.put(42)
    for _ in range(5):
        ref = ray.put(Deref(ref))  # only the newest ref is held here
    assert ray.get(ref, timeout=60) == 42


def test_arrays_read_back_are_read_only_and_aligned(ray_shared):
    ray = ray_shared
    for _ in range(2):  # the first put may take another path than later ones
        small = ray.get(ray.put(np.full((2, 2), 1.0)))
        with pytest.raises(ValueError, match="read-only"):
            small[0, 0] = 9.0
        large = ray.get(ray.put(np.random.normal(size=(10, 20, 30))))
        assert large.ctypes.data % 64 == 0 and not large.flags.writeable
        arrays = [np.random.normal(size=i) for i in range(1, 40)]
        back = ray.get(ray.put(arrays))
        assert all(a.ctypes.data % 8 == 0 for a in back)
        assert all((a == b).all() for a, b in zip(arrays, back))
