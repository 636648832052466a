"""Ray's state-API test helpers (``ray._private.state_api_test_utils``) that Ray's test files
import: calling a ``ray.util.state`` function and checking its answer."""
from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from raylike._common.test_utils import wait_for_condition

__all__ = ["STATE_LIST_LIMIT", "STATE_LIST_TIMEOUT", "StateAPIStats", "invoke_state_api",
           "invoke_state_api_n", "verify_failed_task", "wait_for_task_states"]

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
