"""Reporter sessions and the claim / complete / release flow.

Redis chooses (one atomic script); SQL records the outcome before the caller is answered,
so an acknowledged claim, completion or release survives a Redis restart.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, Literal, cast

from sqlalchemy import Update
from sqlmodel import Session, col, select

from allocator.engine import Allocator, NotOnDuty
from allocator.types import SessionKind
from worklist.models import Reporter, ReporterSession
from worklist.reporting import statements as sql
from worklist.reporting.hot_connection import HotConnection, hot_connection
from worklist.reporting.open_assignments import KnownAssignment
from worklist.reviews.sampling import record_sample, sampling_rule
from worklist.services import Services, utcnow
from worklist.studies.queueing import enqueue_and_audit


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


async def claim_next(services: Services, reporter_id: str) -> dict[str, Any] | None:
    """Pull the best eligible study for this reporter; None when nothing is waiting.

    The hot path of the product: statements built once (``statements``), one transaction on a
    plain connection (``hot_connection``), no ORM session.
    """
    async with hot_connection(services) as conn:
        # PostgreSQL takes the study in one autocommitted statement that also checks the
        # reporter is active and in a session: once this process knows the reporter's network
        # (which never changes), a claim is one Redis call and one round trip to the database,
        # instead of six (lookup, BEGIN, update, two inserts, COMMIT).
        one_statement = conn.dialect == "postgresql"  # its connection is autocommitted
        network = services.reporter_networks.get(reporter_id) if one_statement else None
        who = None
        if network is None:
            who = await _who(conn, reporter_id)
            network = services.reporter_networks[reporter_id] = who.network
        allocator = services.allocator(network)
        lease_ms = services.settings.lease_seconds * 1000
        for _ in range(3):
            now = utcnow()
            try:
                claim = allocator.claim(reporter_id, _ms(now), lease_ms)
            except NotOnDuty as e:
                if who is None:  # say why as the database has it (403 for a deactivation)
                    await _who(conn, reporter_id)
                raise FlowError(409, "start a session before pulling cases") from e
            if claim is None:
                return None
            assignment_id = uuid.uuid4().hex
            lease_expires_at = _from_ms(claim.lease_expires_ms)
            params = {
                "p_uid": claim.study_id,
                "p_reporter": reporter_id,
                "p_now": now,
                "p_assignment": assignment_id,
                "p_via": claim.via,
                "p_lease": lease_expires_at,
                "p_reason": claim.reason,
                "p_detail": {"assignment": assignment_id, "via": claim.via, **claim.reason},
            }
            try:
                if one_statement:
                    row = await conn.first(sql.CLAIM_IN_ONE, params)
                else:
                    assert who is not None  # SQLite always looks the reporter up first
                    params |= {"p_sourcing": who.session_kind, "p_session": who.session_id}
                    row = await _claim_in_three(conn, params)
                if row is None:
                    await _drop_or_return(conn, allocator, reporter_id, claim.study_id, now)
                    if one_statement:  # not waiting, or the reporter may not pull: which?
                        await _who(conn, reporter_id)
                    continue
            except Exception:
                await conn.rollback()
                allocator.release(reporter_id, claim.study_id, _ms(now))
                raise
            if one_statement:
                services.open_assignments.remember(
                    assignment_id,
                    KnownAssignment(
                        reporter_id=reporter_id,
                        network=row.network,
                        study_uid=row.study_uid,
                        study_id=row.id,
                        work_units=row.work_units,
                        sourcing=row.sourcing,
                        reporter_group=str(row.reporter_group),
                    ),
                )
            return {
                "assignment_id": assignment_id,
                # plain str keys: a CTE's labels are str subclasses, which orjson refuses
                "study": {str(k): v for k, v in row._mapping.items() if k != "reporter_group"},
                "due_at": row.due_at,
                "lease_expires_at": lease_expires_at,
                "reason": claim.reason,
                "via": claim.via,
            }
    return None


async def _who(conn: HotConnection, reporter_id: str) -> Any:
    """The reporter's network and open session, or the HTTP refusal when they may not pull."""
    who = (await conn.execute(sql.WHO, {"p_reporter": reporter_id})).first()
    if who is None or not who.active:
        raise FlowError(403, "this reporter is unknown or inactive")
    if who.session_id is None:
        raise FlowError(409, "start a session before pulling cases")
    return who


