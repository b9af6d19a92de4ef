"""Headroom: radiographer-reportable work that radiologists, registrars (or reporters the
balancer does not know) reported while a radiographer who may report it was on duty -- the room
a network has to raise its radiographer share and free radiologist time.

The one implementation behind ``GET /api/v1/dashboards/headroom``. Per site (sites with
reportable reports, sorted) and then the network total (``site`` null):

- ``reportable_reported``: radiographer-reportable studies (exam catalogue) reported in the
  period, and who reported them: ``by_radiologist``, ``by_registrar``, ``by_radiographer``,
  ``by_other`` (a reporter the balancer does not know, or none named);
- ``radiologist_work_units`` and ``radiologist_fraction``: the radiologists' part of them;
- ``radiographer_on_duty``: the reports not made by a radiographer when, at the moment of the
  report, some radiographer was in a session and their *current* scope and site credentials
  allow the study (scopes are not versioned; whether that radiographer had time to spare is
  not asked), with their ``headroom_work_units`` and ``headroom_share`` (of
  ``reportable_reported``).
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
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
GROUPS = ("radiologist", "registrar", "radiographer")
Duty = list[tuple[datetime, datetime, ReporterProfile]]  # (start, end, who), by start


def _blank(site: str | None) -> dict[str, Any]:
    return {
        "site": site,
        "reportable_reported": 0,
        **{f"by_{g}": 0 for g in (*GROUPS, "other")},
        "radiologist_work_units": 0.0,
        "radiologist_fraction": None,
        "radiographer_on_duty": 0,
        "headroom_work_units": 0.0,
        "headroom_share": None,
    }


def headroom(
    conn: Connection, start: datetime, end: datetime, network: str | None = None
) -> list[dict[str, Any]]:
    """Per site with reportable reports, then the network total (``site`` null)."""
    s = STUDY.c
    where = [
        s.status == "reported",
        s.radiographer_reportable.is_(True),
        s.reported_at >= start,
        s.reported_at < end,
    ]
    if network:
        where.append(s.network == network)
    reports = conn.execute(
        select(STUDY, REPORTER.c.group.label("reporter_group"))
        .select_from(STUDY.outerjoin(REPORTER, REPORTER.c.id == s.reported_by))
        .where(*where)
        .order_by(s.reported_at)
    ).all()
    on_duty = OnDuty(_radiographer_sessions(conn, start, end, network))
    per_site: dict[str, dict[str, Any]] = {}
    total = _blank(None)
    for r in reports:
        group = r.reporter_group if r.reporter_group in GROUPS else "other"
        wu = float(r.work_units or 0)
        could = group != "radiographer" and on_duty.could(r._mapping)
        for row in (per_site.setdefault(r.site, _blank(r.site)), total):
            row["reportable_reported"] += 1
            row[f"by_{group}"] += 1
            if group == "radiologist":
                row["radiologist_work_units"] += wu
            if could:
                row["radiographer_on_duty"] += 1
                row["headroom_work_units"] += wu
    out = [per_site[k] for k in sorted(per_site)] + [total]
    for row in out:
        n = row["reportable_reported"]
        for key in ("radiologist_work_units", "headroom_work_units"):
            row[key] = round(row[key], 2)
        if n:
            row["radiologist_fraction"] = round(row["by_radiologist"] / n, 4)
            row["headroom_share"] = round(row["radiographer_on_duty"] / n, 4)
    return out


def _radiographer_sessions(
    conn: Connection, start: datetime, end: datetime, network: str | None
) -> Duty:
    """Radiographers' sessions overlapping [start, end), earliest first (open ones end now)."""
    query = (
        sm_select(ReporterSession, Reporter)
        .join(Reporter, col(Reporter.id) == col(ReporterSession.reporter_id))
        .where(
            Reporter.group == "radiographer",
            col(ReporterSession.started_at) < end,
            or_(col(ReporterSession.ended_at).is_(None), col(ReporterSession.ended_at) > start),
        )
    )
    if network:
        query = query.where(Reporter.network == network)
    with Session(conn) as db:
        now = datetime.now(UTC)
        found = [(s.started_at, s.ended_at or now, profile_of(r)) for s, r in db.exec(query)]
    return sorted(found, key=lambda d: d[0])


class OnDuty:
    """Who was on duty at a moment, for moments asked in time order (a sweep over sessions)."""

    def __init__(self, duty: Sequence[tuple[datetime, datetime, ReporterProfile]]) -> None:
        self._duty = duty
        self._next = 0
        self._open: list[tuple[datetime, int]] = []  # (end, index into duty), a heap

    def at(self, moment: datetime) -> list[ReporterProfile]:
        while self._next < len(self._duty) and self._duty[self._next][0] <= moment:
            heapq.heappush(self._open, (self._duty[self._next][1], self._next))
            self._next += 1
        while self._open and self._open[0][0] <= moment:
            heapq.heappop(self._open)
        return [self._duty[i][2] for _, i in self._open]

    def could(self, study: Any) -> bool:
        """Whether a radiographer on duty when the study (a row mapping) was reported may
        report it."""
        profiles = self.at(study["reported_at"])
        if not profiles:
            return False
        queued, stage = to_queued(study), int(study["widening_stage"] or 0)
        return any(may_report(p, queued, stage) for p in profiles)
