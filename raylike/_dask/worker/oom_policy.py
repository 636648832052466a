"""Ray's choice of the process the memory monitor kills (its "group by owner" policy), as a
pure function of what runs on the node.

The running tasks and actors are grouped: each retriable one (a task with ``max_retries != 0``,
an actor with a restart left) with the others of its caller (its owner), every non-retriable
one in a single group of its own. Retriable groups go first; then the group with the most
members; between groups as large, the one whose earliest member started last. In the group
chosen, the member that started last is killed. It may be retried (``should_retry``) only if
its group is retriable and has another member: a caller's last task on the node fails at once,
so that the caller makes progress (Ray's rule)."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

NON_RETRIABLE = object()  # the key of the group of all non-retriable work


@dataclass(frozen=True)
class Candidate:
    """A task or actor process the monitor may kill."""

    key: str  # the task's key, or the actor's id
    pid: int
    owner: str  # who submitted it (its caller)
    retriable: bool
    started: float  # when it started (any clock, the same for all)
    name: str = ""
    actor: bool = False
    task_id: str = ""  # Ray's id of the task (or actor), for the error's message


def choose(candidates: Iterable[Candidate]) -> tuple[Candidate, bool] | None:
    """The candidate to kill and whether it may be retried; ``None`` if there is none."""
    groups: dict[object, list[Candidate]] = {}
    for each in candidates:
        groups.setdefault(each.owner if each.retriable else NON_RETRIABLE, []).append(each)
    if not groups:
        return None

    def rank(members: list[Candidate]) -> tuple[bool, int, float]:
        # max() picks: retriable, then the most members, then the latest earliest start
        return members[0].retriable, len(members), min(m.started for m in members)

    group = max(groups.values(), key=rank)
    victim = max(group, key=lambda m: m.started)
    return victim, victim.retriable and len(group) > 1
