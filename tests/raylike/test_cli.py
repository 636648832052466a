"""The ``raylike`` command: ``start`` / ``status`` / ``stop`` with real, detached processes.

Every test uses a session directory of its own (``RAYLIKE_SESSION_DIR``), so the user's is never
touched, and stops what it started with ``raylike stop --force``.
"""
from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

CLI_MODULE = "raylike._dask.cluster.cli"

pytestmark = pytest.mark.timeout(120)

RAY_PROGRAM = textwrap.dedent("""
    import sys
    import raylike as ray

    ray.init(address=sys.argv[1])

    @ray.remote
    def double(x):
        return 2 * x

    @ray.remote(num_gpus=1)
    def gpu_ids():
        return ray.get_gpu_ids()

    print(ray.get(double.remote(21), timeout=60), ray.get(gpu_ids.remote(), timeout=60))
""")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Cli:
    """Runs ``raylike ...`` in a session directory of its own."""

    def __init__(self, session: Path) -> None:
        self.session = session
        self.env = dict(os.environ, RAYLIKE_SESSION_DIR=str(session))
        for name in ("RAY_ADDRESS", "DASK_SCHEDULER_ADDRESS", "CUDA_VISIBLE_DEVICES"):
            self.env.pop(name, None)

    def __call__(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run([sys.executable, "-m", CLI_MODULE, *args], env=self.env,
                                capture_output=True, text=True, timeout=90)
        if check:
            assert result.returncode == 0, result.stdout + result.stderr
        return result

    def pids(self) -> list[int]:
        state = json.loads((self.session / "cli-state.json").read_text())
        return [int(p["pid"]) for p in state["processes"]]


@pytest.fixture
def cli(tmp_path: Path) -> Iterator[Cli]:
    runner = Cli(tmp_path / "session")
    try:
        yield runner
    finally:
        runner("stop", "--force", check=False)


@pytest.fixture(scope="module")
def head(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Cli, str]]:
    """A head node with 2 CPUs and 1 GPU, shared by the module's tests."""
    runner = Cli(tmp_path_factory.mktemp("head") / "session")
    address = f"tcp://127.0.0.1:{free_port()}"
    try:
        started = runner("start", "--head", "--port", address.rsplit(":", 1)[1], "--num-cpus",
                         "2", "--num-gpus", "1", "--resources", '{"Custom": 3}',
                         "--no-dashboard")
        assert f'ray.init(address="{address}")' in started.stdout
        assert f"RAY_ADDRESS={address}" in started.stdout
        yield runner, address
    finally:
        runner("stop", "--force", check=False)


def test_status_shows_the_head_node(head: tuple[Cli, str]) -> None:
    runner, address = head
    out = runner("status").stdout
    assert address in out and "Node raylike-head" in out
    assert "0.0/2.0 CPU" in out and "0.0/1.0 GPU" in out and "0.0/3.0 Custom" in out
    assert "Total: 1 node" in out
    assert runner("status", "--address", address).stdout == out


def test_a_ray_program_runs_tasks_and_gpu_tasks(head: tuple[Cli, str]) -> None:
    runner, address = head
    result = subprocess.run([sys.executable, "-c", RAY_PROGRAM, address], env=runner.env,
                            capture_output=True, text=True, timeout=90)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "42 [0]"


STATE_PROGRAM = textwrap.dedent("""
    import sys, time
    import raylike as ray

    ray.init(address=sys.argv[1])

    @ray.remote(num_cpus=2)
    def cli_busy():
        time.sleep(120)

    @ray.remote(num_cpus=2)
    def cli_waiting():
        pass

    @ray.remote(num_cpus=0, max_retries=0)
    def cli_fails():
        raise KeyError("cli-boom")

    refs = [cli_busy.remote(), cli_waiting.remote()]
    try:
        ray.get(cli_fails.remote())
    except KeyError:
        pass
    print("ready", flush=True)
    sys.stdin.read()  # until the test is done
    for ref in refs:
        ray.cancel(ref, force=True)
    ray.wait(refs, num_returns=2, timeout=30)
    ray.shutdown()
""")


