"""The ``raylike`` command line: ``start``, ``status`` and ``stop``, in the shape of Ray's
(``list`` and ``summary``: ``_state_cli``).

``start`` runs Dask's own scheduler and worker (``python -m distributed.cli.dask_*``) as detached
processes, each worker sized like raylike's embedded node. Their pids go to a state file in the
session directory (``$RAYLIKE_SESSION_DIR``, else ``$TMPDIR/raylike-<uid>``), read by ``stop``;
their output goes to log files under it.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from contextlib import suppress
from pathlib import Path
from typing import Any

from raylike._api import config as _config
from raylike._api import state as _state
from raylike._dask.client.connect import check_scheduler
from raylike._dask.cluster import state_cli as _state_cli
from raylike._dask.cluster.embedded import (
    current_address,
    forget_current,
    free_port,
    listening,
    record_current,
)

STATE_FILE = "cli-state.json"
START_TIMEOUT = 60.0
STOP_GRACE = 5.0
ALL_INTERFACES = ("0.0.0.0", "::", "")
HEAD_NAME = "raylike-head"  # the Dask worker of the head node
Entry = dict[str, Any]  # a started process, as recorded in the state file


def session_dir() -> Path:
    """Where the state file and the logs live."""
    return _config.session_dir()


def _load_state() -> dict[str, Any]:
    try:
        state = json.loads((session_dir() / STATE_FILE).read_text())
        return state if isinstance(state.get("processes"), list) else {"processes": []}
    except (OSError, ValueError, AttributeError):
        return {"processes": []}


def _save_state(state: dict[str, Any]) -> None:
    """Write atomically; no process left means no state file."""
    path, tmp = session_dir() / STATE_FILE, session_dir() / f"{STATE_FILE}.{os.getpid()}"
    if state["processes"]:
        tmp.write_text(json.dumps(state, indent=1))
        os.replace(tmp, path)
    else:
        path.unlink(missing_ok=True)


def _process(entry: Entry) -> Any:
    """The running ``psutil.Process`` of ``entry``; None if gone or its pid now names another."""
    import psutil

    try:
        proc = psutil.Process(int(entry["pid"]))
        same = abs(proc.create_time() - float(entry["started"])) < 0.01
        return proc if same and proc.status() != psutil.STATUS_ZOMBIE else None
    except (psutil.Error, KeyError, TypeError, ValueError):
        return None


def _spawn(role: str, args: list[str], name: str, log_name: str,
           extra_env: dict[str, str] | None = None) -> Entry:
    """Start ``dask <role>`` (named ``name``) detached; return its state-file entry."""
    import psutil

    env = dict(os.environ, DASK_DISTRIBUTED__WORKER__DAEMON="False")  # workers own pools
    env.setdefault("DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED", "False")  # see embedded.py
    env.pop("RAYLIKE_NODE_LABELS", None)  # a node's own (``extra_env``), never inherited
    env.update(extra_env or {})
    inherited = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys([os.getcwd(), *inherited]))
    log = session_dir() / "logs" / f"{log_name}.log"
    log.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    with open(log, "ab") as out:
        proc = subprocess.Popen([sys.executable, "-m", f"distributed.cli.dask_{role}", *args],
                                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                env=env, start_new_session=True)
    return {"role": role, "name": name, "pid": proc.pid,
            "started": psutil.Process(proc.pid).create_time(), "log": str(log)}


def _failed(entry: Entry, what: str) -> RuntimeError:
    """An error naming ``entry``'s log, with its last lines."""
    tail = Path(entry["log"]).read_text(errors="replace").splitlines()[-15:]
    return RuntimeError("\n".join([f"{what} (log: {entry['log']})", *tail]))


def _wait_for_worker(address: str, entry: Entry) -> str:
    """Wait until the worker of ``entry`` registered; return the scheduler's own address."""
    from distributed import Client

    deadline = time.monotonic() + START_TIMEOUT
    with Client(address, timeout="20s", set_as_default=False) as client:
        while time.monotonic() < deadline:
            info = client.scheduler_info(n_workers=-1)
            if any(w.get("name") == entry["name"] for w in info["workers"].values()):
                return str(info.get("address") or address)
            if _process(entry) is None:
                raise _failed(entry, "the Dask worker exited during start-up")
            time.sleep(0.05)
    raise _failed(entry, f"the Dask worker did not register within {START_TIMEOUT:.0f} s")


