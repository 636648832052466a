"""``ray.util.actor_group``: Ray's deprecated ``ActorGroup``, a set of identical actors whose
method calls go to every actor at once (``group.method.remote(x)`` returns one ref per actor).
Ray points users to ``ray.util.multiprocessing`` (stateless work) or actor pools instead; so
does the warning given at construction."""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import raylike
from raylike._private.utils import get_ray_doc_version

__all__ = ["ActorConfig", "ActorGroup", "ActorGroupMethod", "ActorWrapper"]


@dataclass
class ActorWrapper:
    """One actor of the group and what its ``get_actor_metadata()`` returned (if it has one)."""

    actor: Any
    metadata: Any


@dataclass
class ActorConfig:
    """How the group's actors are made."""

    num_cpus: float
    num_gpus: float
    resources: dict[str, float] | None
    init_args: tuple[Any, ...]
    init_kwargs: dict[str, Any]


class ActorGroupMethod:
    """``group.<method>``: ``.remote(...)`` calls it on every actor of the group."""

    def __init__(self, actor_group: ActorGroup, method_name: str) -> None:
        self._group = actor_group
        self._method_name = method_name

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError("ActorGroup methods cannot be called directly. Instead of running "
                        f"'object.{self._method_name}()', try "
                        f"'object.{self._method_name}.remote()'.")

    def remote(self, *args: Any, **kwargs: Any) -> list[Any]:
        """One ref per actor, in the group's order."""
        return [getattr(wrapper.actor, self._method_name).remote(*args, **kwargs)
                for wrapper in self._group.actors]


class ActorGroup:
    """``num_actors`` actors of ``actor_cls``, each reserving ``num_cpus_per_actor`` CPUs,
    ``num_gpus_per_actor`` GPUs and ``resources_per_actor``, built with ``init_args`` and
    ``init_kwargs``. Deprecated, as in Ray (a ``DeprecationWarning`` at construction)."""

    def __init__(self, actor_cls: type, num_actors: int = 1, num_cpus_per_actor: float = 1,
                 num_gpus_per_actor: float = 0,
                 resources_per_actor: dict[str, float] | None = None,
                 init_args: tuple[Any, ...] | None = None,
                 init_kwargs: dict[str, Any] | None = None) -> None:
        doc = get_ray_doc_version()
        warnings.warn("ActorGroup is deprecated. For stateless/task processing, use "
                      "ray.util.multiprocessing, see details in "
                      f"https://docs.ray.io/en/{doc}/ray-more-libs/multiprocessing.html. For "
                      "stateful/actor processing such as batch prediction, use "
                      "Datasets.map_batches(compute=ActorPoolStrategy, ...).",
                      DeprecationWarning, stacklevel=2)
        if num_actors <= 0:
            raise ValueError("The provided `num_actors` must be greater than 0. Received "
                             f"num_actors={num_actors} instead.")
        if num_cpus_per_actor < 0 or num_gpus_per_actor < 0:
            raise ValueError("The number of CPUs and GPUs per actor must not be negative. "
                             f"Received num_cpus_per_actor={num_cpus_per_actor} and "
                             f"num_gpus_per_actor={num_gpus_per_actor}.")
        self.actors: list[ActorWrapper] = []
        self.num_actors = num_actors
        self.actor_config = ActorConfig(num_cpus_per_actor, num_gpus_per_actor,
                                        resources_per_actor, tuple(init_args or ()),
                                        dict(init_kwargs or {}))
        self._remote_cls = raylike.remote(num_cpus=num_cpus_per_actor,
                                          num_gpus=num_gpus_per_actor,
                                          resources=resources_per_actor)(actor_cls)
        self.start()

    def __getattr__(self, name: str) -> ActorGroupMethod:
        if name.startswith("__") or name in ("actors", "actor_config", "num_actors"):
            raise AttributeError(name)
        if not self.actors:
            raise RuntimeError("This ActorGroup has been shutdown. Please start it again.")
        return ActorGroupMethod(self, name)

    def __len__(self) -> int:
        return len(self.actors)

    def __getitem__(self, index: int) -> ActorWrapper:
        return self.actors[index]

    @property
    def actor_metadata(self) -> list[Any]:
        return [wrapper.metadata for wrapper in self.actors]

    def start(self) -> None:
        """Start the group's actors (``RuntimeError`` if they are running)."""
        if self.actors:
            raise RuntimeError("The actors have already been started. Please call `shutdown` "
                               "first if you want to restart them.")
        self.add_actors(self.num_actors)

    def shutdown(self, patience_s: float = 5) -> None:
        """Stop every actor: asked to exit, killed if not gone after ``patience_s`` seconds
        (at once when ``patience_s <= 0``)."""
        if patience_s > 0:
            done = [wrapper.actor.__ray_terminate__.remote() for wrapper in self.actors]
            _, not_done = raylike.wait(done, num_returns=len(done), timeout=patience_s)
            stubborn = [w for w, ref in zip(self.actors, done) if ref in not_done]
        else:
            stubborn = list(self.actors)
        for wrapper in stubborn:
            raylike.kill(wrapper.actor)
        self.actors = []

    def remove_actors(self, actor_indexes: list[int]) -> None:
        """Forget the actors at ``actor_indexes`` (they are not stopped)."""
        self.actors = [w for i, w in enumerate(self.actors) if i not in actor_indexes]

    def add_actors(self, num_actors: int) -> None:
        """Start ``num_actors`` more actors, and read their metadata where they give one."""
        config = self.actor_config
        new = [self._remote_cls.remote(*config.init_args, **config.init_kwargs)
               for _ in range(num_actors)]
        metadata: list[Any] = [None] * len(new)
        if new and hasattr(new[0], "get_actor_metadata"):
            metadata = raylike.get([actor.get_actor_metadata.remote() for actor in new])
        self.actors.extend(ActorWrapper(a, m) for a, m in zip(new, metadata))
