"""Scheduling strategies: which Dask worker(s) a task or actor may run on.

``NodeAffinitySchedulingStrategy``, Ray's rules (``ray.util.scheduling_strategies``): a target
node that exists and could ever run the request (it is *feasible*) is the only place it runs,
waiting there for resources if they are busy. A target that is dead, unknown or infeasible
fails the task or actor with ``TaskUnschedulableError``/``ActorUnschedulableError`` when
``soft=False``, and lets it run anywhere when ``soft=True``. ``_fail_on_unavailable`` (hard)
fails it at once when the target is feasible but busy; ``_spill_on_unavailable`` (soft) sends
it to another node then.

``"SPREAD"``: each submission of this process goes to the next of the nodes that could run it,
in turn (Dask left to itself keeps a burst on the node holding its arguments, or the first).
``"DEFAULT"``: work that needs no GPU is kept off GPU nodes while other nodes can run it
(Ray's ``scheduler_avoid_gpu_nodes``). Placement groups (``_pg_options``) add nothing here.

Label selectors (``label_selector``, ``fallback_strategy``, ``NodeLabelSchedulingStrategy``):
only the nodes whose labels match (``_labels``), kept true as nodes come and go by the
scheduler's label plugin; see ``_labelled``.
"""
from __future__ import annotations

import itertools
import logging
import time
from typing import Any

__all__ = ["Unschedulable", "placement", "refuse"]


class Unschedulable(Exception):
    """Ray would refuse to schedule the task or actor; the message says why."""


def _fits(node: dict[str, float], wanted: dict[str, float]) -> bool:
    return all(node.get(name, 0.0) + 1e-9 >= amount for name, amount in wanted.items()
               if amount > 0)


_NODES_MAX_AGE = 1.0  # seconds a submission may use an earlier look at the nodes
_view: dict[str, Any] = {"at": -_NODES_MAX_AGE, "nodes": [], "session": None}
_spread_turns = itertools.count()


