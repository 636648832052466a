"""Runtime environments: ``env_vars`` at the job, task and actor level, how they merge and are
inherited by nested tasks, the job's ``working_dir`` and ``py_modules``, what the runtime
context reports, and Ray's validation errors. (``pip`` needs a package index or a wheel:
``tests/raylike/test_runtime_env_pip.py``.)
"""
from __future__ import annotations

import json
import os

import pytest


# -- task and actor level (a shared cluster without a job environment) -----------------------
def test_task_env_vars_decorator_and_options(ray_shared):
    ray = ray_shared

    @ray.remote(runtime_env={"env_vars": {"RL_FOO": "bar"}})
    def f():
        return os.environ.get("RL_FOO")

    assert ray.get(f.remote()) == "bar"
    assert ray.get(f.options(runtime_env={"env_vars": {"RL_FOO": "new"}}).remote()) == "new"


def test_actor_env_vars(ray_shared):
    ray = ray_shared

    @ray.remote(runtime_env={"env_vars": {"RL_FOO": "actor"}})
    class A:
        def get(self, name):
            return os.environ.get(name)

    a = A.remote()
    assert ray.get(a.get.remote("RL_FOO")) == "actor"
    b = A.options(runtime_env={"env_vars": {"RL_FOO": "other", "RL_BAR": "x"}}).remote()
    assert ray.get([b.get.remote("RL_FOO"), b.get.remote("RL_BAR")]) == ["other", "x"]
    assert ray.get(a.get.remote("RL_BAR")) is None


def test_env_vars_refer_to_the_process_environment(ray_shared):
    # Ray expands ${X} (and $X) in an env_vars value with the worker's X; one not set is empty
    ray = ray_shared

    @ray.remote
    def read():
        return os.environ["PATH"], os.environ.get("RL_UNSET_REF")

    base_path, _ = ray.get(read.remote(), timeout=60)
    env = {"env_vars": {"PATH": "/opt/rl-extra:${PATH}",
                        "RL_UNSET_REF": "a${RL_NOT_SET_ANYWHERE}b"}}
    path, unset = ray.get(read.options(runtime_env=env).remote(), timeout=60)
    assert path == "/opt/rl-extra:" + base_path
    assert unset == "ab"


def test_plain_tasks_never_see_another_tasks_env(ray_shared):
    ray = ray_shared

    @ray.remote
    def read():
        return os.environ.get("RL_ONLY_HERE")

    with_env = read.options(runtime_env={"env_vars": {"RL_ONLY_HERE": "1"}})
    for _ in range(3):
        assert ray.get(with_env.remote()) == "1"
        assert ray.get([read.remote() for _ in range(4)]) == [None] * 4


def test_nested_tasks_inherit_and_merge(ray_shared):
    ray = ray_shared

    @ray.remote
    def inner():
        return os.environ.get("RL_A"), os.environ.get("RL_B")

    @ray.remote
    def outer():
        plain = ray.get(inner.remote())
        merged = ray.get(inner.options(runtime_env={"env_vars": {"RL_B": "inner"}}).remote())
        replaced = ray.get(inner.options(runtime_env={"env_vars": {"RL_A": "new"}}).remote())
        return plain, merged, replaced

    env = {"env_vars": {"RL_A": "outer", "RL_B": "outer-b"}}
    plain, merged, replaced = ray.get(outer.options(runtime_env=env).remote())
    assert plain == ("outer", "outer-b")
    assert merged == ("outer", "inner")
    assert replaced == ("new", "outer-b")


def test_actor_inherits_its_env_in_tasks_it_submits(ray_shared):
    ray = ray_shared

    @ray.remote
    def read():
        return os.environ.get("RL_FROM_ACTOR")

    @ray.remote
    class A:
        def submit(self):
            return ray.get(read.remote())

    a = A.options(runtime_env={"env_vars": {"RL_FROM_ACTOR": "yes"}}).remote()
    assert ray.get(a.submit.remote()) == "yes"


def test_runtime_context_reports_the_effective_env(ray_shared):
    ray = ray_shared

    @ray.remote
    def report():
        ctx = ray.get_runtime_context()
        return dict(ctx.runtime_env), ctx.get_runtime_env_string()

    @ray.remote
    def outer():
        return ray.get(report.options(runtime_env={"env_vars": {"Y": "2"}}).remote())

    env, text = ray.get(report.options(runtime_env={"env_vars": {"X": "1"}}).remote())
    assert env["env_vars"] == {"X": "1"}
    assert json.loads(text)["env_vars"] == {"X": "1"}
    env, _ = ray.get(outer.options(runtime_env={"env_vars": {"X": "1"}}).remote())
    assert env["env_vars"] == {"X": "1", "Y": "2"}
    assert dict(ray.get(report.remote())[0]) == {}
    assert dict(ray.get_runtime_context().runtime_env) == {}


