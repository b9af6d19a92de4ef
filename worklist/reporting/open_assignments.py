"""The assignments this process handed out and has not seen finished yet.

On PostgreSQL a claim's one statement returns everything a usual completion or hand-back of
it needs (the network, the study, its work units and sourcing, the reporter's staff group),
so when the completion reaches the same worker (a reporter's client keeps its connection) it
is one Redis call and one statement, without looking the assignment up first.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass


@dataclass(frozen=True)
class KnownAssignment:
    """An assignment as its claim wrote it."""

    reporter_id: str
    network: str
    study_uid: str
    study_id: int
    work_units: float
    sourcing: str | None
    reporter_group: str  # as at the claim: review sampling's rate depends on it


class OpenAssignments:
    """Bounded, newest kept: an entry whose completion went to another worker, or never came
    (the lease expired, the session ended), is dropped once ``limit`` newer ones arrive."""

    def __init__(self, limit: int = 20_000) -> None:
        self._known: OrderedDict[str, KnownAssignment] = OrderedDict()
        self._limit = limit

    def remember(self, assignment_id: str, known: KnownAssignment) -> None:
        self._known[assignment_id] = known
        while len(self._known) > self._limit:
            self._known.popitem(last=False)

    def take(self, assignment_id: str) -> KnownAssignment | None:
        """The assignment, forgotten as it is taken: its completion is settled by whoever
        takes it, and a second attempt looks it up as any other would."""
        return self._known.pop(assignment_id, None)

    def __len__(self) -> int:
        return len(self._known)
