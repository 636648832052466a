"""What a worker sends a task process cheaply: a task whose call names no user class goes
with the C pickler; a large array put by a task process is kept without being pickled again
to check it."""
from __future__ import annotations

import pickle

import numpy as np

from raylike._api import serialization as _serialization
from raylike._api.tasks import TaskCall
from raylike.util.scheduling_strategies import NodeAffinitySchedulingStrategy


class _UserError(Exception):
    pass


def _call(**fields: object) -> TaskCall:
    return TaskCall(key="f-1", name="f", fn=b"fn", args=b"args", **fields)  # type: ignore[arg-type]


def test_a_call_naming_no_user_class_is_plain_and_pickles_with_the_c_pickler() -> None:
    call = _call(retry_exceptions=True, strategy="DEFAULT")
    assert call.plain
    assert pickle.loads(pickle.dumps(call, protocol=5)) == call
    assert _call(strategy=NodeAffinitySchedulingStrategy("ab" * 28, soft=True)).plain


def test_a_call_with_user_exception_classes_or_a_fallback_strategy_is_not_plain() -> None:
    assert not _call(retry_exceptions=(_UserError,)).plain
    assert not _call(fallback_strategy=[{"label_selector": {"a": "b"}}]).plain


def test_arrays_and_scalars_are_kept_without_a_second_pickle(monkeypatch) -> None:
    pickled: list[object] = []
    dumps = _serialization.cloudpickle.dumps

    def counting(value: object, *args: object, **kwargs: object) -> bytes:
        pickled.append(value)
        return dumps(value, *args, **kwargs)

    array = np.arange(10.0)
    frames = _serialization.dumps_frames(array)
    monkeypatch.setattr(_serialization.cloudpickle, "dumps", counting)
    assert np.array_equal(_serialization.loads_to_keep(frames), array)
    assert _serialization.loads_to_keep(_serialization.Frames(pickle.dumps(7), [])) == 7
    assert pickled == []
    boxed = _serialization.Frames(pickle.dumps(np.array([None], dtype=object)), [])
    _serialization.loads_to_keep(boxed)  # an array of Python objects is still checked
    assert len(pickled) == 1
