"""Ray's state-API test helpers (``ray._private.state_api_test_utils``) that Ray's test files
import: calling a ``ray.util.state`` function and checking its answer."""
from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from raylike._common.test_utils import wait_for_condition

__all__ = ["STATE_LIST_LIMIT", "STATE_LIST_TIMEOUT", "PidActor", "StateAPIStats",
           "get_state_api_manager", "invoke_state_api", "invoke_state_api_n",
           "verify_failed_task", "verify_tasks_running_or_terminated", "wait_for_task_states"]

STATE_LIST_LIMIT = 10**6
STATE_LIST_TIMEOUT = 600


@dataclass
class StateAPIStats:
    """Calls made through :func:`invoke_state_api` and their latencies."""

    pending_calls: int = 0
    total_calls: int = 0
    calls: dict[str, list[tuple[float, int]]] = field(default_factory=lambda: defaultdict(list))


GLOBAL_STATE_STATS = StateAPIStats()


def invoke_state_api(verify_cb: Callable[[Any], bool], state_api_fn: Callable[..., Any],
                     state_stats: StateAPIStats = GLOBAL_STATE_STATS,
                     key_suffix: str | None = None, print_result: bool | None = False,
                     err_msg: str | None = None, **kwargs: Any) -> Any:
    """Call ``state_api_fn(**kwargs)`` and assert that ``verify_cb`` accepts the result."""
    kwargs.setdefault("timeout", STATE_LIST_TIMEOUT)
    kwargs["raise_on_missing_output"] = False
    name = getattr(state_api_fn, "__name__", "state_api")
    state_stats.total_calls += 1
    state_stats.pending_calls += 1
    try:
        start = time.perf_counter()
        try:
            result = state_api_fn(**kwargs)
        except Exception as exc:
            raise AssertionError(f"Calling {name}({kwargs}) failed with {exc!r}.") from exc
        if print_result:
            print(result)
        key = f"{name}_{key_suffix}" if key_suffix else name
        state_stats.calls[key].append((time.perf_counter() - start, len(result)))
        assert verify_cb(result), \
            f"Calling State API failed. len(res)=({len(result)}): {err_msg}"
    finally:
        state_stats.pending_calls -= 1
    return result


def invoke_state_api_n(*args: Any, **kwargs: Any) -> None:
    """:func:`invoke_state_api` ten times in a row, retried until all ten pass (30 s)."""
    def ten_calls() -> bool:
        for _ in range(10):
            invoke_state_api(*args, **kwargs)
        return True

    wait_for_condition(ten_calls, retry_interval_ms=2000, timeout=30)


def verify_failed_task(name: str, error_type: str,
                       error_message: str | list[str] | None = None) -> bool:
    """Assert that the one task called ``name`` FAILED with ``error_type`` (and messages)."""
    from raylike.util.state import list_tasks

    tasks = list_tasks(filters=[("name", "=", name)], detail=True)
    assert len(tasks) == 1, tasks
    task = tasks[0]
    assert task["state"] == "FAILED", task
    assert task["error_type"] == error_type, task
    messages = [error_message] if isinstance(error_message, str) else error_message or []
    for message in messages:
        assert message in (task.get("error_message") or ""), task
    return True


def wait_for_task_states(name_to_state: dict[str, str], timeout: float = 30) -> None:
    """Wait until each named task is seen in its state through the state API."""
    from raylike.util.state import list_tasks

    def reached() -> bool:
        for name, state in name_to_state.items():
            found = list_tasks(filters=[("name", "=", name), ("state", "=", state)])
            assert len(found) == 1, f"{name} not in {state}"
        return True

    wait_for_condition(reached, timeout=timeout)


class _PidBook:
    """Where tasks report their process (``report_pid(name, pid, expected end state)``)."""

    def __init__(self) -> None:
        self.name_to_pid: dict[str, tuple[int, str | None]] = {}

    def get_pids(self) -> dict[str, tuple[int, str | None]]:
        return self.name_to_pid

    def report_pid(self, name: str, pid: int, state: str | None = None) -> None:
        self.name_to_pid[name] = (pid, state)


class _LazyActorClass:
    """An actor class made with ``raylike.remote`` on first use (no work at import)."""

    def __init__(self, cls: type) -> None:
        self._cls = cls
        self._remote: Any = None

    def __getattr__(self, name: str) -> Any:
        if self._remote is None:
            from raylike._api.remote import remote

            self._remote = remote(self._cls)
        return getattr(self._remote, name)


PidActor = _LazyActorClass(_PidBook)


def _is_actor_task_running(actor_pid: int, task_name: str) -> bool:
    """Whether the process ``actor_pid`` runs ``task_name`` now: its title (``ray::<name>``,
    set while a task or call runs) names it."""
    import psutil

    try:
        process = psutil.Process(actor_pid)
        name, cmdline = process.name(), process.cmdline()
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False
    title = cmdline[0] if cmdline else ""
    return any(task_name in text and text.startswith("ray::") for text in (name, title))


def verify_tasks_running_or_terminated(task_pids: dict[str, tuple[int, str | None]],
                                       expect_num_tasks: int) -> bool:
    """Each task named in ``task_pids`` (name -> (pid, expected end state)) is ``RUNNING`` in
    the state API while its process runs it, else ended (the expected state, or FINISHED or
    FAILED)."""
    from raylike.util.state import list_tasks

    assert len(task_pids) == expect_num_tasks, task_pids
    for task_name, (pid, expected) in task_pids.items():
        tasks = list_tasks(detail=True, filters=[("name", "=", task_name)])
        assert len(tasks) == 1, f"one task named {task_name} expected, found {len(tasks)}"
        state = tasks[0]["state"]
        if _is_actor_task_running(pid, task_name):
            assert state == "RUNNING" and expected in (None, "RUNNING"), tasks[0]
        elif expected is None:
            assert state in ("FAILED", "FINISHED"), f"{task_name}: {state}"
        else:
            assert state == expected, f"expected {expected} but {state} for {tasks[0]}"
    return True


def get_state_api_manager(gcs_address: str) -> Any:
    """Ray's state API manager over its GCS channel: not available (no GCS)."""
    raise NotImplementedError("ray._private.state_api_test_utils.get_state_api_manager is not "
                              "available on raylike: the state API is answered by the Dask "
                              "scheduler's state plugin, not a GCS data source")
