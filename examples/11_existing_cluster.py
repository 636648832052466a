"""A Ray program on an existing Dask cluster.

    python examples/11_existing_cluster.py tcp://scheduler:8786   # a cluster you run
    python examples/11_existing_cluster.py                        # starts a small one itself

Without an address the script starts a Dask cluster the way you would by hand, with Dask's
command line (``dask scheduler`` and ``dask worker --resources "CPU=2"``), finds the
scheduler's address in the ``--scheduler-file`` it writes, runs the program there with
``ray.init(address)``, and stops both processes at the end. raylike must be installed where
the workers run.

Run: python examples/11_existing_cluster.py [ADDRESS]
"""
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

import raylike as ray


def dask_command(*args):
    """Start ``dask <args>`` (this interpreter's Dask) in a process group of its own."""
    return subprocess.Popen([sys.executable, "-m", "dask", *args], stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)


def read_address(scheduler_file, scheduler, timeout=30.0):
    """The address the scheduler wrote to its scheduler file once it listened."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if scheduler.poll() is not None:
            raise RuntimeError(f"dask scheduler exited with code {scheduler.returncode}")
        try:
            with open(scheduler_file) as f:
                return json.load(f)["address"]
        except (OSError, ValueError, KeyError):  # not written yet, or half written
            time.sleep(0.1)
    raise RuntimeError("dask scheduler did not write its address")


def start_cluster(directory):
    scheduler_file = os.path.join(directory, "scheduler.json")
    http = ["--dashboard-address", "127.0.0.1:0"]  # Dask's HTTP server: loopback, any port
    scheduler = dask_command("scheduler", "--host", "127.0.0.1", "--port", "0", *http,
                             "--scheduler-file", scheduler_file)
    processes = [scheduler]
    try:
        address = read_address(scheduler_file, scheduler)
        processes.insert(0, dask_command("worker", "--scheduler-file", scheduler_file,
                                         "--host", "127.0.0.1", "--nthreads", "2",
                                         "--resources", "CPU=2", "--no-nanny", *http))
    except BaseException:
        stop(processes)
        raise
    return address, processes


def stop(processes):
    """SIGTERM (a worker closes gracefully), then SIGKILL whatever is left in each group."""
    for proc in processes:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # its children (task processes), if any
        except (ProcessLookupError, PermissionError):
            pass


def wait_for_cpus(count, timeout=30.0):
    """A cluster may have no worker yet: wait until it offers ``count`` CPUs."""
    deadline = time.monotonic() + timeout
    while ray.cluster_resources().get("CPU", 0) < count:
        if time.monotonic() > deadline:
            raise RuntimeError(f"the cluster has no {count} CPUs after {timeout:.0f} s")
        time.sleep(0.1)


@ray.remote
def square(x):
    return x * x


@ray.remote
class Counter:
    def __init__(self):
        self.n = 0

    def incr(self):
        self.n += 1
        return self.n


def main(address):
    ray.init(address)  # an existing cluster: raylike starts nothing and stops nothing
    try:
        wait_for_cpus(1)
        print("connected to", address, "- cluster resources:", ray.cluster_resources())
        print("squares:", ray.get([square.remote(i) for i in range(8)]))
        counter = Counter.remote()
        print("counter:", ray.get([counter.incr.remote() for _ in range(3)]))
        print("nodes:", [node["NodeManagerAddress"] for node in ray.nodes()])
    finally:
        ray.shutdown()


if len(sys.argv) > 1:
    main(sys.argv[1])
else:
    with tempfile.TemporaryDirectory() as tmp:
        address, processes = start_cluster(tmp)
        print("started dask scheduler at", address, "and one dask worker (CPU=2)")
        try:
            main(address)
        finally:
            stop(processes)
            print("stopped the Dask cluster")
