"""Ray's ``worker_oom_score_adjustment`` (default 1000): a task or actor process is what the
Linux OOM killer picks first, before a node's own processes (Dask's worker and scheduler,
the zygote) and the driver, so that running out of memory fails a task (which Ray's retries
and errors then handle) instead of the node. ``RAY_worker_oom_score_adjustment`` (0 to 1000)
changes it; elsewhere than Linux nothing is done."""
from __future__ import annotations

import contextlib
import os

CONFIG = "RAY_worker_oom_score_adjustment"
DEFAULT = 1000


def adjust() -> None:
    """Set this process's ``oom_score_adj`` (a rise needs no privilege; a failure is
    ignored: the process runs as it would have)."""
    try:
        value = int(os.environ.get(CONFIG, DEFAULT))
    except ValueError:
        value = DEFAULT
    if value <= 0:
        return
    with contextlib.suppress(OSError), open("/proc/self/oom_score_adj", "w") as f:
        f.write(str(min(value, 1000)))