async def _claim_in_three(conn: HotConnection, p: dict[str, Any]) -> Any:
    """SQLite: take the study, write the assignment and audit it in one transaction; None
    (nothing written) when the study was not waiting."""
    row = (await conn.execute(sql.CLAIM_STUDY, p)).first()
    if row is None:
        return None
    await conn.execute(
        sql.INSERT_ASSIGNMENT,
        {
            "id": p["p_assignment"],
            "study_id": row.id,
            "reporter_id": p["p_reporter"],
            "session_id": p["p_session"],
            "sourcing": p["p_sourcing"],
            "work_units": row.work_units,
            "via": p["p_via"],
            "claimed_at": p["p_now"],
            "lease_expires_at": p["p_lease"],
            "reason": p["p_reason"],
        },
    )
    await conn.execute(
        sql.INSERT_EVENT,
        {
            "study_id": row.id,
            "at": p["p_now"],
            "kind": "claimed",
            "actor": p["p_reporter"],
            "detail": p["p_detail"],
        },
    )
    await conn.commit()
    return row


async def _drop_or_return(
    conn: HotConnection, allocator: Allocator, reporter_id: str, study_uid: str, now: datetime
) -> None:
    """Redis chose a study SQL says is not waiting: forget it if it is finished, or hand it
    back if a release is being committed right now; the caller pulls again."""
    status = (await conn.execute(sql.STUDY_STATUS, {"p_uid": study_uid})).scalar()
    await conn.rollback()
    if status is None or status in ("reported", "outsourced", "cancelled"):
        allocator.remove([study_uid])
    else:
        allocator.release(reporter_id, study_uid, _ms(now))


async def _open_assignment(conn: HotConnection, reporter_id: str, assignment_id: str) -> Any:
    """The caller's live assignment joined to its study, or the right HTTP refusal."""
    row = await conn.first(sql.OPEN_ASSIGNMENT, {"p_assignment": assignment_id})
    if row is None:
        raise FlowError(404, "no such assignment")
    if row.reporter_id != reporter_id:
        raise FlowError(403, "this assignment belongs to another reporter")
    if row.outcome is not None:
        raise FlowError(409, f"this assignment has ended ({row.outcome})")
    return row


async def _finish(
    services: Services,
    reporter_id: str,
    assignment_id: str,
    outcome: Literal["completed", "released"],
    reason: str | None = None,
) -> dict[str, Any]:
    """Complete or release: Redis first (is the lease still ours?), then one SQL transaction.

    On PostgreSQL the usual case (the lease was ours, no review sampled) is two autocommitted
    statements, the lookup and ``statements.REPORT_IN_ONE`` / ``RELEASE_IN_ONE``, instead of
    six round trips; the rest runs as a transaction of several statements, as on SQLite.
    """
    async with hot_connection(services) as conn:
        one_statement = conn.dialect == "postgresql"  # its connection is autocommitted
        if one_statement:
            known = services.open_assignments.take(assignment_id)
            if known is not None and known.reporter_id == reporter_id:
                usual = await _finish_known(conn, services, known, assignment_id, outcome, reason)
                if usual is not None:
                    return usual
        row = await _open_assignment(conn, reporter_id, assignment_id)
        now = utcnow()
        allocator = services.allocator(row.network)
        operation = allocator.complete if outcome == "completed" else allocator.release
        change: Update | None
        if not operation(reporter_id, row.study_uid, _ms(now)):
            outcome_sql, kind = "expired", "lease-expired"
            still_ours = row.status == "claimed" and row.assignee == reporter_id
            change = sql.STUDY_WAITING if still_ours else None
            detail: dict[str, Any] = {"assignment": assignment_id, "rule": "lease ran out"}
        else:
            outcome_sql = outcome
            change = sql.STUDY_REPORTED if outcome == "completed" else sql.STUDY_WAITING
            kind, detail = _finished_event(
                outcome, assignment_id, row.assignment_sourcing, row.work_units, reason
            )
        rule = (
            sampling_rule(
                services.settings, services.patient_secret, row.study_uid, str(row.reporter_group)
            )
            if outcome_sql == "completed"
            else None
        )
        if one_statement and outcome_sql != "expired" and rule is None:
            finished = await _finish_in_one(
                conn, outcome, assignment_id, row.id, reporter_id, now, kind, detail, reason
            )
            if finished is None:  # it ended (or changed hands) since the lookup
                raise FlowError(409, "this assignment has ended")
            return finished
        if one_statement:  # several statements from here: back to a real transaction
            await conn.commit()
            await conn.begin_transactions()
        await conn.execute(
            sql.END_ASSIGNMENT,
            {
                "p_assignment": assignment_id,
                "p_outcome": outcome_sql,
                "p_now": now,
                "p_reason": reason,
            },
        )
        study = {k: v for k, v in row._mapping.items() if k in sql.STUDY.c}
        if change is not None:
            written = await conn.execute(
                change, {"p_id": row.id, "p_now": now, "p_reporter": reporter_id}
            )
            study = dict(written.one()._mapping)
            await conn.execute(
                sql.INSERT_EVENT,
                {
                    "study_id": row.id,
                    "at": now,
                    "kind": kind,
                    "actor": reporter_id,
                    "detail": detail,
                },
            )
        if rule is not None:
            sampled = rule
            await conn.run_sync(
                lambda c: record_sample(
                    c, sampled, row, reporter_id, now, group=str(row.reporter_group)
                )
            )
        await conn.commit()
        if outcome_sql == "expired" and change is not None:
            # Redis holds no lease of ours: it expired (and the study is already waiting), or
            # an earlier attempt's Redis step ran but its SQL write failed. Re-index it either
            # way; enqueue is an idempotent upsert and never takes a study from a live lease.
            await conn.run_sync(lambda c: enqueue_and_audit(services, c, [(row.id, study)]))
            await conn.commit()
    if outcome_sql == "expired":
        raise FlowError(409, "the lease on this case has expired; it went back to the worklist")
    return study