def test_validation_errors(ray_shared, tmp_path):
    ray = ray_shared

    @ray.remote
    def f():
        return 1

    with pytest.raises(TypeError, match="env_vars"):
        f.options(runtime_env={"env_vars": {"A": 1}})
    with pytest.raises(TypeError, match="env_vars"):
        f.options(runtime_env={"env_vars": {1: "a"}})
    with pytest.raises(TypeError):
        f.options(runtime_env="env_vars")
    with pytest.raises(TypeError, match="py_modules"):
        f.options(runtime_env={"py_modules": "not-a-list"})
    with pytest.raises(ValueError, match="cannot be specified at the same time"):
        f.options(runtime_env={"pip": ["requests"], "conda": "base"})
    with pytest.raises(ValueError, match="not a valid path"):
        f.options(runtime_env={"working_dir": str(tmp_path / "missing")})
    with pytest.raises(ValueError, match="only supported at the job level"):
        f.options(runtime_env={"working_dir": str(tmp_path)})
    with pytest.raises(TypeError, match="env_vars"):
        @ray.remote(runtime_env={"env_vars": {"A": 1}})
        def g():
            return 1
    assert ray.get(f.options(runtime_env={"env_vars": {}}).remote()) == 1


def test_setup_failure_names_its_node(ray_shared):
    ray = ray_shared
    import re

    # a package that no index has, with a setup time limit of 1 s: the setup fails either way
    @ray.remote(runtime_env={"pip": ["raylike-no-such-package-xyz"],
                             "config": {"setup_timeout_seconds": 1}})
    def f():
        return 1

    with pytest.raises(ray.exceptions.RuntimeEnvSetupError) as info:
        ray.get(f.remote(), timeout=300)
    assert re.search(r"\[Node ((\d{1,3}\.){3}\d{1,3}|unknown)\] ", str(info.value))


def test_runtime_env_class(ray_module):
    from importlib import import_module

    RuntimeEnv = import_module(f"{ray_module.__name__}.runtime_env").RuntimeEnv
    env = RuntimeEnv(pip=["a", "b", "a"], env_vars={"K": "V"})
    assert env["pip"]["packages"] == ["a", "b"]
    assert env["pip"]["pip_check"] is False
    assert env.env_vars() == {"K": "V"}
    assert json.loads(env.serialize())["env_vars"] == {"K": "V"}
    assert RuntimeEnv.deserialize(env.serialize())["env_vars"] == {"K": "V"}
    with pytest.raises(TypeError):
        RuntimeEnv(env_vars={"K": 1})


# -- the job's environment (a cluster of their own) --------------------------------------------
@pytest.fixture
def project(tmp_path):
    """A working directory with a module and a data file, and a package and a module to ship
    as py_modules."""
    work = tmp_path / "work"
    work.mkdir()
    (work / "rl_helper_mod.py").write_text("VALUE = 41\n\ndef plus_one(x):\n    return x + 1\n")
    (work / "data.txt").write_text("hello from the working dir\n")
    pkg = tmp_path / "libs" / "rl_shipped_pkg"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("NAME = 'shipped'\n")
    single = tmp_path / "libs" / "rl_single_mod.py"
    single.write_text("SEVEN = 7\n")
    return work, pkg, single


def test_job_env_vars_merge_with_task_env_vars(ray_fresh):
    ray = ray_fresh
    ray.init(num_cpus=2, include_dashboard=False,
             runtime_env={"env_vars": {"RL_JOB": "job", "RL_BOTH": "job"}})

    @ray.remote
    def read():
        return os.environ.get("RL_JOB"), os.environ.get("RL_BOTH"), os.environ.get("RL_TASK")

    @ray.remote
    class A:
        def read(self):
            return os.environ.get("RL_JOB"), os.environ.get("RL_BOTH")

    assert ray.get(read.remote()) == ("job", "job", None)
    over = read.options(runtime_env={"env_vars": {"RL_BOTH": "task", "RL_TASK": "t"}})
    assert ray.get(over.remote()) == ("job", "task", "t")
    a = A.options(runtime_env={"env_vars": {"RL_BOTH": "actor"}}).remote()
    assert ray.get(a.read.remote()) == ("job", "actor")
    assert ray.get_runtime_context().runtime_env["env_vars"] == {"RL_JOB": "job",
                                                                 "RL_BOTH": "job"}
    assert os.environ.get("RL_JOB") is None  # the driver's own environment is left alone