def _start_worker(address: str, host: str | None, name: str, args: argparse.Namespace) -> Entry:
    """Start a worker sized like raylike's embedded node (``--num-cpus``, ...); wait for it."""
    from raylike._api import labels as _labels
    from raylike._api import resources as _resources
    from raylike._dask.cluster import embedded as _cluster

    node = _resources.embedded_node_resources(args.num_cpus, args.num_gpus, args.resources,
                                              head=name == HEAD_NAME, host=host)
    worker = [address, "--nthreads", str(_cluster.WORKER_THREADS), "--no-nanny",
              "--death-timeout", "60", "--no-dashboard", "--dashboard-address", "127.0.0.1:0",
              "--name", name, "--resources", _cluster.format_resources(node),
              "--preload", "raylike._dask.worker.labels"]  # it registers with its labels
    entry = _spawn("worker", worker + (["--host", host] if host else []), name, f"worker-{name}",
                   _labels.env_for(args.labels))
    try:
        entry["address"] = _wait_for_worker(address, entry)
    except BaseException:
        _terminate([entry], force=True)
        raise
    return entry


def _start_scheduler(args: argparse.Namespace, address: str) -> tuple[Entry, str | None]:
    """Start the scheduler and wait until it listens; return it and its dashboard address."""
    from raylike._api import resources as _resources

    sched = ["--host", args.host, "--port", str(args.port)]
    dashboard = None
    # --dashboard-port asks for the pages: without bokeh, one warning and none
    if not args.no_dashboard and _resources.dashboard_wanted(True if args.dashboard_port
                                                             else None):
        dashboard = f"{args.host}:{args.dashboard_port or 8265}"  # Ray's dashboard port
        sched += ["--dashboard-address", dashboard]
    else:  # --no-dashboard drops the pages only: the HTTP server (health) stays, on loopback
        sched += ["--no-dashboard", "--dashboard-address", "127.0.0.1:0"]
    entry = _spawn("scheduler", sched, "scheduler", f"scheduler-{args.port}")
    deadline = time.monotonic() + START_TIMEOUT
    try:
        while not listening(address, timeout=0.5):
            if _process(entry) is None or time.monotonic() > deadline:
                raise _failed(entry, "the Dask scheduler did not start")
            time.sleep(0.05)
    except BaseException:  # Ctrl-C included
        _terminate([entry], force=True)
        raise
    return entry, dashboard


def _ray_form(address: str) -> str:
    """``host:port``, as Ray prints a cluster's address (raylike takes both forms)."""
    return address.removeprefix("tcp://")


def _start_head(args: argparse.Namespace) -> list[Entry]:
    """Start the scheduler and the head worker, record and print them."""
    state = _load_state()  # a head already running stays: init() joins the newest, as Ray's
    host = args.host or "127.0.0.1"
    args.host = host
    if args.port == 0:  # as Ray's ``--port 0``: a free port
        args.port = free_port(host if host not in ALL_INTERFACES else "")
    if host in ALL_INTERFACES:  # the address other machines reach, as the scheduler reports it
        from distributed.utils import get_ip

        host = get_ip()
    address = f"tcp://{host}:{args.port}"
    if listening(address):
        raise RuntimeError(f"port {args.port} is in use: something already listens at {address}")
    scheduler, dashboard = _start_scheduler(args, address)
    try:
        worker = _start_worker(address, host, HEAD_NAME, args)
    except BaseException:
        _terminate([scheduler], force=True)
        raise
    address = state["address"] = worker["address"]
    _record(state, [scheduler, worker])
    record_current(address)  # init() with no address joins it, as Ray's after `ray start`
    print("Ray runtime started.\n"  # Ray's line, which tools wait for
          f"raylike: started the head node (a Dask scheduler and one Dask worker) at {address}\n"
          + (f"  Dashboard: http://{dashboard}\n" if dashboard else "")
          + f'  Connect from Python: import raylike as ray; ray.init(address="{address}")\n'
          f"  or set RAY_ADDRESS={address} and call ray.init().\n"
          f"  Add a node: raylike start --address='{_ray_form(address)}'\n"
          f"  Inspect: raylike status   Stop: raylike stop   Logs: {session_dir() / 'logs'}",
          flush=True)
    return [scheduler, worker]


