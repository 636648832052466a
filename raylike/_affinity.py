"""``NodeAffinitySchedulingStrategy``: which Dask worker(s) a task or actor may run on.

Ray's rules (``ray.util.scheduling_strategies``): a target node that exists and could ever
run the request (it is *feasible*) is the only place it runs, waiting there for resources if
they are busy. A target that is dead, unknown or infeasible fails the task or actor with
``TaskUnschedulableError``/``ActorUnschedulableError`` when ``soft=False``, and lets it run
anywhere when ``soft=True``. ``_fail_on_unavailable`` (hard) fails it at once when the target
is feasible but busy; ``_spill_on_unavailable`` (soft) sends it to another node then.
"""
from __future__ import annotations

from typing import Any

__all__ = ["Unschedulable", "placement", "refuse"]


class Unschedulable(Exception):
    """Ray would refuse to schedule the task or actor; the message says why."""


def _fits(node: dict[str, float], wanted: dict[str, float]) -> bool:
    return all(node.get(name, 0.0) + 1e-9 >= amount for name, amount in wanted.items()
               if amount > 0)


def placement(strategy: Any, request: dict[str, float]) -> dict[str, Any]:
    """Dask placement keywords (``workers``, ``allow_other_workers``) for ``strategy`` and a
    task or actor asking for ``request``; ``{}`` for any other strategy. Raises
    ``Unschedulable`` where Ray fails a hard affinity."""
    node_id = getattr(strategy, "node_id", None)
    if node_id is None or isinstance(strategy, str):
        return {}
    from raylike import _state

    soft = bool(getattr(strategy, "soft", False))
    nodes = _state.nodes()
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
        raise Unschedulable(f"The node specified via NodeAffinitySchedulingStrategy "
                            f"({node_id}) cannot ever provide {request}, and soft=False was "
                            f"specified.")
    pinned = {"workers": [target["DaskWorkerAddress"]], "allow_other_workers": soft}
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
    return {"workers": [n["DaskWorkerAddress"] for n in chosen], "allow_other_workers": False}


def refuse(error: BaseException) -> None:
    """The Dask task standing for a task or actor Ray refuses to schedule: it raises."""
    raise error
