"""Who reported the work: core sessions, insourced sessions or outsourcing companies.

Counts and work units come from reported studies' ``sourcing``; the money is the provider's
price recorded in each study's "outsourced" audit event. Core and insourced sessions carry no
price in the data, so their cost is null rather than a made-up number.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, and_, func, select

from dashboards.buckets import bucket_index, month_bounds, month_index, month_label
from dashboards.periods import Period
from worklist.models import Site, Study, StudyEvent

STUDY = Study.__table__  # type: ignore[attr-defined]
EVENT = StudyEvent.__table__  # type: ignore[attr-defined]
SITE = Site.__table__  # type: ignore[attr-defined]
KINDS = ("core", "insourced", "outsourced")
Key = tuple[int, str]  # (month index, site); index 0 when there is one period


class _Tally:
    def __init__(self) -> None:
        self.n = dict.fromkeys(KINDS, 0)
        self.wu = dict.fromkeys(KINDS, 0.0)
        self.cost = 0.0
        self.other = 0

    def add(self, other: _Tally) -> None:
        for k in KINDS:
            self.n[k] += other.n[k]
            self.wu[k] += other.wu[k]
        self.cost += other.cost
        self.other += other.other

    def row(self, site: str | None, **extra: Any) -> dict[str, Any]:
        return {
            **extra,
            "site": site,
            **self.n,
            "unattributed": self.other,
            "work_units": {k: round(v, 2) for k, v in self.wu.items()},
            "cost": {"core": None, "insourced": None, "outsourced": round(self.cost, 2)},
        }


def _tallies(
    conn: Connection,
    bounds: Sequence[datetime],
    network: str | None,
    months: tuple[Sequence[date], str] | None = None,
) -> dict[Key, _Tally]:
    s = STUDY.c
    index = (
        month_index(conn.dialect.name, s.reported_at, *months)
        if months
        else bucket_index(s.reported_at, bounds)
    ).label("bucket")
    where = [s.status == "reported", s.reported_at >= bounds[0], s.reported_at < bounds[-1]]
    if network:
        where.append(s.network == network)
    counts = (
        select(index, s.site, s.sourcing, func.count(), func.sum(s.work_units))
        .where(and_(*where))
        .group_by(index, s.site, s.sourcing)
    )
    out: dict[Key, _Tally] = {}
    for bucket, site, sourcing, n, wu in conn.execute(counts):
        tally = out.setdefault((int(bucket), site), _Tally())
        if sourcing in KINDS:
            tally.n[sourcing] += int(n)
            tally.wu[sourcing] += float(wu or 0)
        else:
            tally.other += int(n)
    price = EVENT.c.detail["price"].as_float()
    costs = (
        select(index, s.site, func.sum(price))
        .select_from(
            STUDY.join(EVENT, and_(EVENT.c.study_id == s.id, EVENT.c.kind == "outsourced"))
        )
        .where(and_(*where, s.sourcing == "outsourced"))
        .group_by(index, s.site)
    )
    for bucket, site, cost in conn.execute(costs):
        out.setdefault((int(bucket), site), _Tally()).cost += float(cost or 0)
    return out


def sourcing(conn: Connection, period: Period, network: str | None = None) -> list[dict[str, Any]]:
    """One row per registered site, then the network total (``site`` null)."""
    found = {
        site: t for (_, site), t in _tallies(conn, [period.start, period.end], network).items()
    }
    sites_query = select(SITE.c.code).order_by(SITE.c.code)
    if network:
        sites_query = sites_query.where(SITE.c.network == network)
    sites = list(conn.execute(sites_query).scalars())
    sites += sorted(set(found) - set(sites))
    total = _Tally()
    rows = []
    for site in sites:
        tally = found.get(site, _Tally())
        total.add(tally)
        rows.append(tally.row(site))
    return [*rows, total.row(None)]


def sourcing_monthly(
    conn: Connection, starts: Sequence[date], tz_name: str, network: str | None = None
) -> list[dict[str, Any]]:
    """Per local month: a row per site with reports, then the month's total."""
    found = _tallies(conn, month_bounds(starts, tz_name), network, (starts, tz_name))
    rows: list[dict[str, Any]] = []
    for index, day in enumerate(starts[:-1]):
        label = month_label(day)
        total = _Tally()
        for (i, site), tally in sorted(found.items()):
            if i == index:
                total.add(tally)
                rows.append(tally.row(site, month=label))
        rows.append(total.row(None, month=label))
    return rows