def placement(strategy: Any, request: dict[str, float], in_group: bool = False,
              selector: dict[str, str] | None = None,
              fallback: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """Dask placement keywords (``workers``, ``allow_other_workers``) for ``strategy`` and a
    task or actor asking for ``request`` (``in_group``: it runs in a placement group's
    bundle, already placed; ``selector``, ``fallback``: its ``label_selector`` and
    ``fallback_strategy``). Raises ``Unschedulable`` where Ray fails a hard affinity."""
    from raylike._api.labels import conditions, strategy_conditions
    from raylike.util.scheduling_strategies import NodeLabelSchedulingStrategy

    if isinstance(strategy, NodeLabelSchedulingStrategy):
        return _labelled(strategy_conditions(strategy.hard), strategy_conditions(strategy.soft),
                         [], request)
    if selector and not in_group:
        alternatives = [conditions(f.get("label_selector")) for f in fallback or []]
        return _labelled(conditions(selector), [], alternatives, request,
                         spread=strategy == "SPREAD")
    if strategy == "SPREAD":
        return _spread(request)
    if isinstance(strategy, str) and strategy != "DEFAULT":  # Ray checks it at submission
        raise ValueError(f"Invalid scheduling_strategy value {strategy}. Valid values are "
                         '["DEFAULT" | "SPREAD" | PlacementGroupSchedulingStrategy | '
                         "NodeAffinitySchedulingStrategy | NodeLabelSchedulingStrategy]")
    node_id = getattr(strategy, "node_id", None)
    if node_id is not None and not isinstance(strategy, str):
        return _affinity(strategy, node_id, request)
    return {} if in_group or strategy is not None and strategy != "DEFAULT" \
        else _avoid_gpu_nodes(request)


def _nodes() -> list[dict[str, Any]]:
    """The live nodes, by id, as seen at most ``_NODES_MAX_AGE`` seconds ago."""
    from raylike._api import context as _context
    from raylike._api import state as _state

    # a look taken in an earlier session (another cluster) names nodes that are gone: work
    # restricted to them would wait for ever
    session = _context.current_job_id()  # drawn afresh by each init
    if time.monotonic() - _view["at"] > _NODES_MAX_AGE or _view["session"] != session:
        _view["nodes"] = sorted((n for n in _state.live_nodes() if n["Alive"]),
                                key=lambda n: str(n["NodeID"]))
        _view["at"], _view["session"] = time.monotonic(), session
    return list(_view["nodes"])


def _spread(request: dict[str, float]) -> dict[str, Any]:
    nodes = _nodes()
    able = [n for n in nodes if _fits(n["Resources"], request)]
    if len(able) < 2:
        return {}
    chosen = able[next(_spread_turns) % len(able)]
    return _on([chosen], loose=len(able) == len(nodes))


def _avoid_gpu_nodes(request: dict[str, float]) -> dict[str, Any]:
    """Ray's default policy keeps work that needs no GPU off GPU nodes while other nodes can
    run it. Loose where every node could run it: Dask's work stealing then still moves it to
    an idle GPU node when the others are saturated, as Ray falls back to GPU nodes."""
    if request.get("GPU", 0) > 0:
        return {}
    nodes = _nodes()
    if not any(n["Resources"].get("GPU", 0) > 0 for n in nodes):
        return {}
    able = [n for n in nodes if _fits(n["Resources"], request)]
    plain = [n for n in able if not n["Resources"].get("GPU", 0) > 0]
    if not plain or len(plain) == len(able):
        return {}
    return _on(plain, loose=len(able) == len(nodes))


def _affinity(strategy: Any, node_id: str, request: dict[str, float]) -> dict[str, Any]:
    from raylike._api import state as _state

    soft = bool(getattr(strategy, "soft", False))
    nodes = _state.live_nodes()
    target = next((n for n in nodes if n["NodeID"] == node_id and n["Alive"]), None)
    if target is None:
        if soft:
            return {}
        raise Unschedulable(f"The node specified via NodeAffinitySchedulingStrategy doesn't "
                            f"exist any more or is infeasible, and soft=False was specified "
                            f"(node {node_id}).")
    if not _fits(target["Resources"], request):
        if soft:
            return {}
        raise Unschedulable(f"The node specified via NodeAffinitySchedulingStrategy doesn't "
                            f"exist any more or is infeasible, and soft=False was specified "
                            f"(node {node_id} cannot ever provide {request}).")
    pinned = _on([target], loose=soft and all(_fits(n["Resources"], request) for n in nodes))
    if not soft:  # it must not run elsewhere when its node leaves (see ``_backend._pin``)
        pinned["hard"] = True
    spill = soft and getattr(strategy, "_spill_on_unavailable", False)
    fail = not soft and getattr(strategy, "_fail_on_unavailable", False)
    if not (spill or fail):
        return pinned
    available = _state.available_resources_per_node()
    if _fits(available.get(node_id, {}), request):
        return pinned
    if fail:
        raise Unschedulable(f"The node specified via NodeAffinitySchedulingStrategy "
                            f"({node_id}) does not have {request} available now, and "
                            f"_fail_on_unavailable=True was specified.")
    others = [n for n in nodes if n is not target and n["Alive"]
              and _fits(n["Resources"], request)]
    free = [n for n in others if _fits(available.get(n["NodeID"], {}), request)]
    chosen = free or others
    if not chosen:
        return pinned  # nowhere else could run it: it waits for the target
    return _on(chosen, loose=False)


def _labelled(hard: list[Any], soft: list[Any], alternatives: list[list[Any]],
              request: dict[str, float], spread: bool = False) -> dict[str, Any]:
    """Run only on nodes whose labels satisfy ``hard``; where no node that could ever run it
    does, the first of ``alternatives`` (``fallback_strategy``) that some such node satisfies.
    With ``soft``: on the nodes that also satisfy it and have ``request`` free now, else on
    any matching node with it free now, else (all busy) on the nodes that satisfy ``soft``
    too, else on any matching node, when one frees (a Dask worker queues what it is given:
    the restriction decides where it waits). ``spread`` (``"SPREAD"``): the matching nodes
    that could run it, in turn.
    No matching node: it waits, pending (as Ray's), until a node with the labels joins: the
    scheduler's label plugin (``_dask/scheduler/labels.py``) keeps the restriction true."""
    from raylike._api import labels as _labels
    from raylike._api import state as _state

    chosen = hard
    if alternatives:
        nodes = _nodes()
        for conds in [hard, *alternatives]:
            if any(_labels.matches(n["Labels"], conds) and _fits(n["Resources"], request)
                   for n in nodes):
                chosen = conds
                break
    _warn_if_no_match(chosen, request)
    restriction = [_labels.sentinel(chosen)]  # the plugin adds the nodes that match
    if soft:
        available = _state.available_resources_per_node()
        able = [n for n in _state.live_nodes()
                if n["Alive"] and _labels.matches(n["Labels"], chosen)
                and _fits(n["Resources"], request)]
        free = [n for n in able if _fits(available.get(n["NodeID"], {}), request)]
        preferred = ([n for n in free if _labels.matches(n["Labels"], soft)] or free
                     or [n for n in able if _labels.matches(n["Labels"], soft)])
        restriction += [n["DaskWorkerAddress"] for n in preferred]
    elif spread:
        able = [n for n in _nodes() if _labels.matches(n["Labels"], chosen)
                and _fits(n["Resources"], request)]
        if able:
            restriction.append(able[next(_spread_turns) % len(able)]["DaskWorkerAddress"])
    return {"workers": restriction, "allow_other_workers": False}


_unmatched_warned: set[str] = set()


def _warn_if_no_match(conds: list[Any], request: dict[str, float]) -> None:
    """Log a warning, once per selector and request, when no live node both matches ``conds``
    and could ever run ``request``: the work waits until such a node joins."""
    from raylike._api import labels as _labels
    from raylike._api import state as _state

    def able(nodes: list[dict[str, Any]]) -> bool:
        return any(_labels.matches(n["Labels"], conds) and _fits(n["Resources"], request)
                   for n in nodes if n["Alive"])

    key = f"{_labels.sentinel(conds)} {sorted(request.items())}"
    if key in _unmatched_warned:
        return
    try:
        if able(_nodes()) or able(_state.live_nodes()):  # the second look: a node just joined
            return
    except Exception:  # introspection must never break a submission
        return
    _unmatched_warned.add(key)
    logging.getLogger("raylike").warning(
        "Warning: no node of the cluster has labels matching %s and the resources %s. The "
        "task or actor will wait until such a node joins.",
        {k: (op, list(v)) for k, op, v in conds}, request)


def _on(nodes: list[dict[str, Any]], loose: bool) -> dict[str, Any]:
    """Run on one of ``nodes``; ``loose``: elsewhere if they leave. Only where every node
    could run the request: Dask's fallback and its work stealing place a loosely restricted
    task on any worker, even one without its resources, where it would wait for ever."""
    return {"workers": [n["DaskWorkerAddress"] for n in nodes], "allow_other_workers": loose}


def refuse(spec: Any, error: BaseException) -> None:
    """The Dask task standing for a task or actor Ray refuses to schedule: it raises.
    ``spec`` (the task's call, the actor's spec) lets the state API list it as failed."""
    raise error
