"""The claim / complete / release statements, built once at import.

The hot path executes these with parameters instead of building a fresh statement per request:
building and cache-keying a Core statement cost more CPU than running it on SQLite. Parameter
names start with ``p_`` because SQLAlchemy reserves column names in an UPDATE's SET clause.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    Insert,
    Select,
    String,
    Update,
    bindparam,
    cast,
    exists,
    literal,
    select,
    true,
)

from worklist.models import Assignment, Reporter, ReporterSession, Study, StudyEvent

STUDY: Any = Study.__table__  # type: ignore[attr-defined]
ASSIGNMENT: Any = Assignment.__table__  # type: ignore[attr-defined]
EVENT: Any = StudyEvent.__table__  # type: ignore[attr-defined]
SESSION: Any = ReporterSession.__table__  # type: ignore[attr-defined]
REPORTER: Any = Reporter.__table__  # type: ignore[attr-defined]

#: The caller's network, whether active, and their open session (params: p_reporter).
WHO: Select[Any] = (
    select(
        REPORTER.c.network,
        REPORTER.c.active,
        SESSION.c.id.label("session_id"),
        SESSION.c.kind.label("session_kind"),
    )
    .select_from(REPORTER)
    .outerjoin(SESSION, (SESSION.c.reporter_id == REPORTER.c.id) & SESSION.c.ended_at.is_(None))
    .where(REPORTER.c.id == bindparam("p_reporter"))
)

#: Take a waiting study for a reporter in one statement; no row back means it was not waiting
#: (params: p_uid, p_reporter, p_sourcing, p_now).
CLAIM_STUDY: Update = (
    STUDY.update()
    .where(STUDY.c.study_uid == bindparam("p_uid"), STUDY.c.status == "unreported")
    .values(
        status="claimed",
        assignee=bindparam("p_reporter"),
        sourcing=bindparam("p_sourcing"),
        updated_at=bindparam("p_now"),
    )
    .returning(*STUDY.c)
)

#: Why a claim could not take the study (params: p_uid).
STUDY_STATUS: Select[Any] = select(STUDY.c.status).where(STUDY.c.study_uid == bindparam("p_uid"))

INSERT_ASSIGNMENT: Insert = ASSIGNMENT.insert()
INSERT_EVENT: Insert = EVENT.insert()

#: A live assignment with its study and the reporter's staff group (params: p_assignment).
OPEN_ASSIGNMENT: Select[Any] = (
    select(
        ASSIGNMENT.c.id.label("assignment_id"),
        ASSIGNMENT.c.reporter_id,
        ASSIGNMENT.c.outcome,
        ASSIGNMENT.c.sourcing.label("assignment_sourcing"),
        REPORTER.c.group.label("reporter_group"),
        STUDY,
    )
    .join(STUDY, STUDY.c.id == ASSIGNMENT.c.study_id)
    .join(REPORTER, REPORTER.c.id == ASSIGNMENT.c.reporter_id)
    .where(ASSIGNMENT.c.id == bindparam("p_assignment"))
)

#: Close an assignment (params: p_assignment, p_outcome, p_now, p_reason).
END_ASSIGNMENT: Update = (
    ASSIGNMENT.update()
    .where(ASSIGNMENT.c.id == bindparam("p_assignment"))
    .values(
        outcome=bindparam("p_outcome"),
        ended_at=bindparam("p_now"),
        release_reason=bindparam("p_reason"),
    )
)

#: The study is reported; returns the study as written (params: p_id, p_now, p_reporter).
STUDY_REPORTED: Update = (
    STUDY.update()
    .where(STUDY.c.id == bindparam("p_id"))
    .values(
        status="reported",
        reported_at=bindparam("p_now"),
        reported_by=bindparam("p_reporter"),
        updated_at=bindparam("p_now"),
    )
    .returning(*STUDY.c)
)

#: The study waits again, held by nobody; returns it as written (params: p_id, p_now).
STUDY_WAITING: Update = (
    STUDY.update()
    .where(STUDY.c.id == bindparam("p_id"))
    .values(status="unreported", assignee=None, sourcing=None, updated_at=bindparam("p_now"))
    .returning(*STUDY.c)
)


def _param(name: str, type_: Any) -> Any:
    return cast(bindparam(name, type_=type_), type_)


#: The caller's open session, if they are active (PostgreSQL's one-statement claim reads it
#: there instead of in a lookup round trip of its own before the claim).
_ON_DUTY = (
    select(SESSION.c.id, SESSION.c.kind, REPORTER.c.group)
    .join(REPORTER, REPORTER.c.id == SESSION.c.reporter_id)
    .where(
        SESSION.c.reporter_id == bindparam("p_reporter"),
        SESSION.c.ended_at.is_(None),
        REPORTER.c.active.is_(True),
    )
    .order_by(SESSION.c.started_at.desc())
    .limit(1)
    .cte("on_duty")
)
_CLAIMED = (
    STUDY.update()
    .where(
        STUDY.c.study_uid == bindparam("p_uid"),
        STUDY.c.status == "unreported",
        exists(select(_ON_DUTY.c.id)),
    )
    .values(
        status="claimed",
        assignee=bindparam("p_reporter"),
        sourcing=select(_ON_DUTY.c.kind).scalar_subquery(),
        updated_at=bindparam("p_now"),
    )
    .returning(*STUDY.c)
    .cte("claimed")
)
_CLAIM_ASSIGNMENT = (
    ASSIGNMENT.insert()
    .from_select(
        [
            "id",
            "study_id",
            "reporter_id",
            "session_id",
            "sourcing",
            "work_units",
            "via",
            "claimed_at",
            "lease_expires_at",
            "reason",
        ],
        select(
            _param("p_assignment", String),
            _CLAIMED.c.id,
            _param("p_reporter", String),
            _ON_DUTY.c.id,
            _ON_DUTY.c.kind,
            _CLAIMED.c.work_units,
            _param("p_via", String),
            _param("p_now", ASSIGNMENT.c.claimed_at.type),
            _param("p_lease", ASSIGNMENT.c.lease_expires_at.type),
            _param("p_reason", JSON),
        ).select_from(_CLAIMED.join(_ON_DUTY, true())),
    )
    .returning(ASSIGNMENT.c.id)
    .cte("assigned")
)


def _audit(study: Any, kind: Any) -> Any:
    """A CTE auditing the study a data-modifying CTE returned: ``kind`` at p_now by
    p_reporter, with p_detail."""
    return (
        EVENT.insert()
        .from_select(
            ["study_id", "at", "kind", "actor", "detail"],
            select(
                study.c.id,
                _param("p_now", EVENT.c.at.type),
                kind,
                _param("p_reporter", String),
                _param("p_detail", JSON),
            ),
        )
        .returning(EVENT.c.id)
        .cte("audited")
    )


_CLAIM_EVENT = _audit(_CLAIMED, literal("claimed"))

#: PostgreSQL: take the study, write the assignment and audit it in ONE statement (one round
#: trip, its own transaction under autocommit), for an active reporter in a session (read
#: here: the session and its kind go on the assignment). Returns the study as written and the
#: reporter's staff group (``reporter_group``, for the completion: open_assignments). No row
#: back means the study was not waiting or the reporter may not pull. SQLite has no
#: data-modifying CTEs, so there the three statements run in one transaction after ``WHO``.
#: (params: p_uid, p_reporter, p_now, p_assignment, p_via, p_lease, p_reason, p_detail)
CLAIM_IN_ONE: Select[Any] = (
    select(_CLAIMED, _ON_DUTY.c.group.label("reporter_group"))
    .select_from(_CLAIMED.join(_ON_DUTY, true()))
    .add_cte(_CLAIM_ASSIGNMENT)
    .add_cte(_CLAIM_EVENT)
)


def _finish_in_one(change: Update) -> Select[Any]:
    """PostgreSQL: close the assignment, write the study's new state and audit it in ONE
    statement, as ``CLAIM_IN_ONE`` does for a claim (params: those of ``change``, of
    ``END_ASSIGNMENT``, and p_kind, p_reporter, p_detail for the event). Only an assignment
    still open and held by p_reporter is closed, and the study is written only when it was.
    Returns the study as written; no row back means the assignment was not open or not
    theirs."""
    ended = (
        END_ASSIGNMENT.where(
            ASSIGNMENT.c.reporter_id == bindparam("p_reporter"), ASSIGNMENT.c.outcome.is_(None)
        )
        .returning(ASSIGNMENT.c.id)
        .cte("ended")
    )
    changed = change.where(exists(select(ended.c.id))).cte("changed")
    return select(changed).add_cte(ended).add_cte(_audit(changed, _param("p_kind", String)))


#: PostgreSQL, a completion that is not sampled for review: one statement, autocommitted.
REPORT_IN_ONE: Select[Any] = _finish_in_one(STUDY_REPORTED)
#: PostgreSQL, a hand-back: one statement, autocommitted.
RELEASE_IN_ONE: Select[Any] = _finish_in_one(STUDY_WAITING)
