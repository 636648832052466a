"""Dropped refs release their Dask futures together, a moment later (``_ref_counts._Releases``)."""
from __future__ import annotations

import gc
import time
import weakref

import pytest

from raylike._api.ref_counts import _Releases

pytestmark = pytest.mark.timeout(30)


class Held:
    pass


def test_what_is_added_is_dropped_together_a_moment_later() -> None:
    releases = _Releases()
    unheld = Held()
    gone_at_once = weakref.ref(unheld)
    releases.add(("key", unheld, False))  # not started (no init yet): nothing is held
    del unheld
    assert gone_at_once() is None
    releases.start()
    items = [Held() for _ in range(100)]
    alive = [weakref.ref(item) for item in items]
    for item in items:
        releases.add(("key", item, False))  # (key, future, watched until done)
    del items, item
    gc.collect()
    assert all(ref() is not None for ref in alive)  # held for the moment
    deadline = time.monotonic() + 5
    while any(ref() is not None for ref in alive):
        assert time.monotonic() < deadline
        time.sleep(0.01)
    later = Held()
    gone = weakref.ref(later)
    releases.add(("key", later, False))  # the thread goes on serving later drops
    del later
    while gone() is not None:
        assert time.monotonic() < deadline
        time.sleep(0.01)
