"""Reporter sessions and the claim / complete / release flow.

Redis chooses (one atomic script); SQL records the outcome before the caller is answered,
so an acknowledged claim, completion or release survives a Redis restart.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import select as core_select
from sqlmodel import Session, col, select

from allocator.engine import NotOnDuty
from allocator.types import SessionKind
from worklist.models import Assignment, Reporter, ReporterSession, Study, StudyEvent
from worklist.services import Services, utcnow
from worklist.studies.transitions import add_event


class FlowError(Exception):
    """A request the worklist state does not allow; ``status`` is the HTTP code to answer."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def open_session(db: Session, reporter_id: str) -> ReporterSession | None:
    return db.exec(
        select(ReporterSession).where(
            ReporterSession.reporter_id == reporter_id, col(ReporterSession.ended_at).is_(None)
        )
    ).first()


def _reporter(db: Session, reporter_id: str) -> Reporter:
    reporter = db.get(Reporter, reporter_id)
    if reporter is None or not reporter.active:
        raise FlowError(403, "this reporter is unknown or inactive")
    return reporter


def start_session(db: Session, services: Services, reporter_id: str, kind: str) -> ReporterSession:
    reporter = _reporter(db, reporter_id)
    if open_session(db, reporter_id) is not None:
        raise FlowError(409, "already in a session; end it first")
    session = ReporterSession(reporter_id=reporter_id, kind=kind, started_at=utcnow())
    db.add(session)
    db.commit()
    db.refresh(session)
    services.allocator(reporter.network).start_session(
        reporter_id, cast(SessionKind, kind), _ms(session.started_at)
    )
    return session


def end_session(
    db: Session, services: Services, reporter_id: str
) -> tuple[ReporterSession, list[str]]:
    reporter = _reporter(db, reporter_id)
    session = open_session(db, reporter_id)
    if session is None:
        raise FlowError(409, "not in a session")
    session.ended_at = utcnow()
    db.add(session)
    db.commit()
    returned = services.allocator(reporter.network).end_session(reporter_id, _ms(session.ended_at))
    return session, returned


def _ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


