"""Headroom: work within a radiographer's scope that radiologists reported instead.

It is the room a network has to raise its radiographer share and free radiologist time.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Float, and_, func, select
from sqlalchemy import cast as sql_cast

from dashboards.periods import Period
from worklist.models import Reporter, Study

STUDY = Study.__table__  # type: ignore[attr-defined]
REPORTER = Reporter.__table__  # type: ignore[attr-defined]
GROUPS = ("radiologist", "registrar", "radiographer")


def headroom(conn: Connection, period: Period, network: str | None = None) -> list[dict[str, Any]]:
    """Per site: radiographer-reportable studies reported, by reporter group, then a total."""
    s = STUDY.c
    where = [
        s.status == "reported",
        s.radiographer_reportable.is_(True),
        s.reported_at >= period.start,
        s.reported_at < period.end,
    ]
    if network:
        where.append(s.network == network)
    group = func.coalesce(REPORTER.c.group, "other").label("grp")
    query = (
        select(s.site, group, func.count(), func.sum(sql_cast(s.work_units, Float)))
        .select_from(STUDY.outerjoin(REPORTER, REPORTER.c.id == s.reported_by))
        .where(and_(*where))
        .group_by(s.site, group)
    )
    per_site: dict[str | None, dict[str, Any]] = {}

    def blank(site: str | None) -> dict[str, Any]:
        return {
            "site": site,
            "reportable_reported": 0,
            **{f"by_{g}": 0 for g in (*GROUPS, "other")},
            "radiologist_work_units": 0.0,
        }

    total = blank(None)
    for site, grp, n, wu in conn.execute(query):
        row = per_site.setdefault(site, blank(site))
        for target in (row, total):
            target["reportable_reported"] += int(n)
            target[f"by_{grp}" if grp in GROUPS else "by_other"] += int(n)
            if grp == "radiologist":
                target["radiologist_work_units"] += float(wu or 0)
    rows = [per_site[k] for k in sorted(per_site, key=str)]
    for row in [*rows, total]:
        row["radiologist_work_units"] = round(row["radiologist_work_units"], 2)
        n = row["reportable_reported"]
        row["radiologist_fraction"] = None if n == 0 else round(row["by_radiologist"] / n, 4)
    return [*rows, total]
