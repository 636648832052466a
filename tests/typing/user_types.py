"""What a user's type checker sees of raylike's API: checked by mypy (``tox -e type``), never
run. Each ``assert_type`` fails the check if raylike's annotations stop saying it."""
from __future__ import annotations

from typing import TYPE_CHECKING

import raylike as ray

if TYPE_CHECKING:
    from typing_extensions import assert_type

    from raylike import ObjectRef

    @ray.remote
    def add(x: int, y: int) -> int:
        return x + y

    ref = add.remote(1, 2)
    assert_type(ref, ObjectRef[int])
    assert_type(add.options(num_cpus=1).remote(1, 2), ObjectRef[int])
    assert_type(ray.get(ref), int)
    assert_type(ray.get([ref, ref]), list[int])
    assert_type(ray.put("text"), ObjectRef[str])
    assert_type(ray.get(ray.put(2.5), timeout=1.0), float)

    class Counter:
        def value(self) -> int:
            return 0

    CounterActor = ray.remote(Counter)  # the call form: a class decorator's type is not seen
    assert_type(CounterActor, ray.actor.ActorClass[Counter])
