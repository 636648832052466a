"""``ray.util.metrics``: application metrics (``Counter``, ``Gauge``, ``Histogram``).

Recording is local and cheap: each process aggregates its values and sends them in the
background to the Dask scheduler, which keeps the cluster's totals and exports them on its
Prometheus endpoint (``/metrics`` on the scheduler's HTTP address, with ``prometheus_client``
installed) under Ray's names (``ray_<name>``). See ``raylike._api.metrics``.

Differences from Ray: the exported series carry the metric's own tag keys only (Ray adds the
recording process's ``WorkerId``, ``Component``, ``SessionName``, ...; raylike sums counters
and histograms over the processes, and a gauge keeps the latest value any process set); tags
not in ``tag_keys`` are accepted and not exported; values reach ``/metrics`` within about a
second (Ray: its report interval, 10 s by default).
"""
from __future__ import annotations

import bisect
import re
import time
import warnings
from collections.abc import Sequence
from typing import Any

from raylike._api import metrics as _metrics

__all__ = ["Counter", "Gauge", "Histogram"]

# Prometheus' metric name syntax: a name that does not match is warned about and discarded
_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")


def _discarded(name: str) -> bool:
    """Check ``name``: empty is an error, an invalid one is warned about and discarded."""
    if not isinstance(name, str):
        raise TypeError(f"Metric name must be str, got {type(name)}.")
    if not name:
        raise ValueError("Empty name is not allowed. Please provide a metric name.")
    if _NAME.fullmatch(name) is None:
        warnings.warn(f"Invalid metric name: {name}. Metric will be discarded and data will "
                      "not be collected or published. Metric names can only contain letters, "
                      "numbers, _, and :. Metric names cannot start with numbers.",
                      UserWarning, stacklevel=4)
        return True
    return False


def _check_number(value: Any) -> None:
    if not isinstance(value, (int, float)):
        raise TypeError(f"value must be int or float, got {type(value)}.")


class Metric:
    """What every metric has: a name, a description, tag keys and default tags."""

    _kind = ""

    def __init__(self, name: str, description: str = "",
                 tag_keys: tuple[str, ...] | None = None) -> None:
        self._discard_metric = _discarded(name)
        if not isinstance(description, str):
            raise TypeError(f"description must be str, got {type(description)}.")
        self._name = name
        self._description = description
        self._default_tags: dict[str, str] = {}
        self._tag_keys = tag_keys or ()
        if not isinstance(self._tag_keys, tuple):
            raise TypeError(f"tag_keys should be a tuple type, got: {type(self._tag_keys)}")
        for key in self._tag_keys:
            if not isinstance(key, str):
                raise TypeError(f"Tag keys must be str, got {type(key)}.")
        if ":" in name:
            warnings.warn(f"Metric name {name} contains a : character, which is no longer "
                          "allowed. Please migrate to the new metric name format. This will "
                          "be an error in the future.", FutureWarning, stacklevel=3)
        self._definition: _metrics.Definition = (self._kind, description, self._tag_keys, ())

    def set_default_tags(self, default_tags: dict[str, str]) -> Metric:
        """Use ``default_tags`` for the tag keys a recording does not give; returns the metric
        itself."""
        for key, value in default_tags.items():
            if key not in self._tag_keys:
                raise ValueError(f"Unrecognized tag key {key}.")
            if not isinstance(value, str):
                raise TypeError(f"Tag values must be str, got {type(value)}.")
        self._default_tags = default_tags
        return self

    def _labels(self, tags: dict[str, str] | None) -> _metrics.Labels:
        """The values of the tag keys: ``tags`` over the default tags, every key given."""
        final = self._default_tags
        if tags:
            for value in tags.values():
                if not isinstance(value, str):
                    raise TypeError(f"Tag values must be str, got {type(value)}.")
            final = {**self._default_tags, **tags}
        missing = [key for key in self._tag_keys if key not in final]
        if missing:
            raise ValueError(f"Missing value for tag key(s): {','.join(missing)}.")
        return tuple(final[key] for key in self._tag_keys)

    def _record(self, value: Any, tags: dict[str, str] | None) -> None:
        if self._discard_metric:
            return
        _metrics.record(self._name, self._definition, self._labels(tags), value)

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        # a copy (sent to a task or an actor) has no default tags, as in Ray
        return type(self), (self._name, self._description, self._tag_keys)

    @property
    def info(self) -> dict[str, Any]:
        """The metric's name, description, tag keys and default tags."""
        return {"name": self._name, "description": self._description,
                "tag_keys": self._tag_keys, "default_tags": self._default_tags}


class Counter(Metric):
    """A value that only goes up (Prometheus' counter, exported as ``ray_<name>_total``).

    Args:
        name: Name of the metric.
        description: Description of the metric.
        tag_keys: Tag keys of the metric.
    """

    _kind = _metrics.COUNTER

    def inc(self, value: int | float = 1.0, tags: dict[str, str] | None = None) -> None:
        """Add ``value`` (> 0, default 1) to the counter; ``tags`` override the defaults."""
        _check_number(value)
        if value <= 0:
            raise ValueError(f"value must be >0, got {value}")
        self._record(float(value), tags)


class Gauge(Metric):
    """A value that goes up and down: the last one set is kept (Prometheus' gauge).

    Args:
        name: Name of the metric.
        description: Description of the metric.
        tag_keys: Tag keys of the metric.
    """

    _kind = _metrics.GAUGE

    def set(self, value: int | float | None, tags: dict[str, str] | None = None) -> None:
        """Set the gauge to ``value`` (None does nothing); ``tags`` override the defaults."""
        if value is None:
            return
        _check_number(value)
        self._record((float(value), time.time()), tags)


class Histogram(Metric):
    """Counts of observed values per bucket, their sum and count (Prometheus' histogram).

    Args:
        name: Name of the metric.
        description: Description of the metric.
        boundaries: Upper bounds of the buckets (positive); a last bucket takes the rest.
        tag_keys: Tag keys of the metric.
    """

    _kind = _metrics.HISTOGRAM

    def __init__(self, name: str, description: str = "",
                 boundaries: Sequence[float] | None = None,
                 tag_keys: tuple[str, ...] | None = None) -> None:
        super().__init__(name, description, tag_keys)
        if boundaries is None or len(boundaries) == 0:
            raise ValueError('boundaries argument should be provided when using the Histogram '
                             'class. e.g., Histogram("name", boundaries=[1.0, 2.0])')
        for i, bound in enumerate(boundaries):
            if not isinstance(bound, (int, float)):
                raise TypeError(f"Invalid `boundaries` argument at index {i}, {boundaries}: "
                                f"boundaries must be numbers, got {type(bound)}.")
            if bound <= 0:
                raise ValueError(f"Invalid `boundaries` argument at index {i}, {boundaries}. "
                                 "Use positive values for the arguments.")
        self.boundaries = boundaries
        self._bounds = tuple(sorted({float(b) for b in boundaries}))
        self._definition = (self._kind, self._definition[1], self._tag_keys, self._bounds)

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        return Histogram, (self._name, self._description, self.boundaries, self._tag_keys)

    def observe(self, value: int | float, tags: dict[str, str] | None = None) -> None:
        """Count ``value`` in its bucket; ``tags`` override the defaults."""
        _check_number(value)
        counts = [0] * (len(self._bounds) + 1)
        counts[bisect.bisect_left(self._bounds, value)] = 1
        self._record((counts, float(value), 1), tags)

    @property
    def info(self) -> dict[str, Any]:
        """The metric's name, description, tag keys, default tags and boundaries."""
        info = super().info
        info["boundaries"] = self.boundaries
        return info
