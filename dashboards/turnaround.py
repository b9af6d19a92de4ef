"""Turnaround by urgency x modality: reports in a period against target, and what waits now."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Integer, and_, case, func, select
from sqlalchemy import cast as sql_cast

from dashboards.periods import Period
from dashboards.sqlstats import grouped_percentiles, minutes_between
from worklist.models import Study
from worklist.policy import URGENCIES

STUDY = Study.__table__  # type: ignore[attr-defined]
WAITING = ("unreported", "claimed", "outsourced")  # no report yet, whoever holds it


def _order(row: dict[str, Any]) -> tuple[int, str]:
    urgency = row["urgency"]
    rank = URGENCIES.index(urgency) if urgency in URGENCIES else len(URGENCIES)
    return rank, row["modality"]


def turnaround(
    conn: Connection, period: Period, now: datetime, site: str | None = None
) -> list[dict[str, Any]]:
    """Rows for GET /dashboards/turnaround; every count is one GROUP BY in SQL."""
    s = STUDY.c
    keys = (s.urgency, s.modality)
    reported_where = [s.status == "reported", s.reported_at >= period.start]
    reported_where.append(s.reported_at < period.end)
    waiting_where = [s.status.in_(WAITING)]
    if site:
        reported_where.append(s.site == site)
        waiting_where.append(s.site == site)

    rows: dict[tuple[str, str], dict[str, Any]] = {}

    def row(urgency: str, modality: str) -> dict[str, Any]:
        return rows.setdefault(
            (urgency, modality),
            {
                "urgency": urgency,
                "modality": modality,
                "reported": 0,
                "within_target": 0,
                "median_minutes": None,
                "p90_minutes": None,
                "waiting": 0,
                "breached_waiting": 0,
            },
        )

    on_time = func.sum(sql_cast(case((s.reported_at <= s.due_at, 1), else_=0), Integer))
    minutes = minutes_between(conn.dialect.name, s.reported_at, s.acquired_at)
    counts = select(*keys, func.count(), on_time).where(and_(*reported_where)).group_by(*keys)
    for urgency, modality, reported, within in conn.execute(counts):
        r = row(urgency, modality)
        r["reported"], r["within_target"] = int(reported), int(within or 0)
    source = select(*keys, minutes.label("value")).where(and_(*reported_where))
    for (urgency, modality), (median, p90) in grouped_percentiles(
        conn, source, ("urgency", "modality"), (0.5, 0.9)
    ).items():
        r = row(urgency, modality)
        r["median_minutes"] = None if median is None else round(float(median), 1)
        r["p90_minutes"] = None if p90 is None else round(float(p90), 1)

    breached = func.sum(sql_cast(case((s.due_at < now, 1), else_=0), Integer))
    waiting = select(*keys, func.count(), breached).where(and_(*waiting_where)).group_by(*keys)
    for urgency, modality, count, late in conn.execute(waiting):
        r = row(urgency, modality)
        r["waiting"], r["breached_waiting"] = int(count), int(late or 0)
    return sorted(rows.values(), key=_order)
