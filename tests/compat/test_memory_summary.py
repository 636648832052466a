"""Ray's memory report (``ray._private.internal_api.memory_summary``, what ``ray memory``
prints): one row per object reference a process holds, with its reference type, found by the
object's id. Ray API only; the cluster is shared, so each check looks at its own objects'
rows."""
from __future__ import annotations

import importlib
from typing import Any

import numpy as np
import pytest

BIG = 200_000  # float64 items: 1.6 MB, above Ray's 100 KiB limit of objects kept in-process


def _summary(ray: Any) -> str:
    internal_api = importlib.import_module(f"{ray.__name__}._private.internal_api")
    address = ray.get_runtime_context().gcs_address
    return str(internal_api.memory_summary(address, line_wrap=False))


def _rows(info: str, object_hex: str) -> list[str]:
    return [line for line in info.splitlines() if object_hex in line]


def test_a_put_is_listed_until_its_ref_is_dropped(ray_shared: Any) -> None:
    ray = ray_shared
    ref = ray.put("memory-summary-put")
    object_hex = ref.hex()
    [row] = _rows(_summary(ray), object_hex)
    assert "LOCAL_REFERENCE" in row and "Driver" in row
    del ref
    assert _rows(_summary(ray), object_hex) == []


def test_objects_held_by_a_put_object_are_captured_in_it(ray_shared: Any) -> None:
    ray = ray_shared
    inner = ray.put(np.zeros(BIG))
    outer = ray.put([inner])
    inner_hex, outer_hex = inner.hex(), outer.hex()
    del inner
    info = _summary(ray)
    assert ["CAPTURED_IN_OBJECT" in row for row in _rows(info, inner_hex)] == [True]
    assert ["LOCAL_REFERENCE" in row for row in _rows(info, outer_hex)] == [True]
    del outer
    assert _rows(_summary(ray), inner_hex) == []


def test_a_value_read_zero_copy_pins_its_object(ray_shared: Any) -> None:
    ray = ray_shared
    ref = ray.put(np.zeros(BIG))
    object_hex = ref.hex()
    value = ray.get(ref)
    assert ["PINNED_IN_MEMORY" in row for row in _rows(_summary(ray), object_hex)] == [True]
    del ref
    assert ["PINNED_IN_MEMORY" in row for row in _rows(_summary(ray), object_hex)] == [True]
    del value
    assert _rows(_summary(ray), object_hex) == []


def test_a_task_sees_its_own_references(ray_shared: Any) -> None:
    ray = ray_shared

    name = ray.__name__  # the task refers to no function of this module (not importable)

    @ray.remote
    def puts_and_reports() -> tuple[str, str]:
        internal_api = importlib.import_module(f"{name}._private.internal_api")
        ref = ray.put("memory-summary-task")
        address = ray.get_runtime_context().gcs_address
        return ref.hex(), internal_api.memory_summary(address, line_wrap=False)

    object_hex, info = ray.get(puts_and_reports.remote())
    [row] = _rows(info, object_hex)
    assert "LOCAL_REFERENCE" in row and "Worker" in row
    assert _rows(_summary(ray), object_hex) == []


def test_stats_only_and_grouping(ray_shared: Any) -> None:
    ray = ray_shared
    internal_api = importlib.import_module(f"{ray.__name__}._private.internal_api")
    address = ray.get_runtime_context().gcs_address
    stats = internal_api.memory_summary(address, stats_only=True)
    assert "Plasma memory usage" in stats and "Object references" not in stats
    ref = ray.put("memory-summary-grouped")
    by_site = internal_api.memory_summary(address, group_by="STACK_TRACE",
                                          sort_by="REFERENCE_TYPE", line_wrap=False)
    assert "Grouping by stack trace" in by_site and "Sorting by reference type" in by_site
    assert len(_rows(by_site, ref.hex())) == 1
    with pytest.raises(Exception):  # noqa: B017 - Ray raises a bare Exception
        internal_api.memory_summary(address, group_by="NOT_A_GROUPING")