def _from_ms(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


_study = Study.__table__  # type: ignore[attr-defined]
_assignment = Assignment.__table__  # type: ignore[attr-defined]
_event = StudyEvent.__table__  # type: ignore[attr-defined]
_session = ReporterSession.__table__  # type: ignore[attr-defined]
_reporter_t = Reporter.__table__  # type: ignore[attr-defined]


def claim_next(db: Session, services: Services, reporter_id: str) -> dict[str, Any] | None:
    """Pull the best eligible study for this reporter; None when nothing is waiting.

    The hot path of the product: plain Core statements, one transaction, no ORM loading.
    """
    conn = db.connection()
    who = conn.execute(
        core_select(_reporter_t.c.network, _reporter_t.c.active).where(
            _reporter_t.c.id == reporter_id
        )
    ).first()
    if who is None or not who.active:
        raise FlowError(403, "this reporter is unknown or inactive")
    allocator = services.allocator(who.network)
    lease_ms = services.settings.lease_seconds * 1000
    for _ in range(3):
        now = utcnow()
        try:
            claim = allocator.claim(reporter_id, _ms(now), lease_ms)
        except NotOnDuty as e:
            raise FlowError(409, "start a session before pulling cases") from e
        if claim is None:
            return None
        row = conn.execute(core_select(_study).where(_study.c.study_uid == claim.study_id)).first()
        if row is None or row.status in ("reported", "outsourced", "cancelled"):
            # Redis held something SQL says is finished: drop it and pull again.
            allocator.remove([claim.study_id])
            continue
        if row.status != "unreported":
            # A release is being committed right now: give it back and pull again.
            allocator.release(reporter_id, claim.study_id, _ms(now))
            continue
        session = conn.execute(
            core_select(_session.c.id, _session.c.kind).where(
                _session.c.reporter_id == reporter_id, _session.c.ended_at.is_(None)
            )
        ).first()
        if session is None:
            allocator.release(reporter_id, claim.study_id, _ms(now))
            raise FlowError(409, "start a session before pulling cases")
        assignment_id = uuid.uuid4().hex
        lease_expires_at = _from_ms(claim.lease_expires_ms)
        try:
            conn.execute(
                _assignment.insert().values(
                    id=assignment_id,
                    study_id=row.id,
                    reporter_id=reporter_id,
                    session_id=session.id,
                    sourcing=session.kind,
                    work_units=row.work_units,
                    via=claim.via,
                    claimed_at=now,
                    lease_expires_at=lease_expires_at,
                    reason=claim.reason,
                )
            )
            conn.execute(
                _study.update()
                .where(_study.c.id == row.id)
                .values(
                    status="claimed", assignee=reporter_id, sourcing=session.kind, updated_at=now
                )
            )
            conn.execute(
                _event.insert().values(
                    study_id=row.id,
                    at=now,
                    kind="claimed",
                    actor=reporter_id,
                    detail={"assignment": assignment_id, "via": claim.via, **claim.reason},
                )
            )
            db.commit()
        except Exception:
            db.rollback()
            allocator.release(reporter_id, claim.study_id, _ms(now))
            raise
        study = {
            **row._mapping,
            "status": "claimed",
            "assignee": reporter_id,
            "sourcing": session.kind,
        }
        return {
            "assignment_id": assignment_id,
            "study": study,
            "due_at": row.due_at,
            "lease_expires_at": lease_expires_at,
            "reason": claim.reason,
            "via": claim.via,
        }
    return None


def _own_open_assignment(
    db: Session, reporter_id: str, assignment_id: str
) -> tuple[Assignment, Study]:
    assignment = db.get(Assignment, assignment_id)
    if assignment is None:
        raise FlowError(404, "no such assignment")
    if assignment.reporter_id != reporter_id:
        raise FlowError(403, "this assignment belongs to another reporter")
    if assignment.outcome is not None:
        raise FlowError(409, f"this assignment has ended ({assignment.outcome})")
    study = db.get(Study, assignment.study_id)
    assert study is not None
    return assignment, study


def _expired(db: Session, assignment: Assignment, study: Study) -> FlowError:
    """The lease is gone from Redis: record the expiry (if the sweeper has not) and say 409."""
    assignment.outcome = "expired"
    assignment.ended_at = utcnow()
    db.add(assignment)
    if study.status == "claimed" and study.assignee == assignment.reporter_id:
        study.status, study.assignee, study.sourcing = "unreported", None, None
        db.add(study)
        add_event(db, study, "lease-expired", "allocator", {"assignment": assignment.id})
    db.commit()
    return FlowError(409, "the lease on this case has expired; it went back to the worklist")


def complete(db: Session, services: Services, reporter_id: str, assignment_id: str) -> Study:
    assignment, study = _own_open_assignment(db, reporter_id, assignment_id)
    now = utcnow()
    if not services.allocator(study.network).complete(reporter_id, study.study_uid, _ms(now)):
        raise _expired(db, assignment, study)
    assignment.outcome, assignment.ended_at = "completed", now
    study.status, study.reported_at, study.reported_by = "reported", now, reporter_id
    study.updated_at = now
    db.add(assignment)
    db.add(study)
    add_event(
        db,
        study,
        "reported",
        reporter_id,
        {
            "assignment": assignment.id,
            "sourcing": assignment.sourcing,
            "work_units": study.work_units,
        },
    )
    db.commit()
    return study


def release(
    db: Session, services: Services, reporter_id: str, assignment_id: str, reason: str
) -> Study:
    assignment, study = _own_open_assignment(db, reporter_id, assignment_id)
    now = utcnow()
    if not services.allocator(study.network).release(reporter_id, study.study_uid, _ms(now)):
        raise _expired(db, assignment, study)
    assignment.outcome, assignment.ended_at, assignment.release_reason = "released", now, reason
    study.status, study.assignee, study.sourcing, study.updated_at = "unreported", None, None, now
    db.add(assignment)
    db.add(study)
    add_event(db, study, "released", reporter_id, {"assignment": assignment.id, "reason": reason})
    db.commit()
    return study


def lease_window(services: Services) -> timedelta:
    return timedelta(seconds=services.settings.lease_seconds)
