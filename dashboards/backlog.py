"""The live operations picture: what waits where, how old, what breaches next, who is on duty."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Float, Integer, and_, case, func, literal, select
from sqlalchemy import cast as sql_cast

from dashboards.buckets import bucket_index
from dashboards.periods import local_midnight
from worklist.models import Assignment, Reporter, ReporterSession, Study
from worklist.policy import URGENCIES

STUDY = Study.__table__  # type: ignore[attr-defined]
REPORTER = Reporter.__table__  # type: ignore[attr-defined]
SESSION = ReporterSession.__table__  # type: ignore[attr-defined]
ASSIGNMENT = Assignment.__table__  # type: ignore[attr-defined]
IN_QUEUE = ("unreported", "claimed")
AGE_BUCKETS: tuple[tuple[str, timedelta | None], ...] = (
    ("<1h", timedelta(hours=1)),
    ("1-4h", timedelta(hours=4)),
    ("4-24h", timedelta(hours=24)),
    ("1-3d", timedelta(days=3)),
    ("3-7d", timedelta(days=7)),
    (">7d", None),
)


def _count(condition: Any) -> Any:
    return func.coalesce(func.sum(sql_cast(case((condition, 1), else_=0), Integer)), 0)


def _urgency_rank(urgency: str) -> int:
    return URGENCIES.index(urgency) if urgency in URGENCIES else len(URGENCIES)


def by_bucket(conn: Connection, now: datetime, site: str | None) -> list[dict[str, Any]]:
    """Waiting, claimed and outsourced studies by site x modality x urgency."""
    s = STUDY.c
    where = [s.status.in_((*IN_QUEUE, "outsourced"))]
    if site:
        where.append(s.site == site)
    in_queue = s.status.in_(IN_QUEUE)
    query = (
        select(
            s.site,
            s.modality,
            s.urgency,
            _count(s.status == "unreported"),
            _count(s.status == "claimed"),
            _count(s.status == "outsourced"),
            _count(and_(in_queue, s.due_at < now)),
            func.min(case((in_queue, s.acquired_at), else_=None)),
        )
        .where(and_(*where))
        .group_by(s.site, s.modality, s.urgency)
    )
    rows = []
    for site_, modality, urgency, waiting, claimed, outsourced, breached, oldest in conn.execute(
        query
    ):
        oldest_at = STUDY.c.acquired_at.type.process_result_value(oldest, conn.dialect)
        rows.append(
            {
                "site": site_,
                "modality": modality,
                "urgency": urgency,
                "waiting": int(waiting),
                "claimed": int(claimed),
                "outsourced": int(outsourced),
                "breached": int(breached),
                "oldest_minutes": None
                if oldest_at is None
                else round((now - oldest_at).total_seconds() / 60, 1),
            }
        )
    rows.sort(key=lambda r: (r["site"], _urgency_rank(r["urgency"]), r["modality"]))
    return rows


def ages(conn: Connection, now: datetime, site: str | None) -> list[dict[str, Any]]:
    """Studies in the queue by age since acquisition and urgency."""
    s = STUDY.c
    whens = [
        (s.acquired_at > now - limit, literal(i))
        for i, (_, limit) in enumerate(AGE_BUCKETS)
        if limit is not None
    ]
    bucket = case(*whens, else_=literal(len(AGE_BUCKETS) - 1)).label("bucket")
    where = [s.status.in_(IN_QUEUE)]
    if site:
        where.append(s.site == site)
    query = select(bucket, s.urgency, func.count()).where(and_(*where)).group_by(bucket, s.urgency)
    counts = {(int(b), u): int(n) for b, u, n in conn.execute(query)}
    urgencies = sorted({u for _, u in counts}, key=_urgency_rank)
    return [
        {"age": label, "by_urgency": {u: counts.get((i, u), 0) for u in urgencies}}
        for i, (label, _) in enumerate(AGE_BUCKETS)
    ]


def _due_list(
    conn: Connection, now: datetime, site: str | None, where: list[Any], limit: int
) -> list[dict[str, Any]]:
    s = STUDY.c
    if site:
        where.append(s.site == site)
    query = (
        select(
            s.study_uid,
            s.site,
            s.modality,
            s.urgency,
            s.body_part,
            s.description,
            s.status,
            s.assignee,
            s.acquired_at,
            s.due_at,
            s.widening_stage,
            s.outsourcing_recommended,
        )
        .where(and_(s.status.in_(IN_QUEUE), *where))
        .order_by(s.due_at, s.id)
        .limit(limit)
    )
    return [
        {
            **row._mapping,
            "minutes_left": round((row.due_at - now).total_seconds() / 60, 1),
        }
        for row in conn.execute(query)
    ]


def at_risk(
    conn: Connection, now: datetime, site: str | None, horizon: timedelta, limit: int
) -> list[dict[str, Any]]:
    """Not yet breached but due within the horizon: the predicted breach time is due_at."""
    s = STUDY.c
    return _due_list(conn, now, site, [s.due_at >= now, s.due_at <= now + horizon], limit)


def breached(conn: Connection, now: datetime, site: str | None, limit: int) -> list[dict[str, Any]]:
    """Already past due, the longest overdue first."""
    return _due_list(conn, now, site, [STUDY.c.due_at < now], limit)


def throughput(
    conn: Connection, today: date, tz_name: str, now: datetime, site: str | None
) -> list[dict[str, Any]]:
    """Reports and arrivals per local hour of today (23 or 25 hours on clock-change days)."""
    tz = ZoneInfo(tz_name)
    start, end = local_midnight(today, tz), local_midnight(today + timedelta(days=1), tz)
    hours = int((end - start).total_seconds() // 3600)
    bounds = [start + timedelta(hours=h) for h in range(hours + 1)]
    s = STUDY.c
    out = [
        {"hour": b.astimezone(tz).strftime("%H:%M"), "reported": 0, "arrived": 0}
        for b in bounds[:-1]
    ]
    for column, field, extra in (
        (s.reported_at, "reported", [s.status == "reported"]),
        (s.acquired_at, "arrived", []),
    ):
        index = bucket_index(column, bounds).label("h")
        where = [column >= start, column < end, *extra]
        if site:
            where.append(s.site == site)
        for h, n in conn.execute(select(index, func.count()).where(and_(*where)).group_by(index)):
            if 0 <= int(h) < hours:
                out[int(h)][field] = int(n)
    limit = int((now - start).total_seconds() // 3600) + 1
    return out[: max(0, min(hours, limit))]


def on_duty(conn: Connection, today_start: datetime) -> list[dict[str, Any]]:
    """Reporters in an open session, with what they hold and what they finished today."""
    a = ASSIGNMENT.c
    query = (
        select(
            SESSION.c.reporter_id,
            REPORTER.c.name,
            REPORTER.c.group,
            REPORTER.c.home_site,
            SESSION.c.kind,
            SESSION.c.started_at,
        )
        .select_from(SESSION.join(REPORTER, REPORTER.c.id == SESSION.c.reporter_id))
        .where(SESSION.c.ended_at.is_(None))
        .order_by(REPORTER.c.group, SESSION.c.reporter_id)
    )
    people = [dict(row._mapping) for row in conn.execute(query)]
    if not people:
        return []
    ids = [p["reporter_id"] for p in people]
    work = select(
        a.reporter_id,
        _count(a.outcome.is_(None)),
        _count(and_(a.outcome == "completed", a.ended_at >= today_start)),
        func.coalesce(
            func.sum(
                case(
                    (and_(a.outcome == "completed", a.ended_at >= today_start), a.work_units),
                    else_=0.0,
                )
            ),
            0.0,
        ).cast(Float),
    ).where(
        a.reporter_id.in_(ids),
        (a.outcome.is_(None)) | (a.ended_at >= today_start),
    )
    tallies = {
        rid: (int(h), int(c), float(w))
        for rid, h, c, w in conn.execute(work.group_by(a.reporter_id))
    }
    for p in people:
        held, done, wu = tallies.get(p["reporter_id"], (0, 0, 0.0))
        p.update(in_hand=held, completed_today=done, work_units_today=round(wu, 2))
    return people
