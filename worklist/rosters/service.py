"""Planned sessions (rosters): validated once, whether from the e-roster CSV or the API.

The natural key is (reporter, start): importing the same roster again updates, never
duplicates. A session may not overlap another of the same reporter.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from worklist.models import Reporter, RosterEntry
from worklist.services import utcnow

KINDS = ("core", "insourced")
BASES = ("session", "work_unit")
MAX_SESSION = timedelta(hours=16)


class RosterError(ValueError):
    """A planned session that cannot be accepted; the message says why."""


@dataclass(frozen=True)
class PlannedSession:
    reporter_id: str
    start: datetime
    end: datetime
    kind: str
    rate: float | None = None
    rate_basis: str = "session"
    reference: str | None = None


def check_shape(p: PlannedSession) -> None:
    """Checks that need no database: kind, times, rate."""
    if p.kind not in KINDS:
        raise RosterError(f"kind: {p.kind!r} is not one of {', '.join(KINDS)}")
    if p.start.tzinfo is None or p.end.tzinfo is None:
        raise RosterError("start/end: a time needs a UTC offset")
    if p.end <= p.start:
        raise RosterError("end: must be after start")
    if p.end - p.start > MAX_SESSION:
        raise RosterError(f"end: a session may last at most {MAX_SESSION.seconds // 3600} hours")
    if p.rate is not None and p.rate < 0:
        raise RosterError("rate: must not be negative")
    if p.rate_basis not in BASES:
        raise RosterError(f"rate_basis: {p.rate_basis!r} is not one of {', '.join(BASES)}")


class RosterWriter:
    """Validates and stores planned sessions one at a time, tracking what it accepted so a
    batch can refuse overlaps within itself as well as with what is already stored."""

    def __init__(self, db: Session, replacing: Sequence[int] = ()) -> None:
        self.db = db
        self.replacing = set(replacing)
        self.accepted: list[PlannedSession] = []
        self._reporters: dict[str, Reporter | None] = {}

    def _reporter(self, reporter_id: str) -> Reporter:
        if reporter_id not in self._reporters:
            self._reporters[reporter_id] = self.db.get(Reporter, reporter_id)
        reporter = self._reporters[reporter_id]
        if reporter is None:
            raise RosterError(f"reporter_id: {reporter_id!r} is not a registered reporter")
        if not reporter.active:
            raise RosterError(f"reporter_id: {reporter_id!r} is inactive")
        return reporter

    def add(self, p: PlannedSession) -> bool:
        """Store one session; True if it was new, False if it updated one. Raises RosterError."""
        check_shape(p)
        reporter = self._reporter(p.reporter_id)
        for other in self.accepted:
            if other.reporter_id == p.reporter_id and other.start < p.end and p.start < other.end:
                raise RosterError("start: overlaps another session of this reporter in the batch")
        stored = self.db.exec(
            select(RosterEntry).where(
                RosterEntry.reporter_id == p.reporter_id,
                col(RosterEntry.start) < p.end,
                col(RosterEntry.end) > p.start,
            )
        ).all()
        same = None
        for entry in stored:
            if entry.id in self.replacing:
                continue
            if entry.start == p.start and same is None:
                same = entry
                continue
            raise RosterError(
                f"start: overlaps the stored session {entry.start.isoformat()} to "
                f"{entry.end.isoformat()}"
            )
        entry = same or RosterEntry(
            reporter_id=p.reporter_id,
            network=reporter.network,
            start=p.start,
            end=p.end,
            kind=p.kind,
            updated_at=utcnow(),
        )
        entry.end, entry.kind, entry.rate = p.end, p.kind, p.rate
        entry.rate_basis, entry.reference, entry.updated_at = p.rate_basis, p.reference, utcnow()
        self.db.add(entry)
        self.db.flush()
        self.accepted.append(p)
        return same is None


def entries_between(
    db: Session, start: datetime, end: datetime, reporter_id: str | None = None
) -> list[RosterEntry]:
    """Planned sessions overlapping [start, end), in start order."""
    query = select(RosterEntry).where(col(RosterEntry.start) < end, col(RosterEntry.end) > start)
    if reporter_id:
        query = query.where(RosterEntry.reporter_id == reporter_id)
    return list(db.exec(query.order_by(col(RosterEntry.start), col(RosterEntry.id))).all())
