"""``runtime_env`` ``pip`` (and wheels in ``py_modules``), offline: a tiny wheel built in
``tmp_path`` is installed into a directory of its own per specification; a package that cannot
be found is a ``RuntimeEnvSetupError`` (with pip's message) within a timeout, never a hang.
"""
from __future__ import annotations

import base64
import hashlib
import os
import time
import zipfile
from pathlib import Path

import pytest

import raylike as ray
from raylike.exceptions import RuntimeEnvSetupError


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def make_wheel(directory: Path, name: str = "rl_tinypkg", version: str = "0.1") -> Path:
    """A pure-Python wheel of package ``name`` (``VERSION = version``), built by hand: no
    build backend, no index."""
    info = f"{name}-{version}.dist-info"
    files = {
        f"{name}/__init__.py": f"VERSION = {version!r}\n".encode(),
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode(),
        f"{info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: raylike-tests\nRoot-Is-Purelib: true\n"
                         b"Tag: py3-none-any\n",
    }
    record = [_record_line(n, d) for n, d in files.items()] + [f"{info}/RECORD,,"]
    path = directory / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as wheel:
        for n, d in files.items():
            wheel.writestr(n, d)
        wheel.writestr(f"{info}/RECORD", "\n".join(record) + "\n")
    return path


@pytest.fixture(scope="module")
def cluster():
    ray.init(num_cpus=2, include_dashboard=False)
    yield ray
    ray.shutdown()


@pytest.fixture(autouse=True)
def _raylike_shutdown():  # the module's cluster outlives each test
    yield


@ray.remote
def tiny_version():
    import rl_tinypkg

    return rl_tinypkg.VERSION, os.path.dirname(os.path.dirname(rl_tinypkg.__file__))


@ray.remote
def can_import_tiny():
    try:
        import rl_tinypkg  # noqa: F401
    except ImportError:
        return False
    return True


def test_pip_installs_a_wheel_for_the_task_only(cluster, tmp_path):
    wheel = make_wheel(tmp_path)
    env = {"pip": [str(wheel)]}
    version, where = ray.get(tiny_version.options(runtime_env=env).remote(), timeout=300)
    assert version == "0.1"
    assert ray.get(can_import_tiny.remote()) is False  # installed apart, not into the worker's
    start = time.monotonic()  # the same specification again: cached, no second install
    assert ray.get(tiny_version.options(runtime_env=env).remote(), timeout=60)[1] == where
    assert time.monotonic() - start < 30


def test_pip_versions_are_isolated_per_spec(cluster, tmp_path):
    (tmp_path / "v1").mkdir()
    (tmp_path / "v2").mkdir()
    one = make_wheel(tmp_path / "v1", version="1.0")
    two = make_wheel(tmp_path / "v2", version="2.0")
    first = tiny_version.options(runtime_env={"pip": {"packages": [str(one)]}}).remote()
    second = tiny_version.options(runtime_env={"pip": [str(two)]}).remote()
    assert [v for v, _ in ray.get([first, second], timeout=300)] == ["1.0", "2.0"]


def test_pip_requirements_file_and_actor(cluster, tmp_path):
    wheel = make_wheel(tmp_path, version="3.0")
    requirements = tmp_path / "requirements.txt"
    requirements.write_text(f"# a comment\n{wheel}\n")

    @ray.remote
    class Uses:
        def version(self):
            import rl_tinypkg

            return rl_tinypkg.VERSION

    actor = Uses.options(runtime_env={"pip": str(requirements)}).remote()
    assert ray.get(actor.version.remote(), timeout=300) == "3.0"


def test_missing_package_is_a_setup_error(cluster):
    env = {"pip": {"packages": ["rl-no-such-package-anywhere==9.9"],
                   "pip_install_options": ["--no-index"]}}
    start = time.monotonic()
    with pytest.raises(RuntimeEnvSetupError, match="rl-no-such-package-anywhere"):
        ray.get(can_import_tiny.options(runtime_env=env).remote(), timeout=300)
    assert time.monotonic() - start < 240

    @ray.remote
    class Never:
        def ping(self):
            return 1

    with pytest.raises(RuntimeEnvSetupError):
        ray.get(Never.options(runtime_env=env).remote().ping.remote(), timeout=300)
    assert ray.get(can_import_tiny.remote()) is False  # other work goes on


def test_pip_timeout_is_a_setup_error():
    from raylike._process import env_setup as _env_setup

    with pytest.raises(RuntimeEnvSetupError, match="did not finish within"):
        _env_setup._run_pip(["/bin/sh", "-c", "sleep 30"], timeout=0.5)


def test_unsupported_field_is_a_setup_error(cluster):
    with pytest.raises(RuntimeEnvSetupError, match="conda"):
        ray.get(can_import_tiny.options(runtime_env={"conda": "base"}).remote(), timeout=60)


def test_worker_process_setup_hook(cluster):
    def hook():
        os.environ["RL_HOOK_RAN"] = "yes"

    @ray.remote
    def read():
        return os.environ.get("RL_HOOK_RAN")

    assert ray.get(read.options(runtime_env={"worker_process_setup_hook": hook}).remote(),
                   timeout=60) == "yes"
    assert ray.get(read.remote()) is None


def test_py_modules_wheel_at_job_level(tmp_path):
    wheel = make_wheel(tmp_path, version="4.0")
    ray.shutdown()  # the module's cluster: this test needs a job of its own (it runs last)
    ray.init(num_cpus=1, include_dashboard=False, runtime_env={"py_modules": [str(wheel)]})
    try:
        assert ray.get(tiny_version.remote(), timeout=300)[0] == "4.0"
    finally:
        ray.shutdown()
