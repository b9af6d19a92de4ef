"""Outsourcing by policy: a study predicted to breach is recommended for outsourcing, or, when
the network chose ``auto``, sent to the cheapest provider that can still meet its due time,
as long as today's outsourcing spend stays within the daily budget.

Today's spend counts every order sent since local midnight (manual, bulk and policy), but
only the policy is held back by the budget: people can always decide to spend. Candidates go
in due order; one whose price no longer fits is recommended instead, and a cheaper one after
it may still go.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, bindparam, func, update
from sqlalchemy import select as select_columns
from sqlmodel import Session, col, select

from dashboards.periods import local_midnight
from worklist.db import BACKGROUND_WRITE_ROWS
from worklist.models import (
    BreachPrediction,
    OutsourcingOrder,
    OutsourcingPolicy,
    Provider,
    Study,
    StudyEvent,
)
from worklist.pacing import paced_chunks
from worklist.services import Services, utcnow
from worklist.sourcing.prices import PriceList, prices_at
from worklist.studies.transitions import TransitionError, outsource


@dataclass(frozen=True)
class Policy:
    mode: str  # off | recommend | auto
    daily_budget: float


class Priced(Protocol):
    """What choosing a provider reads of a study (a ``Study`` or a ``Candidate``)."""

    @property
    def modality(self) -> str: ...
    @property
    def exam_code(self) -> str | None: ...
    @property
    def due_at(self) -> datetime: ...


@dataclass(frozen=True)
class Candidate:
    """A waiting study predicted to breach, read as plain columns (not an ORM object: a
    backlog turning red is thousands of them in one pass)."""

    id: int
    modality: str
    exam_code: str | None
    due_at: datetime
    predicted_start: datetime | None
    recommended: bool


STUDY: Any = Study.__table__  # type: ignore[attr-defined]
EVENT: Any = StudyEvent.__table__  # type: ignore[attr-defined]
PREDICTION: Any = BreachPrediction.__table__  # type: ignore[attr-defined]

#: Marks studies recommended and answers the ids it marked: a study claimed, reported or
#: recommended since it was read is left alone (and gets no event).
MARK_RECOMMENDED = (
    update(STUDY)
    .where(
        STUDY.c.id.in_(bindparam("p_ids", expanding=True)),
        STUDY.c.status == "unreported",
        STUDY.c.outsourcing_recommended.is_(False),
    )
    .values(outsourcing_recommended=True)
    .returning(STUDY.c.id)
)


def policy_for(db: Session, services: Services, network: str) -> Policy:
    row = db.get(OutsourcingPolicy, network)
    if row is None:
        s = services.settings
        return Policy(s.outsourcing_mode, s.outsourcing_daily_budget)
    return Policy(row.mode, row.daily_budget)


def spent_today(db: Session, services: Services, network: str, now: datetime) -> float:
    tz = ZoneInfo(services.settings.timezone)
    today = now.astimezone(tz).date()
    total = db.exec(
        select(func.coalesce(func.sum(OutsourcingOrder.price), 0.0)).where(
            OutsourcingOrder.network == network,
            col(OutsourcingOrder.sent_at) >= local_midnight(today, tz),
            col(OutsourcingOrder.sent_at) < local_midnight(today + timedelta(days=1), tz),
        )
    ).one()
    return float(total or 0.0)


def choose_provider(
    study: Priced, offers: list[tuple[Provider, PriceList]], now: datetime
) -> tuple[Provider, float] | None:
    """The cheapest provider reporting the modality whose contracted TAT meets the due time."""
    best: tuple[float, int, str, Provider] | None = None
    for provider, prices in offers:
        if provider.modalities and study.modality not in provider.modalities:
            continue
        price = prices.price_for(study.modality, study.exam_code)
        if price is None or now + timedelta(hours=provider.tat_hours) > study.due_at:
            continue
        key = (price, provider.tat_hours, provider.id, provider)
        if best is None or key[:3] < best[:3]:
            best = key
    return None if best is None else (best[3], best[0])


def _candidates(db: Session, network: str, only_unrecommended: bool) -> list[Candidate]:
    """The network's waiting studies predicted to breach, in due order."""
    query = (
        select_columns(
            STUDY.c.id,
            STUDY.c.modality,
            STUDY.c.exam_code,
            STUDY.c.due_at,
            PREDICTION.c.predicted_start,
            STUDY.c.outsourcing_recommended,
        )
        .join(PREDICTION, PREDICTION.c.study_id == STUDY.c.id)
        .where(
            PREDICTION.c.network == network,
            PREDICTION.c.predicted_breach.is_(True),
            STUDY.c.status == "unreported",
        )
        .order_by(STUDY.c.due_at, STUDY.c.id)
    )
    if only_unrecommended:
        # only a study not yet recommended has anything to do (a backlog's worth of
        # recommended studies is not re-read every pass)
        query = query.where(STUDY.c.outsourcing_recommended.is_(False))
    return [Candidate(*row) for row in db.connection().execute(query)]


