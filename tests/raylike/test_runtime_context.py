"""raylike's side of the runtime context: accelerator types, tqdm_ray lines in the driver."""
from __future__ import annotations

import os
import sys
import time
import warnings

import pytest

import raylike as ray
from raylike._api import options as _options
from raylike._api.resources import accelerator_type_of
from raylike.exceptions import RaylikeUnsupportedWarning
from raylike.experimental import tqdm_ray


@pytest.mark.parametrize("name, kind", [
    ("Tesla V100-SXM2-16GB", "V100"), ("NVIDIA A100-SXM4-80GB", "A100"),
    ("NVIDIA H100 80GB HBM3", "H100"), ("Tesla T4", "T4"),
    ("NVIDIA RTX PRO 6000 Blackwell Server Edition", "RTX-PRO-6000"),
    ("NVIDIA GeForce RTX 5090", "GeForce-RTX-5090")])
def test_gpu_names_map_to_rays_accelerator_types(name: str, kind: str) -> None:
    assert accelerator_type_of(name) == kind


@pytest.mark.timeout(120)
def test_accelerator_type_is_a_resource_where_nodes_declare_types() -> None:
    ray.init(num_cpus=1, include_dashboard=False, resources={"accelerator_type:V100": 1})
    try:
        @ray.remote(accelerator_type="V100")
        def held() -> dict[str, float]:
            return ray.get_runtime_context().get_assigned_resources()

        assert ray.get(held.remote(), timeout=60)["accelerator_type:V100"] == pytest.approx(0.001)
    finally:
        ray.shutdown()


@pytest.mark.timeout(120)
def test_accelerator_type_without_typed_nodes_warns_and_runs() -> None:
    ray.init(num_cpus=1, include_dashboard=False)
    try:
        @ray.remote
        def f() -> int:
            return 1

        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            ref = f.options(accelerator_type="A100").remote()
        assert ray.get(ref, timeout=60) == 1
        # warned once per process: here, or by an earlier test
        assert (any(issubclass(w.category, RaylikeUnsupportedWarning) for w in caught)
                or "accelerator_type" in _options._warned)
    finally:
        ray.shutdown()


@pytest.mark.timeout(120)
def test_tqdm_ray_bars_without_tqdm_are_lines_of_the_driver(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the ``tqdm`` package (Ray then shows no bars) the driver draws a worker's bar
    as a line of text per change; the state lines the worker printed are not shown."""
    monkeypatch.setitem(sys.modules, "tqdm", None)  # import tqdm now raises ImportError
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    tqdm_ray.instance().bar_groups.clear()  # bars earlier tests left open (not closed)
    ray.init(num_cpus=1, include_dashboard=False)
    try:
        @ray.remote
        def work() -> int:
            bar = tqdm_ray.tqdm(total=4, desc="steps")
            for _ in range(4):
                bar.update(1)
            bar.close()
            return bar.n

        assert ray.get(work.remote(), timeout=60) == 4
        deadline = time.monotonic() + 30
        out = ""
        while "steps: 100%" not in out and time.monotonic() < deadline:
            time.sleep(0.05)
            out += capsys.readouterr().out
        assert "steps: 100%" in out and "4/4 [it]" in out
        assert tqdm_ray.RAY_TQDM_MAGIC not in out
        # the driver's manager took the bar's states (its group, then closed: gone)
        manager = tqdm_ray.instance()
        assert manager.bar_groups and all(not g.bars_by_uuid
                                          for g in manager.bar_groups.values())
        local = tqdm_ray.tqdm(desc="here", total=3, flush_interval_s=0)
        local.update(2)
        mine = [g for g in manager.bar_groups.values() if g.pid == os.getpid()]
        assert [b.bar.n for g in mine for b in g.bars_by_uuid.values()] == [2]
        local.close()
        assert not any(g.bars_by_uuid for g in mine)
    finally:
        ray.shutdown()
