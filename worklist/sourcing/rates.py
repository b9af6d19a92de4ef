"""Harmonised network rates for core and insourced reporting, versioned by date.

A rate applies from its ``effective_from``; the rate for a report is the one effective when
the report was made, so a new rate never changes what last month cost.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from worklist.models import SessionRate
from worklist.services import utcnow

KINDS = ("core", "insourced")
BASES = ("work_unit", "session")


@dataclass(frozen=True)
class Rate:
    """One rate version as the costing reads it."""

    kind: str
    group: str | None
    basis: str
    amount: float
    effective_from: datetime


class RateBook:
    """Every rate version of a network, answering "which rate applied then" in memory."""

    def __init__(self, rates: Sequence[Rate]) -> None:
        self._rates = sorted(rates, key=lambda r: r.effective_from)

    def at(self, kind: str, group: str | None, when: datetime) -> Rate | None:
        """The group's own rate effective at ``when``, else the all-groups rate."""
        best: dict[bool, Rate] = {}
        for r in self._rates:
            if r.kind != kind or r.effective_from > when:
                continue
            if r.group == group and group is not None:
                best[True] = r
            elif r.group is None:
                best[False] = r
        return best.get(True) or best.get(False)


def load_rates(db: Session, network: str) -> RateBook:
    rows = db.exec(select(SessionRate).where(SessionRate.network == network)).all()
    return RateBook([Rate(r.kind, r.group, r.basis, r.amount, r.effective_from) for r in rows])


def set_rate(
    db: Session,
    network: str,
    kind: str,
    group: str | None,
    basis: str,
    amount: float,
    effective_from: datetime,
) -> SessionRate:
    """Add a version (or correct the one with the same date and group). Caller commits."""
    found = db.exec(
        select(SessionRate).where(
            SessionRate.network == network,
            SessionRate.kind == kind,
            SessionRate.effective_from == effective_from,
            col(SessionRate.group).is_(None) if group is None else col(SessionRate.group) == group,
        )
    ).first()
    rate = found or SessionRate(
        network=network,
        kind=kind,
        group=group,
        basis=basis,
        amount=amount,
        effective_from=effective_from,
        created_at=utcnow(),
    )
    rate.basis, rate.amount = basis, amount
    db.add(rate)
    return rate


def list_rates(db: Session, network: str, kind: str) -> list[SessionRate]:
    return list(
        db.exec(
            select(SessionRate)
            .where(SessionRate.network == network, SessionRate.kind == kind)
            .order_by(col(SessionRate.effective_from), col(SessionRate.id))
        ).all()
    )
