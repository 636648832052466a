"""The code the microbenchmark runs in tasks and actors, for any engine with Ray's API.

Workers cannot import this module (it is not installed): the child ships it by value, as it
would ship code defined in a script. ``build(ray)`` makes the remote functions and actor classes
for the engine module ``ray`` (raylike or Ray), the same code for both.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


def small_value() -> bytes:
    """The trivial task (also raw Dask's)."""
    return b"ok"


@dataclass(frozen=True)
class Remotes:
    """The remote functions and actor classes of one engine."""

    small_value: Any
    put_small: Any  # put(0) N times
    put_arrays: Any  # put N int64 arrays of M elements
    make_refs: Any  # a list of N refs, each a put(1)
    call_actors: Any  # N calls spread over a list of actors, got together
    split_sum: Any  # the sum of an array, halved into two child tasks down to a leaf size
    Actor: Any  # sync, num_cpus=0
    AsyncActor: Any  # async methods, default resources
    Client: Any  # an actor calling other actors, num_cpus=0


def build(ray: Any) -> Remotes:
    """The remotes for the engine module ``ray``."""
    remote_small = ray.remote(small_value)

    @ray.remote
    def put_small(n: int) -> None:
        for _ in range(n):
            ray.put(0)

    @ray.remote
    def put_arrays(n: int, elements: int) -> None:
        for _ in range(n):
            ray.put(np.zeros(elements, dtype=np.int64))

    @ray.remote
    def make_refs(n: int) -> list[Any]:
        return [ray.put(1) for _ in range(n)]

    @ray.remote
    def call_actors(actors: list[Any], n: int) -> None:
        ray.get([actors[i % len(actors)].small_value.remote() for i in range(n)])

    @ray.remote
    def split_sum(values: Any, leaf: int) -> float:
        if len(values) <= leaf:
            return float(values.sum())
        half = len(values) // 2  # each child gets its half by value: a large argument
        return float(sum(ray.get([split_sum.remote(values[:half], leaf),
                                  split_sum.remote(values[half:], leaf)])))

    @ray.remote(num_cpus=0)
    class Actor:
        def small_value(self) -> bytes:
            return b"ok"

        def small_value_arg(self, x: Any) -> bytes:
            return b"ok"

        def small_value_batch(self, n: int) -> None:
            ray.get([remote_small.remote() for _ in range(n)])

    @ray.remote
    class AsyncActor:
        async def small_value(self) -> bytes:
            return b"ok"

        async def small_value_with_arg(self, x: Any) -> bytes:
            return b"ok"

    @ray.remote(num_cpus=0)
    class Client:
        def __init__(self, servers: Any) -> None:
            self.servers = servers if isinstance(servers, list) else [servers]

        def small_value_batch(self, n: int) -> None:
            ray.get([s.small_value.remote() for s in self.servers for _ in range(n)])

        def small_value_batch_arg(self, n: int) -> None:
            arg = ray.put(0)
            ray.get([s.small_value_arg.remote(arg) for s in self.servers for _ in range(n)])

    return Remotes(remote_small, put_small, put_arrays, make_refs, call_actors, split_sum,
                   Actor, AsyncActor, Client)
