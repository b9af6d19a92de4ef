"""Who reported a period's work and what it cost, by site and sourcing (API.md's sourcing rows).

The one implementation behind ``GET /api/v1/dashboards/sourcing`` and its monthly variant.

- core: 0 (paid in job plans) unless a core rate exists, then priced as insourced;
- insourced: the rostered session's own rate when the session matches a roster entry with a
  rate, else the network rate for the reporter's group effective at the time.
  A ``work_unit`` rate is amount x the report's work units; a ``session`` rate is the amount
  for the whole session, apportioned over the session's reports by work units (so a session's
  cost is spread over the days its reports fall in, and sums to the rate);
- outsourced: the provider's price fixed on the study's (latest) order when it was sent; a study
  sent before orders existed keeps the price recorded in its ``outsourced`` audit event.
A report is counted when it was reported (``reported_at`` in the period). Reports with no
sourcing (made outside the balancer without ever being claimed) are counted as ``unattributed``.

Everything is grouped in SQL: reports are priced per group of (bucket, site, session, reporter
group, rate epoch), where a rate epoch is a stretch between two rate versions' start instants,
so a group's reports share one rate and a per-work-unit price is linear in the group's units.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, case, exists, func, literal, select
from sqlmodel import Session

from dashboards.buckets import bucket_index, month_bounds, month_label
from worklist.models import (
    Assignment,
    OutsourcingOrder,
    Reporter,
    ReporterSession,
    RosterEntry,
    SessionRate,
    Site,
    Study,
    StudyEvent,
)
from worklist.sourcing.rates import RateBook, load_rates

STUDY = Study.__table__  # type: ignore[attr-defined]
ASSIGNMENT = Assignment.__table__  # type: ignore[attr-defined]
REPORTER = Reporter.__table__  # type: ignore[attr-defined]
SESSION = ReporterSession.__table__  # type: ignore[attr-defined]
ROSTER = RosterEntry.__table__  # type: ignore[attr-defined]
ORDER = OutsourcingOrder.__table__  # type: ignore[attr-defined]
EVENT = StudyEvent.__table__  # type: ignore[attr-defined]
RATE = SessionRate.__table__  # type: ignore[attr-defined]
SITE = Site.__table__  # type: ignore[attr-defined]
KINDS = ("core", "insourced", "outsourced")
SESSION_KINDS = ("core", "insourced")
REPORTED_OUTCOMES = ("completed", "external-report")
EARLY_START = timedelta(hours=1)
CHUNK = 500  # ids per IN (...) list
Key = tuple[int, str]  # (bucket index, site); bucket 0 when there is one period


@dataclass
class Tally:
    n: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    wu: dict[str, float] = field(default_factory=lambda: dict.fromkeys(KINDS, 0.0))
    cost: dict[str, float] = field(default_factory=lambda: dict.fromkeys(KINDS, 0.0))
    unattributed: int = 0

    def add(self, other: Tally) -> None:
        for k in KINDS:
            self.n[k] += other.n[k]
            self.wu[k] += other.wu[k]
            self.cost[k] += other.cost[k]
        self.unattributed += other.unattributed

    def row(self, site: str | None, **extra: Any) -> dict[str, Any]:
        return {
            **extra,
            "site": site,
            **self.n,
            "unattributed": self.unattributed,
            "work_units": {k: round(v, 2) for k, v in self.wu.items()},
            "cost": {k: round(v, 2) for k, v in self.cost.items()},
        }


@dataclass(frozen=True)
class SessionPrice:
    """How one reporting session is paid: a basis and an amount."""

    basis: str
    amount: float


def _chunks(ids: Iterable[Any]) -> Iterator[list[Any]]:
    items = sorted(ids)
    for i in range(0, len(items), CHUNK):
        yield items[i : i + CHUNK]


class SessionPricer:
    """Prices the sessions of the reports being costed (roster rate, else network rate)."""

    def __init__(self, conn: Connection, session_ids: set[int], books: dict[str, RateBook]):
        self.books = books
        self.sessions: dict[int, Any] = {}
        self.session_wu: dict[int, float] = {}
        for chunk in _chunks(session_ids):
            columns = (SESSION.c.id, SESSION.c.reporter_id, SESSION.c.kind, SESSION.c.started_at)
            for r in conn.execute(select(*columns).where(SESSION.c.id.in_(chunk))):
                self.sessions[r.id] = r
            reported = (
                select(ASSIGNMENT.c.session_id, func.sum(ASSIGNMENT.c.work_units))
                .where(
                    ASSIGNMENT.c.session_id.in_(chunk),
                    ASSIGNMENT.c.outcome.in_(REPORTED_OUTCOMES),
                )
                .group_by(ASSIGNMENT.c.session_id)
            )
            self.session_wu.update({sid: float(wu or 0) for sid, wu in conn.execute(reported)})
        self.roster: dict[str, list[Any]] = defaultdict(list)
        reporters = {s.reporter_id for s in self.sessions.values()}
        if reporters:
            starts = [x.started_at for x in self.sessions.values()]
            near = select(ROSTER).where(
                ROSTER.c.reporter_id.in_(reporters),
                ROSTER.c.start <= max(starts) + EARLY_START,
                ROSTER.c.end > min(starts),
            )
            for e in conn.execute(near):
                self.roster[e.reporter_id].append(e)

    def _rostered(self, session: Any) -> Any | None:
        for e in self.roster.get(session.reporter_id, []):
            if e.kind == session.kind and e.start - EARLY_START <= session.started_at < e.end:
                return e
        return None

    def cost(
        self,
        session_id: int | None,
        network: str,
        group: str | None,
        kind: str,
        wu: float,
        reported_at: datetime,
    ) -> float:
        """The cost of ``wu`` work units reported in this session at ``reported_at``."""
        session = self.sessions.get(session_id) if session_id is not None else None
        price: SessionPrice | None = None
        rostered = self._rostered(session) if session is not None else None
        if rostered is not None and rostered.rate is not None:
            price = SessionPrice(rostered.rate_basis, float(rostered.rate))
        elif network in self.books:
            when = session.started_at if session is not None else reported_at
            rate = self.books[network].at(kind, group, when)
            if rate is not None and rate.basis == "work_unit":
                rate = self.books[network].at(kind, group, reported_at)
            if rate is not None:
                price = SessionPrice(rate.basis, rate.amount)
        if price is None:
            return 0.0
        if price.basis == "work_unit":
            return price.amount * wu
        total = self.session_wu.get(session_id or -1, 0.0)
        return price.amount * wu / total if total > 0 else 0.0


def _epoch(column: Any, changes: Sequence[datetime]) -> ColumnElement[int]:
    """Which stretch between rate changes an instant falls in (0 before the first change)."""
    if not changes:
        return literal(0)
    return case(*[(column < c, literal(i)) for i, c in enumerate(changes)], else_=len(changes))


def _tallies(conn: Connection, bounds: Sequence[datetime], network: str | None) -> dict[Key, Tally]:
    """Counts, work units and cost per (bucket, site) for reports in [bounds[0], bounds[-1])."""
    s = STUDY.c
    bucket = bucket_index(s.reported_at, bounds).label("bucket")
    where = [s.status == "reported", s.reported_at >= bounds[0], s.reported_at < bounds[-1]]
    if network:
        where.append(s.network == network)
    out: dict[Key, Tally] = defaultdict(Tally)

    counts = (
        select(bucket, s.site, s.sourcing, func.count(), func.sum(s.work_units))
        .where(*where)
        .group_by(bucket, s.site, s.sourcing)
    )
    for i, site, sourcing, n, wu in conn.execute(counts):
        tally = out[int(i), site]
        if sourcing in KINDS:
            tally.n[sourcing] += int(n)
            tally.wu[sourcing] += float(wu or 0)
        else:
            tally.unattributed += int(n)

    order_price = (
        select(ORDER.c.price)
        .where(ORDER.c.study_id == s.id)
        .order_by(ORDER.c.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    event_price = (
        select(EVENT.c.detail["price"].as_float())
        .where(EVENT.c.study_id == s.id, EVENT.c.kind == "outsourced")
        .order_by(EVENT.c.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    outsourced = (
        select(bucket, s.site, func.sum(func.coalesce(order_price, event_price, 0.0)))
        .where(*where, s.sourcing == "outsourced")
        .group_by(bucket, s.site)
    )
    for i, site, cost in conn.execute(outsourced):
        out[int(i), site].cost["outsourced"] += float(cost or 0)

    _price_sessions(conn, bucket, where, out)
    return out


def _price_sessions(
    conn: Connection, bucket: ColumnElement[int], where: list[Any], out: dict[Key, Tally]
) -> None:
    """Add the cost of core and insourced reports (0 where no rate applies)."""
    s, a = STUDY.c, ASSIGNMENT.c
    rate_query = select(RATE.c.effective_from).distinct()
    changes = sorted(conn.execute(rate_query).scalars())
    epoch = _epoch(s.reported_at, changes).label("epoch")
    later = ASSIGNMENT.alias("later")
    superseded = exists().where(  # a study reported twice is priced by its latest claim
        later.c.study_id == a.study_id,
        later.c.outcome.in_(REPORTED_OUTCOMES),
        later.c.claimed_at > a.claimed_at,
    )
    claim = and_(a.study_id == s.id, a.outcome.in_(REPORTED_OUTCOMES), ~superseded)
    grp = REPORTER.c.group
    groups = conn.execute(
        select(
            bucket,
            s.site,
            s.network,
            s.sourcing,
            a.session_id,
            grp,
            epoch,
            func.sum(func.coalesce(a.work_units, s.work_units)),
            func.min(s.reported_at),
        )
        .select_from(
            STUDY.outerjoin(ASSIGNMENT, claim).outerjoin(REPORTER, REPORTER.c.id == a.reporter_id)
        )
        .where(*where, s.sourcing.in_(SESSION_KINDS))
        .group_by(bucket, s.site, s.network, s.sourcing, a.session_id, grp, epoch)
    ).all()
    if not groups:
        return
    with Session(conn) as db:
        books = {n: load_rates(db, n) for n in {g.network for g in groups}}
    pricer = SessionPricer(conn, {g.session_id for g in groups if g.session_id}, books)
    for i, site, net, kind, session_id, group, _, wu, first in groups:
        cost = pricer.cost(session_id, net, group, kind, float(wu or 0), first)
        out[int(i), site].cost[kind] += cost


def _sites(conn: Connection, network: str | None, found: Iterable[str]) -> list[str]:
    """Every registered site (of the network), then any other site with reports."""
    query = select(SITE.c.code).order_by(SITE.c.code)
    if network:
        query = query.where(SITE.c.network == network)
    sites = list(conn.execute(query).scalars())
    return sites + sorted(set(found) - set(sites))


def sourcing_costs(
    conn: Connection, start: datetime, end: datetime, network: str | None = None
) -> list[dict[str, Any]]:
    """One row per site (every registered site), then the network total (``site`` null)."""
    found = {site: t for (_, site), t in _tallies(conn, [start, end], network).items()}
    total = Tally()
    rows = []
    for site in _sites(conn, network, found):
        tally = found.get(site, Tally())
        total.add(tally)
        rows.append(tally.row(site))
    return [*rows, total.row(None)]


def sourcing_costs_monthly(
    conn: Connection, starts: Sequence[date], tz_name: str, network: str | None = None
) -> list[dict[str, Any]]:
    """Per local month (``starts``: month starts, plus the next): a row per site with
    reports, then the month's total."""
    found = _tallies(conn, month_bounds(starts, tz_name), network)
    rows: list[dict[str, Any]] = []
    for index, day in enumerate(starts[:-1]):
        label = month_label(day)
        total = Tally()
        for (i, site), tally in sorted(found.items()):
            if i == index:
                total.add(tally)
                rows.append(tally.row(site, month=label))
        rows.append(total.row(None, month=label))
    return rows