def _start_node(args: argparse.Namespace) -> list[Entry]:
    """Add a worker to the scheduler at ``args.address``, record and print it."""
    address = args.address if "://" in args.address else f"tcp://{args.address}"
    check_scheduler(address)
    host = args.host
    if host is None and address.split("://")[1].rsplit(":", 1)[0] in ("127.0.0.1", "localhost"):
        host = "127.0.0.1"  # a loopback cluster: listen on loopback only
    name = _state.new_node_name()
    entry = _start_worker(address, host, name, args)
    state = _load_state()
    state.setdefault("address", address)
    _record(state, [entry])
    print(f"raylike: added node {name} (pid {entry['pid']}) to the cluster at {address}\n"
          "  Inspect: raylike status   Stop: raylike stop", flush=True)
    return [entry]


def _record(state: dict[str, Any], started: list[Entry]) -> None:
    state["processes"] = [e for e in state["processes"] if _process(e)] + started
    _save_state(state)


def _block(started: list[Entry]) -> int:
    """Stay in the foreground until Ctrl-C (or SIGTERM), then stop ``started``."""
    def interrupt(*_: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)
    signal.signal(signal.SIGINT, interrupt)  # also where a shell started us with SIGINT ignored
    print("raylike: --block: running until Ctrl-C.", flush=True)
    code = 0
    try:
        while all(_process(e) for e in started):
            time.sleep(0.5)
        print("raylike: a process exited; stopping the others.", file=sys.stderr)
        code = 1
    except KeyboardInterrupt:
        pass
    finally:
        _terminate(started, force=False)
        state = _load_state()
        pids = {e["pid"] for e in started}
        state["processes"] = [e for e in state["processes"] if e.get("pid") not in pids]
        _save_state(state)
    return code


def _terminate(entries: list[Entry], force: bool) -> list[Entry]:
    """Stop ``entries``, workers first: SIGTERM, SIGKILL after a grace period (at once with
    ``force``), then SIGKILL their process groups (task processes). Return those running."""
    import psutil

    running = sorted(((e, p) for e in entries if (p := _process(e)) is not None),
                     key=lambda ep: ep[0].get("role") == "scheduler")
    groups = []
    for _, proc in running:
        with suppress(OSError):
            groups += [proc.pid] if os.getpgid(proc.pid) == proc.pid else []
    for schedulers in (False, True):
        alive = [p for e, p in running if (e.get("role") == "scheduler") is schedulers]
        first = (signal.SIGKILL, 0.5) if force else (signal.SIGTERM, STOP_GRACE)
        for sig, wait in (first, (signal.SIGKILL, STOP_GRACE)):
            for proc in alive:
                with suppress(psutil.NoSuchProcess):
                    proc.send_signal(sig)
            alive = _wait_gone(alive, wait)
    for pgid in groups:  # each leads its own session: whatever it started is in its group
        with suppress(OSError):
            os.killpg(pgid, signal.SIGKILL)
    return [e for e, _ in running]


def _wait_gone(procs: list[Any], timeout: float) -> list[Any]:
    """Wait until none of ``procs`` runs (a zombie counts as gone); return those left."""
    import psutil

    deadline = time.monotonic() + timeout
    while True:
        alive = []
        for proc in procs:
            with suppress(psutil.Error):
                alive += [proc] if proc.status() != psutil.STATUS_ZOMBIE else []
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.05)


def _stop(args: argparse.Namespace) -> int:
    state = _load_state()
    stopped = _terminate(state["processes"], force=args.force)
    if state.get("address"):
        forget_current(str(state["address"]))
    (session_dir() / STATE_FILE).unlink(missing_ok=True)
    for entry in stopped:
        print(f"raylike: stopped {entry['role']} {entry['name']} (pid {entry['pid']})")
    if not stopped:
        print("raylike: no raylike processes are running; nothing to stop.")
    return 0


