"""What the reports of a period cost, by site and sourcing (API.md's sourcing rows).

- core: 0 (paid in job plans) unless a core rate exists;
- insourced: the rostered session's own rate when the session matches a roster entry with a
  rate, else the network insourcing rate for the reporter's group effective at the time.
  A ``work_unit`` rate is amount x the report's work units; a ``session`` rate is the amount
  for the whole session, apportioned over the session's reports by work units (so a session's
  cost is spread over the days its reports fall in, and sums to the rate);
- outsourced: the provider's price fixed on the order when the study was sent.
A report is counted when it was reported (``reported_at`` in the period).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, func, select
from sqlmodel import Session

from worklist.models import (
    Assignment,
    OutsourcingOrder,
    Reporter,
    ReporterSession,
    RosterEntry,
    Site,
    Study,
)
from worklist.sourcing.rates import RateBook, load_rates

STUDY = Study.__table__  # type: ignore[attr-defined]
ASSIGNMENT = Assignment.__table__  # type: ignore[attr-defined]
REPORTER = Reporter.__table__  # type: ignore[attr-defined]
SESSION = ReporterSession.__table__  # type: ignore[attr-defined]
ROSTER = RosterEntry.__table__  # type: ignore[attr-defined]
ORDER = OutsourcingOrder.__table__  # type: ignore[attr-defined]
SITE = Site.__table__  # type: ignore[attr-defined]
KINDS = ("core", "insourced", "outsourced")
REPORTED_OUTCOMES = ("completed", "external-report")
EARLY_START = timedelta(hours=1)


@dataclass
class Tally:
    n: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    wu: dict[str, float] = field(default_factory=lambda: dict.fromkeys(KINDS, 0.0))
    cost: dict[str, float] = field(default_factory=lambda: dict.fromkeys(KINDS, 0.0))

    def add(self, kind: str, wu: float, cost: float) -> None:
        self.n[kind] += 1
        self.wu[kind] += wu
        self.cost[kind] += cost

    def row(self, site: str | None) -> dict[str, Any]:
        return {
            "site": site,
            **self.n,
            "work_units": {k: round(v, 2) for k, v in self.wu.items()},
            "cost": {k: round(v, 2) for k, v in self.cost.items()},
        }


@dataclass(frozen=True)
class SessionPrice:
    """How one reporting session is paid: a basis, an amount, the rate's source."""

    basis: str
    amount: float


class SessionPricer:
    """Prices the sessions of the reports being costed (roster rate, else network rate)."""

    def __init__(self, conn: Connection, session_ids: set[int], books: dict[str, RateBook]):
        self.books = books
        self.sessions = (
            {
                r.id: r
                for r in conn.execute(
                    select(
                        SESSION.c.id, SESSION.c.reporter_id, SESSION.c.kind, SESSION.c.started_at
                    ).where(SESSION.c.id.in_(session_ids))
                )
            }
            if session_ids
            else {}
        )
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
        self.session_wu: dict[int, float] = {}
        if session_ids:
            query = (
                select(ASSIGNMENT.c.session_id, func.sum(ASSIGNMENT.c.work_units))
                .where(
                    ASSIGNMENT.c.session_id.in_(session_ids),
                    ASSIGNMENT.c.outcome.in_(REPORTED_OUTCOMES),
                )
                .group_by(ASSIGNMENT.c.session_id)
            )
            self.session_wu = {sid: float(wu or 0) for sid, wu in conn.execute(query)}

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
        """The cost of one report of ``wu`` work units made in this session."""
        session = self.sessions.get(session_id) if session_id is not None else None
        price: SessionPrice | None = None
        rostered = self._rostered(session) if session is not None else None
        if rostered is not None and rostered.rate is not None:
            price = SessionPrice(rostered.rate_basis, float(rostered.rate))
        else:
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


def sourcing_costs(
    conn: Connection, start: datetime, end: datetime, network: str | None = None
) -> list[dict[str, Any]]:
    """One row per site (every registered site), then the network total (``site`` null)."""
    s, a = STUDY.c, ASSIGNMENT.c
    where = [s.status == "reported", s.reported_at >= start, s.reported_at < end]
    if network:
        where.append(s.network == network)
    reported = conn.execute(
        select(
            s.id,
            s.site,
            s.network,
            s.sourcing,
            s.work_units,
            s.reported_at,
            a.session_id,
            a.work_units.label("a_wu"),
            REPORTER.c.group,
        )
        .select_from(
            STUDY.outerjoin(
                ASSIGNMENT, and_(a.study_id == s.id, a.outcome.in_(REPORTED_OUTCOMES))
            ).outerjoin(REPORTER, REPORTER.c.id == a.reporter_id)
        )
        .where(*where)
    ).all()
    prices = _order_prices(conn, [r.id for r in reported if r.sourcing == "outsourced"])
    with Session(conn) as db:
        books = {n: load_rates(db, n) for n in {r.network for r in reported}}
    pricer = SessionPricer(conn, {r.session_id for r in reported if r.session_id}, books)
    tallies: dict[str, Tally] = defaultdict(Tally)
    seen: set[int] = set()
    for r in reported:
        if r.id in seen or r.sourcing not in KINDS:
            continue
        seen.add(r.id)
        wu = float(r.work_units or 0)
        if r.sourcing == "outsourced":
            cost = prices.get(r.id) or 0.0
        else:
            assigned_wu = float(r.a_wu if r.a_wu is not None else wu)
            cost = pricer.cost(
                r.session_id, r.network, r.group, r.sourcing, assigned_wu, r.reported_at
            )
        tallies[r.site].add(r.sourcing, wu, cost)
    sites_query = select(SITE.c.code).order_by(SITE.c.code)
    if network:
        sites_query = sites_query.where(SITE.c.network == network)
    sites = list(conn.execute(sites_query).scalars())
    sites += sorted(set(tallies) - set(sites))
    total = Tally()
    rows = []
    for site in sites:
        t = tallies.get(site, Tally())
        for k in KINDS:
            total.n[k] += t.n[k]
            total.wu[k] += t.wu[k]
            total.cost[k] += t.cost[k]
        rows.append(t.row(site))
    return [*rows, total.row(None)]


def _order_prices(conn: Connection, study_ids: list[int]) -> dict[int, float]:
    """The price on each study's latest order."""
    out: dict[int, float] = {}
    for i in range(0, len(study_ids), 500):
        chunk = study_ids[i : i + 500]
        for sid, price in conn.execute(
            select(ORDER.c.study_id, ORDER.c.price)
            .where(ORDER.c.study_id.in_(chunk))
            .order_by(ORDER.c.id)
        ):
            out[sid] = float(price or 0.0)
    return out
