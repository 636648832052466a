"""``ray.util.metrics`` (``Counter``, ``Gauge``, ``Histogram``) and ``ray.util.debug``: the API
and its checks, in the driver, a task and an actor. What reaches an exporter is not tested here
(Ray's and raylike's exporters differ: see ``tests/raylike/test_metrics_export.py``)."""
from __future__ import annotations

import importlib
import pickle
import subprocess
import sys
import warnings

import pytest


def _metrics(ray):
    return importlib.import_module(ray.__name__ + ".util.metrics")


@pytest.fixture
def metrics(ray_module):
    return _metrics(ray_module)


# ----------------------------------------------------------------------------------------------
# Construction and info
# ----------------------------------------------------------------------------------------------


def test_info_of_each_kind(metrics):
    counter = metrics.Counter("m_requests", description="served", tag_keys=("route",))
    assert counter.info == {"name": "m_requests", "description": "served",
                            "tag_keys": ("route",), "default_tags": {}}
    gauge = metrics.Gauge("m_level")
    assert gauge.info == {"name": "m_level", "description": "", "tag_keys": (),
                          "default_tags": {}}
    histogram = metrics.Histogram("m_latency", "ms", boundaries=[0.1, 1, 10],
                                  tag_keys=("a", "b"))
    assert histogram.info == {"name": "m_latency", "description": "ms", "tag_keys": ("a", "b"),
                              "default_tags": {}, "boundaries": [0.1, 1, 10]}
    assert histogram.boundaries == [0.1, 1, 10]


def test_set_default_tags_returns_the_metric_and_shows_in_info(metrics):
    counter = metrics.Counter("m_defaults", tag_keys=("a", "b"))
    assert counter.set_default_tags({"a": "1"}) is counter
    assert counter.info["default_tags"] == {"a": "1"}
    counter.inc(tags={"b": "2"})  # a from the defaults, b given
    counter.set_default_tags({"a": "x", "b": "y"})
    counter.inc(5)
    counter.inc(1.5, tags={"a": "override"})


def test_set_default_tags_checks_keys_and_values(metrics):
    counter = metrics.Counter("m_default_checks", tag_keys=("a",))
    with pytest.raises(ValueError, match="Unrecognized tag key b"):
        counter.set_default_tags({"b": "x"})
    with pytest.raises(TypeError, match="Tag values must be str"):
        counter.set_default_tags({"a": 1})
    assert counter.info["default_tags"] == {}


def test_empty_name_is_refused(metrics):
    for cls in (metrics.Counter, metrics.Gauge):
        with pytest.raises(ValueError, match="Empty name is not allowed"):
            cls("")
    with pytest.raises(ValueError, match="Empty name is not allowed"):
        metrics.Histogram("", boundaries=[1])


def test_tag_keys_must_be_a_tuple_of_str(metrics):
    with pytest.raises(TypeError, match="tag_keys should be a tuple type"):
        metrics.Counter("m_list_keys", tag_keys=["a"])
    with pytest.raises(TypeError, match="Tag keys must be str"):
        metrics.Gauge("m_int_keys", tag_keys=("a", 1))


def test_invalid_name_warns_and_discards_the_metric(metrics):
    with pytest.warns(UserWarning, match="Invalid metric name: 1st-metric"):
        counter = metrics.Counter("1st-metric", tag_keys=("a",))
    # discarded: recording does nothing, not even checking the tags
    counter.inc(1)
    counter.inc(2, tags={"a": 3})
    # the value itself is still checked
    with pytest.raises(ValueError, match="value must be >0"):
        counter.inc(0)


def test_colon_in_name_warns_of_the_future(metrics):
    with pytest.warns(FutureWarning, match="contains a : character"):
        gauge = metrics.Gauge("m:colon")
    gauge.set(1)


def test_valid_name_does_not_warn(metrics):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        metrics.Counter("m_ok_Name_2", tag_keys=("x",)).inc(tags={"x": "y"})


# ----------------------------------------------------------------------------------------------
# Recording
# ----------------------------------------------------------------------------------------------


def test_counter_value_checks(metrics):
    counter = metrics.Counter("m_counter_values")
    counter.inc()
    counter.inc(3)
    counter.inc(0.25)
    for bad in (0, -1, -0.5):
        with pytest.raises(ValueError, match="value must be >0"):
            counter.inc(bad)
    for bad in ("1", None, [1]):
        with pytest.raises(TypeError, match="value must be int or float"):
            counter.inc(bad)


def test_missing_tags_are_refused(metrics):
    counter = metrics.Counter("m_missing", tag_keys=("a", "b"))
    with pytest.raises(ValueError, match="Missing value for tag key"):
        counter.inc(1)
    with pytest.raises(ValueError, match="Missing value for tag key\\(s\\): b"):
        counter.inc(1, tags={"a": "x"})
    gauge = metrics.Gauge("m_missing_gauge", tag_keys=("a",))
    with pytest.raises(ValueError, match="Missing value for tag key\\(s\\): a"):
        gauge.set(1)
    histogram = metrics.Histogram("m_missing_hist", boundaries=[1], tag_keys=("a",))
    with pytest.raises(ValueError, match="Missing value for tag key\\(s\\): a"):
        histogram.observe(1)


def test_tag_values_must_be_str(metrics):
    gauge = metrics.Gauge("m_tag_values", tag_keys=("a",))
    with pytest.raises(TypeError, match="Tag values must be str"):
        gauge.set(1, tags={"a": 1})
    gauge.set(1, tags={"a": "1"})


