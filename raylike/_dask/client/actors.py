"""Actors on Dask, where a client is (the driver, or a worker for its tasks' processes):
creating one (registered with the scheduler's actor registry, placed by a reservation task that
hosts it), looking one up by name, killing one, and a task process's actor requests."""
from __future__ import annotations

from typing import Any

from raylike._api import resources as _resources
from raylike._api import scheduling as _scheduling
from raylike._api.actor_spec import KILLED, ActorSpec
from raylike._api.actors import ActorHandle
from raylike._api.objects import ObjectRef, _Borrowed
from raylike._api.serialization import dumps, loads
from raylike._dask.worker import actor_host as _actor_host
from raylike.exceptions import (
    ActorAlreadyExistsError,
    ActorHandleNotFoundError,
    ActorUnschedulableError,
)


def create_with(backend: Any, spec: ActorSpec, nested: list[ObjectRef[Any]],
                 get_if_exists: bool) -> ActorHandle[Any]:
    """Register the actor with the scheduler and submit its reservation task."""
    meta = spec.meta
    default = spec.resources.get("CPU", -1.0) == 0.0  # see _resources.default_actor_request
    placement = {**_resources.without_hidden(spec.resources), "CPU": 1.0} if default \
        else spec.resources
    if spec.placement is None:
        _resources.warn_if_infeasible(f"actor {meta.class_name}", placement, backend)
    with _Borrowed():
        handle_bytes = dumps(ActorHandle(meta, ObjectRef(spec.reservation)), "actor handle")
    reply = backend.scheduler_call(
        "raylike_actor_create", actor_id=meta.actor_id, class_name=meta.full_name,
        name=meta.name, namespace=meta.namespace, detached=meta.detached, job_id=spec.job_id,
        reservation=spec.reservation, max_restarts=spec.max_restarts, handle=handle_bytes,
        get_if_exists=get_if_exists, owner=spec.owner)
    if reply["status"] == "exists":
        return loads(reply["handle"])
    if reply["status"] == "taken":
        raise ActorAlreadyExistsError(
            f"The name {meta.name} (namespace={meta.namespace}) is already taken. "
            "Please use a different name or get the existing actor using "
            f"ray.get_actor('{meta.name}', namespace='{meta.namespace}')")
    if meta.detached:
        _warn_if_anonymous(meta.namespace)
    try:
        where = _scheduling.placement(spec.strategy, placement,
                                      in_group=spec.placement is not None,
                                      selector=spec.label_selector,
                                      fallback=spec.fallback_strategy)
    except _scheduling.Unschedulable as exc:  # Ray: the actor is created dead, calls raise
        error = ActorUnschedulableError(str(exc))
        backend.scheduler_call("raylike_actor_update", actor_id=meta.actor_id, state="DEAD",
                               dead=dumps(error, "actor error"))
        return ActorHandle(meta, backend.submit_raw(_scheduling.refuse, spec, error,
                                                    key=spec.reservation, resources=None,
                                                    detach=True))
    # the creator keeps the constructor's arguments for restarts
    reservation = backend.submit_raw(
        _actor_host.host_actor, spec, key=spec.reservation,
        resources=spec.resources if spec.placement is None else spec.placement.dask,
        keep=[*spec.deps, *nested], detach=meta.detached, **where)
    return ActorHandle(meta, reservation)


def lookup(backend: Any, name: str, namespace: str | None) -> bytes | None:
    reply = backend.scheduler_call("raylike_actor_named", name=name, namespace=namespace)
    return reply.get("handle")


def kill_with(backend: Any, actor_id: str, no_restart: bool) -> None:
    reply = backend.scheduler_call("raylike_actor_kill", actor_id=actor_id,
                                   no_restart=no_restart, reason=KILLED)
    if reply.get("unknown"):
        raise ActorHandleNotFoundError(
            "ActorHandle objects are not valid across Ray sessions: this actor was created "
            "before ray.shutdown() (or on another cluster), and this cluster never had it.")
    if not reply.get("placed", True):  # buried before it started: drop its reservation
        backend.cancel(backend.ref(reply["reservation"]), True, False)
    if reply.get("reservation"):  # dead for good: its constructor's arguments may go
        backend.drop_kept(reply["reservation"])


def serve_request(scope: Any, op: str, *args: Any) -> Any:
    """Answer an actor request from a task's or actor's process (on its worker)."""
    backend = scope.node.backend()
    if op == "create":
        spec, nested, get_if_exists = loads(args[0])
        handle = create_with(backend, spec, nested, get_if_exists)
        return _lend(scope, handle)
    if op == "get_actor":
        data = lookup(backend, args[0], args[1])
        return None if data is None else _lend(scope, loads(data))
    if op == "kill":
        return kill_with(backend, args[0], args[1])
    if op == "list_named":
        return backend.list_named_actors(args[0], args[1])
    raise ValueError(f"unknown actor request {op!r}")


def _lend(scope: Any, handle: ActorHandle[Any]) -> bytes:
    """Pickle ``handle`` for the child; the worker holds what it refers to meanwhile."""
    with _Borrowed() as borrowed:
        data = dumps(handle, "actor handle")
    scope.held.extend(borrowed.refs)
    return data


def _warn_if_anonymous(namespace: str | None) -> None:
    """Ray's warning for a detached actor made in the driver's anonymous namespace: no other
    driver will find it unless it names that namespace."""
    from raylike._api import error_pubsub as _error_pubsub
    from raylike._api import runtime as _runtime

    runtime = _runtime.driver()
    if runtime is None or not runtime.anonymous_namespace or namespace != runtime.namespace:
        return
    _error_pubsub.publish(
        runtime.client, "detached_actor_anonymous_namespace",
        "It looks like you're creating a detached actor in an anonymous namespace. In order "
        "to access this actor in the future, you will need to explicitly connect to this "
        f'namespace with ray.init(namespace="{namespace}", ...)', runtime.job_id)
