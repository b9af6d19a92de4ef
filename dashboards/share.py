"""Radiographer share of plain X-ray reporting (CR, DX) by site, for a period or by month."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import Connection, Integer, and_, case, func, select
from sqlalchemy import cast as sql_cast

from dashboards.buckets import month_bounds, month_index, month_label
from dashboards.periods import Period
from worklist.models import Reporter, Site, Study

STUDY = Study.__table__  # type: ignore[attr-defined]
REPORTER = Reporter.__table__  # type: ignore[attr-defined]
SITE = Site.__table__  # type: ignore[attr-defined]
PLAIN_XRAY = ("CR", "DX")


def _share(reported: int, by_radiographer: int) -> float | None:
    return None if reported == 0 else round(by_radiographer / reported, 4)


def _row(site: str | None, reported: int, by_radiographer: int, **extra: Any) -> dict[str, Any]:
    return {
        **extra,
        "site": site,
        "reported": reported,
        "by_radiographer": by_radiographer,
        "share": _share(reported, by_radiographer),
    }


def _by_radiographer() -> Any:
    is_rg = case((REPORTER.c.group == "radiographer", 1), else_=0)
    return func.coalesce(func.sum(sql_cast(is_rg, Integer)), 0)


def _reported_xray(start: Any, end: Any) -> list[Any]:
    s = STUDY.c
    return [
        s.status == "reported",
        s.modality.in_(PLAIN_XRAY),
        s.reported_at >= start,
        s.reported_at < end,
    ]


def reporting_share(
    conn: Connection, period: Period, network: str | None = None
) -> list[dict[str, Any]]:
    """One row per registered site (share null when nothing was reported), then the total."""
    s = STUDY.c
    where = _reported_xray(period.start, period.end)
    if network:
        where.append(s.network == network)
    query = (
        select(s.site, func.count(), _by_radiographer())
        .select_from(STUDY.outerjoin(REPORTER, REPORTER.c.id == s.reported_by))
        .where(and_(*where))
        .group_by(s.site)
    )
    counts = {site: (int(n), int(rg)) for site, n, rg in conn.execute(query)}
    sites_query = select(SITE.c.code).order_by(SITE.c.code)
    if network:
        sites_query = sites_query.where(SITE.c.network == network)
    sites = list(conn.execute(sites_query).scalars())
    sites += sorted(set(counts) - set(sites))
    rows = [_row(site, *counts.get(site, (0, 0))) for site in sites]
    total = sum(n for n, _ in counts.values()), sum(rg for _, rg in counts.values())
    return [*rows, _row(None, *total)]


def reporting_share_monthly(
    conn: Connection, starts: Sequence[date], tz_name: str, network: str | None = None
) -> list[dict[str, Any]]:
    """Per local month: a row per site that reported plain X-ray, then the month's total."""
    s = STUDY.c
    bounds = month_bounds(starts, tz_name)
    month = month_index(conn.dialect.name, s.reported_at, starts, tz_name).label("month")
    where = _reported_xray(bounds[0], bounds[-1])
    if network:
        where.append(s.network == network)
    inner = (
        select(month, s.site, REPORTER.c.group.label("grp"))
        .select_from(STUDY.outerjoin(REPORTER, REPORTER.c.id == s.reported_by))
        .where(and_(*where))
        .subquery()
    )
    is_rg = func.sum(sql_cast(case((inner.c.grp == "radiographer", 1), else_=0), Integer))
    query = select(inner.c.month, inner.c.site, func.count(), is_rg).group_by(
        inner.c.month, inner.c.site
    )
    found: dict[int, dict[str, tuple[int, int]]] = {}
    for index, site, n, rg in conn.execute(query):
        found.setdefault(int(index), {})[site] = (int(n), int(rg or 0))
    rows: list[dict[str, Any]] = []
    for index, day in enumerate(starts[:-1]):
        label = month_label(day)
        per_site = found.get(index, {})
        for site in sorted(per_site):
            rows.append(_row(site, *per_site[site], month=label))
        total = sum(n for n, _ in per_site.values()), sum(rg for _, rg in per_site.values())
        rows.append(_row(None, *total, month=label))
    return rows