def _available(dask_worker: Any) -> dict[str, float]:
    """Runs on each worker (``client.run``): its resources not in use."""
    return dict(dask_worker.state.available_resources)


def _status(args: argparse.Namespace) -> int:
    address = (args.address or _load_state().get("address") or os.environ.get("RAY_ADDRESS")
               or os.environ.get("DASK_SCHEDULER_ADDRESS") or current_address())
    if not address:
        print("raylike: no cluster address: start a cluster with `raylike start --head`, or "
              "pass --address (or set RAY_ADDRESS).", file=sys.stderr)
        return 1
    address = address if "://" in address else f"tcp://{address}"
    try:
        check_scheduler(address)
        from distributed import Client

        with Client(address, timeout="10s", set_as_default=False) as client:
            workers = client.scheduler_info(n_workers=-1)["workers"]
            available = client.run(_available, on_error="return")
            demands = _state_cli.demands(client)
    except (OSError, TimeoutError) as exc:
        print(f"raylike: {exc}\n  Start a cluster with `raylike start --head`.", file=sys.stderr)
        return 1
    print(_format_status(address, workers, available))
    print("\n".join(_state_cli.demand_lines(demands)))
    return 0


def _format_status(address: str, workers: dict[str, Any], available: dict[str, Any]) -> str:
    """One block per node (Dask worker), then the cluster's total."""
    from raylike._api import resources as _resources

    lines = [f"======== raylike cluster at {address} ========"]
    sums: tuple[dict[str, float], dict[str, float]] = ({}, {})
    for worker, info in sorted(workers.items(), key=lambda kv: str(kv[1].get("name"))):
        total = {k: float(v) for k, v in
                 _resources.without_hidden(info.get("resources") or {}).items()}
        free: Any = available.get(worker)  # not a dict where client.run failed: usage unknown
        known = isinstance(free, dict)
        used = {k: v - float(free[k]) for k, v in total.items() if k in free} if known else {}
        lines += [f"Node {info.get('name')} ({worker})" + ("" if known else " usage unknown"),
                  *_usage_lines(total, used)]
        for acc, values in zip(sums, (total, used)):
            for name, value in values.items():
                acc[name] = acc.get(name, 0.0) + value
    lines += [f"Total: {len(workers)} node{'s' if len(workers) != 1 else ''}",
              *_usage_lines(*sums)]
    return "\n".join(lines)


def _usage_lines(total: dict[str, float], used: dict[str, float]) -> list[str]:
    """Ray's ``used/total name`` lines (memory in GiB), leaving out what a node lacks."""
    names = sorted((n for n in total if total[n] > 0),
                   key=lambda n: (n not in ("CPU", "GPU", "memory"), n))
    return [f"  {used.get(n, 0) / 2**30:.2f}GiB/{total[n] / 2**30:.2f}GiB memory" if n == "memory"
            else f"  {round(used.get(n, 0), 4)}/{round(total[n], 4)} {n}" for n in names]


def _start(args: argparse.Namespace) -> int:
    if args.head == bool(args.address):
        print("raylike start: pass either --head or --address ADDRESS", file=sys.stderr)
        return 2
    try:
        if args.resources is not None:
            from raylike._api import resources as _resources

            args.resources = json.loads(args.resources)
            _resources.check_init_resources(args.num_cpus, args.num_gpus, args.resources)
    except (ValueError, TypeError) as exc:
        print(f"raylike start: bad --resources: {exc}", file=sys.stderr)
        return 2
    ignored = sorted(name for name in RAY_ONLY_OPTIONS if getattr(args, name) is not None)
    if ignored:
        print("raylike start: ignoring Ray options without a meaning on Dask: "
              + ", ".join("--" + name.replace("_", "-") for name in ignored), file=sys.stderr)


    try:
        args.labels = _node_labels(args)
    except (ValueError, OSError, ImportError) as exc:  # ImportError: --labels-file needs PyYAML
        print(f"raylike start: bad --labels: {exc}", file=sys.stderr)
        return 2
    session_dir().mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        started = _start_head(args) if args.head else _start_node(args)
    except (RuntimeError, OSError, ValueError) as exc:
        print(f"raylike start: {exc}", file=sys.stderr)
        return 1
    return _block(started) if args.block else 0


