"""Scheduling strategies, mapped to Dask worker restrictions.

``"DEFAULT"`` leaves placement to Dask's scheduler (which balances load); ``"SPREAD"`` takes
the nodes that can run the work in turn; ``NodeAffinitySchedulingStrategy(node_id, soft)`` pins
a task or actor to that node (Dask worker), or fails it (``soft=False``) or lets it run
elsewhere (``soft=True``) where that node is gone or lacks its resources, as Ray's rules say
(``raylike._api.scheduling``).
``PlacementGroupSchedulingStrategy`` runs it in a placement group's bundle
(``raylike._api.pg_options``).

``NodeLabelSchedulingStrategy`` (with its operators ``In``, ``NotIn``, ``Exists``,
``DoesNotExist``) runs a task or actor on a node whose labels satisfy every ``hard`` condition,
preferring those that also satisfy ``soft`` (``raylike._api.labels``, ``raylike._api.scheduling``).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Union

__all__ = ["DoesNotExist", "Exists", "In", "NodeAffinitySchedulingStrategy",
           "NodeLabelSchedulingStrategy", "NotIn", "PlacementGroupSchedulingStrategy"]


@dataclass
class NodeAffinitySchedulingStrategy:
    """Run on the node with id ``node_id`` (see ``ray.nodes()``)."""

    node_id: str
    soft: bool
    _spill_on_unavailable: bool = False
    _fail_on_unavailable: bool = False

    def __post_init__(self) -> None:
        """Ray's checks: a node id (a ``NodeID`` or its hex, not nil); the private
        ``_spill_on_unavailable`` only with ``soft``, ``_fail_on_unavailable`` only without."""
        from raylike._api.ids import NodeID

        if not isinstance(self.node_id, str):
            self.node_id = self.node_id.hex()
        try:
            valid = not NodeID.from_hex(self.node_id).is_nil()
        except (TypeError, ValueError):
            valid = False
        if not valid:
            raise ValueError(f"Invalid node_id '{self.node_id}'. Node ID must be a valid hex "
                             "string. To get a list of all nodes and their IDs in your "
                             "cluster, use ray.nodes().")
        if self._spill_on_unavailable and not self.soft:
            raise ValueError("_spill_on_unavailable cannot be set when soft is False. Please "
                             "set soft to True to use _spill_on_unavailable.")
        if self._fail_on_unavailable and self.soft:
            raise ValueError("_fail_on_unavailable cannot be set when soft is True. Please set "
                             "soft to False to use _fail_on_unavailable.")


@dataclass
class PlacementGroupSchedulingStrategy:
    """Run in bundle ``placement_group_bundle_index`` of ``placement_group`` (``-1``: any of
    its bundles); ``placement_group_capture_child_tasks``: the tasks and actors it creates go
    to the group too, unless they say otherwise."""

    placement_group: object
    placement_group_bundle_index: int = -1
    placement_group_capture_child_tasks: bool | None = None


def _check_operator_values(values: tuple[Any, ...], operator: str) -> None:
    if not values:
        raise ValueError(f"The variadic parameter of the {operator} operator must be a "
                         f'non-empty tuple: e.g. {operator}("value1", "value2").')
    for index, value in enumerate(values):
        if not isinstance(value, str):
            raise ValueError(f"Type of value in position {index} for the {operator} operator "
                             f'must be str (e.g. {operator}("value1", "value2")) but got '
                             f"{value} of type {type(value)}.")


class In:
    """The label's value is one of ``values``."""

    def __init__(self, *values: str) -> None:
        _check_operator_values(values, "In")
        self.values = list(values)


class NotIn:
    """The label's value is none of ``values`` (or the label is absent)."""

    def __init__(self, *values: str) -> None:
        _check_operator_values(values, "NotIn")
        self.values = list(values)


class Exists:
    """The node has the label."""


class DoesNotExist:
    """The node lacks the label."""


LabelOperator = Union[In, NotIn, Exists, DoesNotExist]  # noqa: UP007 (a runtime alias)


class _LabelMatchExpression:
    """One condition on a node's labels: ``key`` and its operator."""

    def __init__(self, key: str, operator: LabelOperator) -> None:
        self.key = key
        self.operator = operator


def _expressions(expressions: dict[str, LabelOperator] | None,
                 param: str) -> list[_LabelMatchExpression]:
    if expressions is None:
        return []
    if not isinstance(expressions, dict):
        raise ValueError(f'The {param} parameter must be a map (e.g. {{"key1": In("value1")}}) '
                         f"but got type {type(expressions)}.")
    out = []
    for key, operator in expressions.items():
        if not isinstance(key, str):
            raise ValueError(f"The map key of the {param} parameter must be of type str (e.g. "
                             f'{{"key1": In("value1")}}) but got {key} of type {type(key)}.')
        if not isinstance(operator, (In, NotIn, Exists, DoesNotExist)):
            raise ValueError(f"The map value for key {key} of the {param} parameter must be "
                             "one of the `In`, `NotIn`, `Exists` or `DoesNotExist` operator "
                             f'(e.g. {{"key1": In("value1")}}) but got {operator} of type '
                             f"{type(operator)}.")
        out.append(_LabelMatchExpression(key, operator))
    return out


class NodeLabelSchedulingStrategy:
    """Run on a node whose labels satisfy every ``hard`` condition (preferring ones that also
    satisfy ``soft`` and have the resources free), e.g.
    ``NodeLabelSchedulingStrategy({"region": In("us")})``. With no such node it waits, pending,
    until one joins."""

    def __init__(self, hard: dict[str, LabelOperator] | None, *,
                 soft: dict[str, LabelOperator] | None = None) -> None:
        self.hard = _expressions(hard, "hard")
        self.soft = _expressions(soft, "soft")
        if not (self.hard or self.soft):
            raise ValueError("The `hard` and `soft` parameter of NodeLabelSchedulingStrategy "
                             "cannot both be empty.")