def _facts(c: Candidate) -> dict[str, object]:
    start = c.predicted_start.isoformat() if c.predicted_start else None
    return {"predicted_start": start, "due_at": c.due_at.isoformat()}


def _recommend(engine: Engine, recommend: list[tuple[Candidate, str]]) -> int:
    """Mark and audit, ``BACKGROUND_WRITE_ROWS`` studies a transaction, each one statement
    for the marks and one for the events: claims never wait long on these rows' locks (or,
    on SQLite, on the write lock). Returns how many were marked."""
    marked = 0
    for chunk in paced_chunks(recommend, BACKGROUND_WRITE_ROWS):
        rules = {c.id: (c, rule) for c, rule in chunk}
        with engine.begin() as conn:
            now = utcnow()
            ids = [row[0] for row in conn.execute(MARK_RECOMMENDED, {"p_ids": list(rules)})]
            if ids:
                conn.execute(
                    EVENT.insert(),
                    [
                        {
                            "study_id": sid,
                            "at": now,
                            "kind": "outsourcing-recommended",
                            "actor": "policy",
                            "detail": {"rule": rules[sid][1], **_facts(rules[sid][0])},
                        }
                        for sid in ids
                    ],
                )
        marked += len(ids)
    return marked


def apply_policy(services: Services, network: str, now: datetime) -> dict[str, int]:
    """One pass over the network's predicted breaches; returns what it did."""
    done = {"recommended": 0, "sent": 0, "over_budget": 0}
    with Session(services.engine, expire_on_commit=False) as db:
        policy = policy_for(db, services, network)
        if policy.mode == "off":
            return done
        candidates = _candidates(db, network, only_unrecommended=policy.mode == "recommend")
        offers = [(p, prices_at(db, p, now)) for p in db.exec(select(Provider)).all()]
        left = policy.daily_budget - spent_today(db, services, network, now)
        db.commit()  # keeps a price version prices_at recorded; nothing held while choosing
        sends: list[tuple[Candidate, str]] = []
        recommend: list[tuple[Candidate, str]] = []
        for c in candidates:
            choice = choose_provider(c, offers, now) if policy.mode == "auto" else None
            if choice is not None and choice[1] <= left + 1e-9:
                left -= choice[1]
                sends.append((c, choice[0].id))
                continue
            rule = "predicted-breach"
            if policy.mode == "auto":
                rule += "; no provider meets the due time" if choice is None else "; over budget"
                done["over_budget"] += int(choice is not None)
            if not c.recommended:
                recommend.append((c, rule))
        done["recommended"] = _recommend(services.engine, recommend)
        for c, provider_id in sends:
            study = db.get(Study, c.id, populate_existing=True)
            if study is None or study.status != "unreported":
                continue  # claimed meanwhile: a reporter has it now
            try:
                outsource(
                    db,
                    services,
                    study,
                    provider_id,
                    "policy",
                    mode="policy",
                    detail={"rule": "predicted-breach; auto-outsourcing", **_facts(c)},
                )
            except TransitionError:
                db.rollback()
                continue
            done["sent"] += 1
    return done
