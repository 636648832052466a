"""Ray's ``max_pending_calls`` actor option: a process may have at most that many calls to
one actor submitted and not finished; one more raises ``PendingCallsLimitExceeded`` at
``.remote()`` (Ray's back pressure on a caller that outruns its actor). The count is this
process's, for each actor, as Ray's core worker keeps it; calls without a return value (and
generator calls) are not counted: nothing tells this process when they end."""
from __future__ import annotations

import threading
from typing import Any

from raylike._api.objects import ObjectRef, wait
from raylike.exceptions import PendingCallsLimitExceeded

_lock = threading.Lock()
_pending: dict[str, list[ObjectRef[Any]]] = {}  # actor id -> a ref of each call in flight


def admit(actor_id: str, limit: int, name: str) -> None:
    """Raise ``PendingCallsLimitExceeded`` if ``limit`` calls (``-1``: no limit) to the actor
    are in flight from this process."""
    if limit is None or limit < 0:
        return
    with _lock:
        refs = _pending.get(actor_id, [])
    if len(refs) >= limit and refs:  # drop the calls that ended
        _, left = wait(refs, num_returns=len(refs), timeout=0, fetch_local=False)
        ended = {id(ref) for ref in refs} - {id(ref) for ref in left}
        with _lock:
            refs = _pending[actor_id] = [r for r in _pending.get(actor_id, [])
                                         if id(r) not in ended]
    if len(refs) >= limit:
        raise PendingCallsLimitExceeded(
            f"The task {name} could not be submitted to {actor_id} because more than "
            f"{limit} tasks are queued on the actor. This limit can be adjusted with the "
            "`max_pending_calls` actor option.")


def add(actor_id: str, limit: int, result: Any) -> None:
    """Count the call whose result is ``result`` (a ref, a list of refs, or a generator)."""
    if limit is None or limit < 0:
        return
    first = result[0] if isinstance(result, list) and result else result
    if isinstance(first, ObjectRef):
        with _lock:
            _pending.setdefault(actor_id, []).append(first)
