"""raylike's RAYLIKE_* settings: one table, read when used."""
from __future__ import annotations

import pathlib
import re

import pytest

from raylike._api import config as _config


def test_every_raylike_variable_in_the_code_is_in_the_table():
    root = pathlib.Path(_config.__file__).parent
    used = set()
    for path in root.rglob("*.py"):
        used.update(re.findall(r"RAYLIKE_[A-Z_]+", path.read_text()))
    assert used <= {s.env for s in _config.SETTINGS.values()}
    assert all(s.doc for s in _config.SETTINGS.values())


def test_settings_are_read_when_used(monkeypatch):
    monkeypatch.setenv("RAYLIKE_BATCH_INTERVAL_MS", "7")
    assert _config.batch_interval() == pytest.approx(0.007)
    monkeypatch.setenv("RAYLIKE_LANE", "0")
    assert _config.flag("lane") is False
    monkeypatch.delenv("RAYLIKE_LANE")
    assert _config.flag("lane") is True


def test_a_bad_number_names_its_variable(monkeypatch):
    monkeypatch.setenv("RAYLIKE_ACTOR_PREFETCH", "lots")
    with pytest.raises(ValueError, match="RAYLIKE_ACTOR_PREFETCH='lots'"):
        _config.number("actor_prefetch")


def test_the_readme_lists_every_setting():
    readme = (pathlib.Path(__file__).parents[2] / "README.md").read_text()
    for setting in _config.SETTINGS.values():
        assert f"| `{setting.env}` |" in readme, setting.env