async def _finish_known(
    conn: HotConnection,
    services: Services,
    known: KnownAssignment,
    assignment_id: str,
    outcome: Literal["completed", "released"],
    reason: str | None,
) -> dict[str, Any] | None:
    """PostgreSQL, an assignment this process's claim wrote (``open_assignments``): the usual
    completion or hand-back without looking it up, Redis then ``REPORT_IN_ONE`` /
    ``RELEASE_IN_ONE``. None when it is not the usual case, for ``_finish`` to look it up and
    settle it: sampled for review (before anything is written), the lease no longer the
    reporter's (Redis wrote nothing; asked again, it answers the same), or the statement wrote
    nothing (the assignment had ended in SQL: the lookup says so)."""
    reporter_id = known.reporter_id
    group = known.reporter_group
    if outcome == "completed" and sampling_rule(
        services.settings, services.patient_secret, known.study_uid, group
    ):
        return None
    kind, detail = _finished_event(outcome, assignment_id, known.sourcing, known.work_units, reason)
    now = utcnow()
    allocator = services.allocator(known.network)
    operation = allocator.complete if outcome == "completed" else allocator.release
    if not operation(reporter_id, known.study_uid, _ms(now)):
        return None
    return await _finish_in_one(
        conn, outcome, assignment_id, known.study_id, reporter_id, now, kind, detail, reason
    )


def _finished_event(
    outcome: Literal["completed", "released"],
    assignment_id: str,
    sourcing: str | None,
    work_units: float,
    reason: str | None,
) -> tuple[str, dict[str, Any]]:
    """The study event a completion or hand-back writes: its kind and detail."""
    if outcome == "completed":
        return "reported", {
            "assignment": assignment_id,
            "sourcing": sourcing,
            "work_units": work_units,
        }
    return "released", {"assignment": assignment_id, "reason": reason}


async def _finish_in_one(
    conn: HotConnection,
    outcome: Literal["completed", "released"],
    assignment_id: str,
    study_id: int,
    reporter_id: str,
    now: datetime,
    kind: str,
    detail: dict[str, Any],
    reason: str | None,
) -> dict[str, Any] | None:
    """PostgreSQL: ``REPORT_IN_ONE`` / ``RELEASE_IN_ONE``; the study as written, or None when
    the assignment was not open and the caller's."""
    finished = await conn.first(
        sql.REPORT_IN_ONE if outcome == "completed" else sql.RELEASE_IN_ONE,
        {
            "p_assignment": assignment_id,
            "p_outcome": outcome,
            "p_now": now,
            "p_reason": reason,
            "p_id": study_id,
            "p_reporter": reporter_id,
            "p_kind": kind,
            "p_detail": detail,
        },
    )
    # plain str keys: a CTE's labels are str subclasses, which orjson refuses
    return None if finished is None else {str(k): v for k, v in finished._mapping.items()}


async def complete(services: Services, reporter_id: str, assignment_id: str) -> dict[str, Any]:
    """Mark the case reported by this reporter."""
    return await _finish(services, reporter_id, assignment_id, "completed")


async def release(
    services: Services, reporter_id: str, assignment_id: str, reason: str
) -> dict[str, Any]:
    """Hand the case back to the worklist with a reason."""
    return await _finish(services, reporter_id, assignment_id, "released", reason)