# ``ray start`` options with no meaning on a Dask cluster (Ray's worker ports, object store,
# GCS and client server): accepted, reported, ignored
RAY_ONLY_OPTIONS = ("min_worker_port", "max_worker_port", "worker_port_list",
                    "ray_client_server_port", "object_manager_port", "node_manager_port",
                    "gcs_server_port", "object_store_memory", "plasma_directory",
                    "object_spilling_directory",
                    "include_dashboard", "dashboard_host", "dashboard_agent_listen_port",
                    "metrics_export_port", "redis_password", "temp_dir", "system_config",
                    "node_ip_address", "disable_usage_stats", "log_style", "log_color")
RAY_ONLY_FLAGS = ("disable_usage_stats",)  # those without a value


def _node_labels(args: argparse.Namespace) -> dict[str, str]:
    """``--labels-file`` (YAML) overlaid with ``--labels``, as ``ray start`` composes them."""
    from raylike._api import labels as _labels

    labels: dict[str, str] = {}
    if args.labels_file:
        import yaml

        with open(args.labels_file) as f:
            labels.update(_labels.check_node_labels(yaml.safe_load(f) or {}))
    if args.labels:
        labels.update(_labels.parse_cli_labels(args.labels))
    return labels


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="raylike", description="Start, inspect and stop a "
                                     "raylike cluster (Dask's scheduler and workers).")
    sub = parser.add_subparsers(dest="command", required=True)
    start = sub.add_parser("start", help="start a head node, or add a node to a cluster")
    start.add_argument("--head", action="store_true", help="start a scheduler and a worker")
    start.add_argument("--address", help="add a worker to the scheduler at this address")
    start.add_argument("--port", type=int, default=8786,
                       help="scheduler port (default 8786; 0: any free port)")
    start.add_argument("--host", help="listen address (default 127.0.0.1; 0.0.0.0: all)")
    start.add_argument("--num-cpus", type=float, help="CPUs of the node (default: all)")
    start.add_argument("--num-gpus", type=float, help="GPUs of the node (default: detected)")
    start.add_argument("--resources", help='custom resources as JSON, e.g. \'{"Custom": 2}\'')
    start.add_argument("--labels", default="", help='node labels, e.g. "k1=v1,k2=v2" or JSON')
    start.add_argument("--labels-file", default="", help="node labels in a YAML file")
    dash = start.add_mutually_exclusive_group()
    dash.add_argument("--dashboard-port", type=int, help="Dask dashboard port (needs bokeh)")
    dash.add_argument("--no-dashboard", action="store_true", help="no Dask dashboard")
    start.add_argument("--block", action="store_true", help="stay in the foreground until Ctrl-C")
    for name in RAY_ONLY_OPTIONS:  # accepted so `ray start` command lines work; ignored
        option = "--" + name.replace("_", "-")
        if name in RAY_ONLY_FLAGS:
            start.add_argument(option, action="store_const", const=True, help=argparse.SUPPRESS)
        else:
            start.add_argument(option, help=argparse.SUPPRESS)
    start.set_defaults(func=_start)
    status = sub.add_parser("status", help="show the nodes and their resources")
    status.add_argument("--address", help="scheduler address (default: the started cluster, "
                        "then RAY_ADDRESS, then DASK_SCHEDULER_ADDRESS)")
    status.set_defaults(func=_status)
    stop = sub.add_parser("stop", help="stop the processes `raylike start` started")
    stop.add_argument("--force", action="store_true", help="SIGKILL at once")
    stop.set_defaults(func=_stop)
    _state_cli.add_commands(sub)  # list, summary, memory
    return parser


def main(argv: list[str] | None = None) -> int:
    """The ``raylike`` command; returns its exit code."""
    args = _parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
