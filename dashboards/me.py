"""What a reporter's own page needs: their session, the case in hand, held cases, today's tally."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Float, and_, func, select
from sqlalchemy import cast as sql_cast

from worklist.models import Assignment, ReporterSession, Study
from worklist.studies.schemas import StudyPublic

ASSIGNMENT = Assignment.__table__  # type: ignore[attr-defined]
SESSION = ReporterSession.__table__  # type: ignore[attr-defined]
STUDY = Study.__table__  # type: ignore[attr-defined]


def tally(conn: Connection, reporter_id: str, start: datetime, end: datetime) -> dict[str, Any]:
    """Assignments that ended in [start, end) by outcome and sourcing, with work units."""
    a = ASSIGNMENT.c
    query = (
        select(a.outcome, a.sourcing, func.count(), func.sum(sql_cast(a.work_units, Float)))
        .where(
            and_(
                a.reporter_id == reporter_id,
                a.ended_at >= start,
                a.ended_at < end,
                a.outcome.is_not(None),
            )
        )
        .group_by(a.outcome, a.sourcing)
    )
    out: dict[str, Any] = {
        "completed": 0,
        "work_units": 0.0,
        "released": 0,
        "expired": 0,
        "by_sourcing": {},
    }
    for outcome, sourcing, n, wu in conn.execute(query):
        if outcome == "completed":
            out["completed"] += int(n)
            out["work_units"] += float(wu or 0)
            kind = out["by_sourcing"].setdefault(sourcing, {"completed": 0, "work_units": 0.0})
            kind["completed"] += int(n)
            kind["work_units"] = round(kind["work_units"] + float(wu or 0), 2)
        elif outcome in ("released", "expired"):
            out[outcome] += int(n)
    out["work_units"] = round(out["work_units"], 2)
    return out


def session_and_case(conn: Connection, reporter_id: str) -> dict[str, Any]:
    """The open session (or null) and the open assignment with its study (or null)."""
    session = conn.execute(
        select(SESSION.c.id, SESSION.c.kind, SESSION.c.started_at).where(
            SESSION.c.reporter_id == reporter_id, SESSION.c.ended_at.is_(None)
        )
    ).first()
    a = ASSIGNMENT.c
    current = conn.execute(
        select(a.id, a.study_id, a.lease_expires_at, a.reason, a.via, a.claimed_at)
        .where(a.reporter_id == reporter_id, a.outcome.is_(None))
        .order_by(a.claimed_at.desc())
        .limit(1)
    ).first()
    case: dict[str, Any] | None = None
    if current is not None:
        study = conn.execute(select(STUDY).where(STUDY.c.id == current.study_id)).first()
        if study is not None:
            public = StudyPublic.model_validate(dict(study._mapping))
            case = {
                "assignment_id": current.id,
                "study": public.model_dump(mode="json"),
                "due_at": study.due_at.isoformat(),
                "lease_expires_at": current.lease_expires_at.isoformat(),
                "reason": {"via": current.via, **(current.reason or {})},
            }
    return {
        "session": None
        if session is None
        else {
            "session_id": session.id,
            "kind": session.kind,
            "started_at": session.started_at.isoformat(),
        },
        "current": case,
    }