def test_gauge_set(metrics):
    gauge = metrics.Gauge("m_gauge_set", tag_keys=("a",)).set_default_tags({"a": "x"})
    gauge.set(-3.5)
    gauge.set(0)
    gauge.set(10**6)
    gauge.set(None)  # no-op, even without its tags
    metrics.Gauge("m_gauge_none", tag_keys=("a",)).set(None)
    with pytest.raises(TypeError, match="value must be int or float"):
        gauge.set("7")


def test_histogram_boundaries_checks(metrics):
    with pytest.raises(ValueError, match="boundaries argument should be provided"):
        metrics.Histogram("m_no_bounds")
    with pytest.raises(ValueError, match="boundaries argument should be provided"):
        metrics.Histogram("m_empty_bounds", boundaries=[])
    with pytest.raises(ValueError, match="Invalid `boundaries` argument at index 1"):
        metrics.Histogram("m_zero_bound", boundaries=[1, 0])
    with pytest.raises(ValueError, match="Use positive values"):
        metrics.Histogram("m_neg_bound", boundaries=[-1.0])


def test_histogram_observe(metrics):
    histogram = metrics.Histogram("m_observe", boundaries=[1.0, 5, 10])
    for value in (0.5, 1, 3, 7, 100, -2, 0):
        histogram.observe(value)
    with pytest.raises(TypeError, match="value must be int or float"):
        histogram.observe("3")


def test_pickled_metric_keeps_its_definition_not_its_default_tags(metrics):
    counter = metrics.Counter("m_pickled", "d", tag_keys=("a",)).set_default_tags({"a": "z"})
    copy = pickle.loads(pickle.dumps(counter))
    assert type(copy) is metrics.Counter
    assert copy.info == {"name": "m_pickled", "description": "d", "tag_keys": ("a",),
                         "default_tags": {}}
    histogram = pickle.loads(pickle.dumps(metrics.Histogram("m_pickled_h", boundaries=[2, 4])))
    assert histogram.info["boundaries"] == [2, 4]
    gauge = pickle.loads(pickle.dumps(metrics.Gauge("m_pickled_g", tag_keys=("k",))))
    assert gauge.info["tag_keys"] == ("k",)


def test_metrics_in_a_task_and_an_actor(ray_shared):
    ray = ray_shared
    metrics = _metrics(ray)
    counter = metrics.Counter("m_remote_count", tag_keys=("where",))

    @ray.remote
    def work(n):
        # a metric travels as its definition; each process records its own values
        for _ in range(n):
            counter.inc(tags={"where": "task"})
        hist = metrics.Histogram("m_remote_hist", boundaries=[1, 2], tag_keys=("where",))
        hist.observe(n, tags={"where": "task"})
        try:
            counter.inc(tags={})
        except ValueError as exc:
            return str(exc)
        return None

    @ray.remote
    class Tracker:
        def __init__(self):
            self.gauge = metrics.Gauge("m_remote_gauge", tag_keys=("where",))
            self.gauge.set_default_tags({"where": "actor"})

        def set(self, value):
            self.gauge.set(value)
            return self.gauge.info["default_tags"]

    assert ray.get([work.remote(n) for n in (1, 3)]) == ["Missing value for tag key(s): where."] * 2
    tracker = Tracker.remote()
    assert ray.get(tracker.set.remote(2.5)) == {"where": "actor"}
    counter.inc(tags={"where": "driver"})


# ----------------------------------------------------------------------------------------------
# ray.util.debug
# ----------------------------------------------------------------------------------------------


def test_log_once_is_true_once_per_key(ray_module):
    debug = importlib.import_module(ray_module.__name__ + ".util.debug")
    assert debug.log_once("compat-log-once-a") is True
    assert debug.log_once("compat-log-once-a") is False
    assert debug.log_once("compat-log-once-b") is True
    assert importlib.import_module(ray_module.__name__ + ".util").log_once is debug.log_once


def _run(ray_module, code: str) -> str:
    """``code`` in a fresh interpreter (the switches are for the whole process, for good)."""
    prelude = f"import time\nfrom {ray_module.__name__}.util import debug\n"
    done = subprocess.run([sys.executable, "-c", prelude + code], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def test_disable_log_once_globally(ray_module):
    out = _run(ray_module, "print(debug.log_once('a'))\n"
                           "debug.disable_log_once_globally()\n"
                           "print(debug.log_once('a'), debug.log_once('b'))\n")
    assert out == ["True", "False", "False"]


def test_enable_periodic_logging_forgets_keys_after_a_minute(ray_module):
    out = _run(ray_module, "debug.enable_periodic_logging()\n"
                           "print(debug.log_once('a'), debug.log_once('a'))\n"
                           "now = time.time()\n"
                           "time.time = lambda: now + 61\n"
                           # the call that finds the minute passed forgets every key
                           "print(debug.log_once('a'), debug.log_once('a'))\n")
    assert out == ["True", "False", "False", "True"]


def test_reset_log_once(ray_module):
    debug = importlib.import_module(ray_module.__name__ + ".util.debug")
    assert debug.log_once("compat-reset-a") is True
    debug.reset_log_once("compat-reset-a")
    assert debug.log_once("compat-reset-a") is True
    assert debug.log_once("compat-reset-a") is False