def test_list_summary_and_status_demands(head: tuple[Cli, str]) -> None:
    runner, address = head
    program = subprocess.Popen([sys.executable, "-c", STATE_PROGRAM, address], env=runner.env,
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert program.stdout is not None and program.stdout.readline().strip() == "ready"
        table = runner("list", "tasks").stdout
        assert "Total: " in table and "TASK_ID" in table and "cli_busy" in table
        failed = json.loads(runner("list", "tasks", "--filter", "state=FAILED",
                                   "--format", "json").stdout)
        assert [t["name"] for t in failed] == ["cli_fails"]
        assert failed[0]["error_type"] == "TASK_EXECUTION_EXCEPTION"
        assert len(json.loads(runner("list", "tasks", "--limit", "1", "--format",
                                     "json").stdout)) == 1
        summary = runner("summary", "tasks").stdout
        assert "total_tasks: " in summary and "FAILED: 1" in summary
        assert "cli_waiting" in summary and "PENDING_NODE_ASSIGNMENT: 1" in summary
        assert "raylike-head" in runner("list", "nodes").stdout
        status = runner("status").stdout
        assert "Demands:" in status and "{'CPU': 2.0}: 1+ pending tasks/actors" in status
        bad = runner("list", "tasks", "--filter", "bogus=1", check=False)
        assert bad.returncode == 1 and "not supported" in bad.stderr
        assert "Traceback" not in bad.stderr
    finally:
        program.communicate(timeout=60)


def test_start_address_adds_a_node(head: tuple[Cli, str]) -> None:
    import raylike as ray

    runner, address = head
    runner("start", "--address", address, "--num-cpus", "1", "--labels", "zone=b,tier=x")
    try:
        out = runner("status").stdout
        assert "Total: 2 nodes" in out and "0.0/3.0 CPU" in out
        ray.init(address=address)
        assert len(ray.nodes()) == 2
        added = [n for n in ray.nodes() if n["Labels"].get("zone") == "b"]
        assert len(added) == 1 and added[0]["Labels"]["tier"] == "x"
        assert ray.cluster_resources()["CPU"] == 3
    finally:
        ray.shutdown()


def test_stop_leaves_no_process(cli: Cli,
                                wait_gone: Callable[[list[int], float], list[int]]) -> None:
    cli("start", "--head", "--port", str(free_port()), "--num-cpus", "1", "--no-dashboard")
    pids = cli.pids()
    assert len(pids) == 2
    out = cli("stop").stdout
    assert all(f"pid {pid}" in out for pid in pids)
    assert wait_gone(pids, 10) == []
    assert not (cli.session / "cli-state.json").exists()
    assert "nothing to stop" in cli("stop").stdout


JOIN_PROGRAM = textwrap.dedent("""
    import sys
    import raylike as ray
    try:
        info = ray.init(address=None if sys.argv[1] == "none" else sys.argv[1])
    except ConnectionError as exc:
        print("ConnectionError", exc)
    else:
        print(info.address_info["address"])
""")


def _join(cli: Cli, address: str) -> str:
    result = subprocess.run([sys.executable, "-c", JOIN_PROGRAM, address], env=cli.env,
                            capture_output=True, text=True, timeout=90)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


def test_init_joins_the_cluster_started_last(cli: Cli) -> None:
    """As Ray's after ``ray start``: ``init()`` and ``init("auto")`` join the cluster
    ``raylike start`` started on this machine; once it stopped, ``init()`` starts an embedded
    cluster and ``init("auto")`` raises ``ConnectionError``; ``"local"`` never joins."""
    port = free_port()
    cli("start", "--head", "--port", str(port), "--num-cpus", "1", "--no-dashboard")
    address = f"tcp://127.0.0.1:{port}"
    assert _join(cli, "none") == address
    assert _join(cli, "auto") == address
    assert _join(cli, "local") != address
    cli("stop")
    assert _join(cli, "none") not in (address, "")
    assert _join(cli, "auto").startswith("ConnectionError")


def test_a_ray_start_command_line_works(cli: Cli) -> None:
    """Ray's own ``ray start`` line (its test fixture's): ``--port 0`` picks a free port, Ray's
    options without a Dask meaning are reported and ignored, and the address is printed as
    ``--address='...'``, where Ray's tooling reads it."""
    result = cli("start", "--head", "--num-cpus=1", "--min-worker-port=0",
                 "--max-worker-port=0", "--port", "0", "--disable-usage-stats", "--no-dashboard",
                 "--object-spilling-directory=/tmp/raylike-test-spill")
    try:
        printed = re.search(r"--address='([^']+)'", result.stdout)
        assert printed is not None, result.stdout
        assert not printed.group(1).endswith(":0")
        assert "--min-worker-port" in result.stderr and "--disable-usage-stats" in result.stderr
        assert "--object-spilling-directory" in result.stderr
        assert _join(cli, "none") == "tcp://" + printed.group(1)
    finally:
        cli("stop")


def test_status_without_a_cluster_fails(cli: Cli, unused_address: str) -> None:
    result = cli("status", check=False)
    assert result.returncode == 1 and "raylike start --head" in result.stderr
    result = cli("status", "--address", unused_address, check=False)
    assert result.returncode == 1 and unused_address in result.stderr


def test_help_and_usage_errors(cli: Cli) -> None:
    script = Path(sys.executable).with_name("raylike")
    command = [str(script)] if script.exists() else [sys.executable, "-m", CLI_MODULE]
    for args in (["--help"], ["start", "--help"], ["list", "--help"], ["summary", "--help"]):
        result = subprocess.run([*command, *args], capture_output=True, text=True, timeout=60)
        assert result.returncode == 0 and "usage: raylike" in result.stdout
    assert cli("start", check=False).returncode == 2  # neither --head nor --address
    assert cli("start", "--head", "--resources", "{bad", check=False).returncode == 2
