"""raylike's public surface: ``__all__``, a side-effect-free import, the exception list."""
from __future__ import annotations

import importlib.metadata
import inspect
import json
import subprocess
import sys

import pytest

import raylike
import raylike.exceptions


def test_all_is_sorted_and_unique() -> None:
    assert raylike.__all__ == sorted(raylike.__all__)
    assert len(set(raylike.__all__)) == len(raylike.__all__)


def test_every_name_in_all_exists() -> None:
    missing = [name for name in raylike.__all__ if not hasattr(raylike, name)]
    assert missing == []


def test_core_api_is_exported() -> None:
    for name in ("init", "shutdown", "is_initialized", "remote", "get", "put", "wait",
                 "cancel", "ObjectRef", "get_runtime_context", "cluster_resources",
                 "available_resources", "nodes", "exceptions"):
        assert name in raylike.__all__
    constants = {"AUTO_INIT_APIS", "NON_AUTO_INIT_APIS", "SCRIPT_MODE", "WORKER_MODE",
                 "SPILL_WORKER_MODE", "RESTORE_WORKER_MODE", "logger", "ray_constants",
                 "serialization", "state", "worker"}  # Ray's constants and deprecated aliases
    not_callable = [n for n in raylike.__all__ if not inspect.ismodule(getattr(raylike, n))
                    and not callable(getattr(raylike, n)) and n not in constants]
    assert not_callable == []
    assert raylike.exceptions is sys.modules["raylike.exceptions"]


@pytest.mark.timeout(60)
def test_import_has_no_side_effects() -> None:
    code = (
        "import json, os, threading, psutil\n"
        "env = dict(os.environ)\n"
        "threads = threading.active_count()\n"
        "import raylike\n"
        "import raylike.exceptions\n"
        "print(json.dumps({'children': len(psutil.Process().children(recursive=True)),\n"
        "                  'env_same': dict(os.environ) == env,\n"
        "                  'new_threads': threading.active_count() - threads,\n"
        "                  'initialized': raylike.is_initialized()}))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == {
        "children": 0, "env_same": True, "new_threads": 0, "initialized": False}


def test_import_does_not_start_a_cluster_in_this_process() -> None:
    assert not raylike.is_initialized()
    with pytest.raises(raylike.exceptions.RaySystemError, match="ray.init"):
        raylike.cluster_resources()  # as in Ray, state queries do not auto-init
    assert not raylike.is_initialized()


def _exception_classes() -> set[str]:
    module = raylike.exceptions
    return {name for name, obj in vars(module).items()
            if inspect.isclass(obj) and issubclass(obj, BaseException)
            and obj.__module__ == module.__name__}


def test_exceptions_all_lists_every_exception_class() -> None:
    """``__all__`` is Ray's list; raylike's own extras are listed apart."""
    listed = raylike.exceptions.__all__
    assert set(listed) == _exception_classes() - set(raylike.exceptions.RAYLIKE_EXTRAS)
    assert listed == sorted(listed)
    assert len(set(listed)) == len(listed)


def test_raylikes_own_errors_are_importable_and_subclass_what_ray_raises() -> None:
    from raylike.exceptions import (
        DefaultResourceError,
        RaylikeUnsupportedWarning,
        RemoteArgumentsError,
        SerializationError,
        UnknownInitArgument,
    )

    assert issubclass(RaylikeUnsupportedWarning, UserWarning)
    assert issubclass(UnknownInitArgument, RuntimeError)
    assert issubclass(SerializationError, TypeError)
    assert issubclass(DefaultResourceError, AssertionError)
    assert issubclass(RemoteArgumentsError, AssertionError)
    with pytest.raises(UnknownInitArgument):
        raylike.init(no_such_argument=1)
    assert not raylike.is_initialized()


def test_every_exception_is_a_ray_error() -> None:
    base = raylike.exceptions.RayError
    assert all(issubclass(getattr(raylike.exceptions, n), base)
               for n in raylike.exceptions.__all__)


def test_console_script_entry_point_resolves() -> None:
    """setup.cfg declares ``raylike = raylike._dask.cluster.cli:main``: the installed command must
    load."""
    scripts = [ep for ep in importlib.metadata.entry_points(group="console_scripts")
               if ep.name == "raylike"]
    assert scripts, "the raylike console script is not installed"
    assert callable(scripts[0].load())


@pytest.mark.parametrize("name", ["raylike.util", "raylike.util.multiprocessing",
                                  "raylike.util.dask"])
def test_util_modules_all(name: str) -> None:
    module = importlib.import_module(name)
    assert module.__all__ == sorted(module.__all__)
    assert [n for n in module.__all__ if not hasattr(module, n)] == []
    assert not raylike.is_initialized()  # importing them starts nothing