def test_job_working_dir_and_py_modules(ray_fresh, project):
    ray = ray_fresh
    work, pkg, single = project
    ray.init(num_cpus=2, include_dashboard=False,
             runtime_env={"working_dir": str(work), "py_modules": [str(pkg), str(single)]})

    @ray.remote
    def use_them():
        import rl_helper_mod
        import rl_shipped_pkg
        import rl_single_mod

        with open("data.txt") as f:  # relative to the working directory
            text = f.read()
        return rl_helper_mod.plus_one(rl_helper_mod.VALUE), rl_shipped_pkg.NAME, \
            rl_single_mod.SEVEN, text

    @ray.remote
    class Reader:
        def read(self):
            import rl_helper_mod

            with open("data.txt") as f:
                return f.read(), rl_helper_mod.VALUE

    assert ray.get(use_them.remote()) == (42, "shipped", 7, "hello from the working dir\n")
    assert ray.get(Reader.remote().read.remote()) == ("hello from the working dir\n", 41)
    env = ray.get_runtime_context().runtime_env
    assert "://" in env["working_dir"]  # the uploaded package's URI, not the local path
    assert len(env["py_modules"]) == 2


def test_job_working_dir_excludes(ray_fresh, project):
    ray = ray_fresh
    work, _, _ = project
    (work / "skip_me").mkdir()
    (work / "skip_me" / "big.bin").write_bytes(b"x" * 10)
    (work / "notes.log").write_text("log\n")
    ray.init(num_cpus=2, include_dashboard=False,
             runtime_env={"working_dir": str(work), "excludes": ["skip_me", "*.log"]})

    @ray.remote
    def listing():
        return sorted(os.listdir("."))

    names = ray.get(listing.remote())
    assert "data.txt" in names and "rl_helper_mod.py" in names
    assert "skip_me" not in names and "notes.log" not in names


def test_job_working_dir_must_exist(ray_fresh, tmp_path):
    with pytest.raises(ValueError, match="must be an existing directory"):
        ray_fresh.init(num_cpus=1, include_dashboard=False,
                       runtime_env={"working_dir": str(tmp_path / "missing")})


def test_job_py_modules_as_paths_and_remote_uri_checks(ray_fresh, project):
    import pathlib

    ray = ray_fresh
    work, pkg, single = project
    for env in ({"working_dir": "https://example.invalid/no_dot_zip"},
                {"py_modules": ["s3://bucket/no_dot_zip"]}):
        with pytest.raises(ValueError, match="files are supported for"):
            ray.init(num_cpus=1, include_dashboard=False, runtime_env=env)
        assert not ray.is_initialized()
    ray.init(num_cpus=1, include_dashboard=False,
             runtime_env={"py_modules": [pathlib.Path(pkg), pathlib.Path(single)]})

    @ray.remote
    def use_them():
        import rl_shipped_pkg
        import rl_single_mod

        return rl_shipped_pkg.NAME, rl_single_mod.SEVEN

    assert ray.get(use_them.remote(), timeout=120) == ("shipped", 7)


def test_job_working_dir_default_excludes_can_be_overridden(ray_fresh, project, monkeypatch):
    ray = ray_fresh
    work, _, _ = project
    for name in (".git", "__pycache__", "build_cache"):
        (work / name).mkdir()
        (work / name / "marker").write_text("x")
    monkeypatch.setenv("RAY_OVERRIDE_RUNTIME_ENV_DEFAULT_EXCLUDES", "build_cache")
    ray.init(num_cpus=1, include_dashboard=False, runtime_env={"working_dir": str(work)})

    @ray.remote
    def listing():
        return sorted(os.listdir("."))

    names = ray.get(listing.remote(), timeout=120)
    assert ".git" in names and "__pycache__" in names  # no longer left out
    assert "build_cache" not in names and "data.txt" in names


def test_set_pythonpath_in_context(ray_module, monkeypatch):
    from importlib import import_module

    name = ray_module.__name__
    context = import_module(f"{name}._private.runtime_env.context").RuntimeEnvContext(
        env_vars={"PYTHONPATH": "mid"})
    monkeypatch.setenv("PYTHONPATH", "outer")
    import_module(f"{name}._private.runtime_env.working_dir").set_pythonpath_in_context(
        "inner", context)
    assert context.env_vars["PYTHONPATH"].split(os.pathsep)[:3] == ["inner", "mid", "outer"]
