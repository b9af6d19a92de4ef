"""Headroom: reports by radiologists and registrars that an on-duty radiographer could have
made -- the room a network has to raise its radiographer share.

Approximation (docs/sourcing.md): a report counts when its study was radiographer-reportable
(exam catalogue) and, at the moment it was reported, some radiographer was in a session and
their *current* scope and site credentials allow the study (scopes are not versioned). It does
not ask whether that radiographer had time to spare.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, or_, select
from sqlmodel import Session, col
from sqlmodel import select as sm_select

from allocator.eligibility import may_report
from allocator.types import ReporterProfile
from worklist.models import Reporter, ReporterSession, Study
from worklist.reference.profiles import profile_of
from worklist.studies.queueing import to_queued

STUDY = Study.__table__  # type: ignore[attr-defined]
REPORTER = Reporter.__table__  # type: ignore[attr-defined]


def _blank(site: str | None) -> dict[str, Any]:
    return {
        "site": site,
        "reportable_reported": 0,
        "by_radiographer": 0,
        "by_others": 0,
        "radiographer_on_duty": 0,
        "headroom_work_units": 0.0,
        "headroom_share": None,
    }


def headroom(
    conn: Connection, start: datetime, end: datetime, network: str | None = None
) -> list[dict[str, Any]]:
    """Per site, then the network total (``site`` null)."""
    s = STUDY.c
    where = [
        s.status == "reported",
        s.radiographer_reportable.is_(True),
        s.reported_at >= start,
        s.reported_at < end,
    ]
    if network:
        where.append(s.network == network)
    rows = conn.execute(
        select(STUDY, REPORTER.c.group.label("reporter_group"))
        .select_from(STUDY.outerjoin(REPORTER, REPORTER.c.id == s.reported_by))
        .where(*where)
    ).all()
    duty = _radiographer_sessions(conn, start, end)
    per_site: dict[str, dict[str, Any]] = defaultdict(lambda: _blank(None))
    total = _blank(None)
    for r in rows:
        site_row = per_site[r.site]
        site_row["site"] = r.site
        by_radiographer = r.reporter_group == "radiographer"
        could = not by_radiographer and _could(duty, r._mapping)
        for target in (site_row, total):
            target["reportable_reported"] += 1
            target["by_radiographer" if by_radiographer else "by_others"] += 1
            if could:
                target["radiographer_on_duty"] += 1
                target["headroom_work_units"] += float(r.work_units or 0)
    out = [per_site[k] for k in sorted(per_site)] + [total]
    for row in out:
        row["headroom_work_units"] = round(row["headroom_work_units"], 2)
        n = row["reportable_reported"]
        row["headroom_share"] = round(row["radiographer_on_duty"] / n, 4) if n else None
    return out


Duty = list[tuple[ReporterProfile, datetime, datetime]]


def _radiographer_sessions(conn: Connection, start: datetime, end: datetime) -> Duty:
    with Session(conn) as db:
        found = db.exec(
            sm_select(ReporterSession, Reporter)
            .join(Reporter, col(Reporter.id) == col(ReporterSession.reporter_id))
            .where(
                Reporter.group == "radiographer",
                col(ReporterSession.started_at) < end,
                or_(
                    col(ReporterSession.ended_at).is_(None),
                    col(ReporterSession.ended_at) > start,
                ),
            )
        ).all()
        now = datetime.now(UTC)
        return [(profile_of(r), s.started_at, s.ended_at or now) for s, r in found]


def _could(duty: Duty, study: Any) -> bool:
    at = study["reported_at"]
    queued = to_queued(study)
    return any(
        a <= at < b and may_report(p, queued, int(study["widening_stage"] or 0)) for p, a, b in duty
    )
