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
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlmodel import Session, col, select

from dashboards.periods import local_midnight
from worklist.models import (
    BreachPrediction,
    OutsourcingOrder,
    OutsourcingPolicy,
    Provider,
    Study,
)
from worklist.services import Services
from worklist.sourcing.prices import PriceList, prices_at
from worklist.studies.transitions import TransitionError, add_event, outsource


@dataclass(frozen=True)
class Policy:
    mode: str  # off | recommend | auto
    daily_budget: float


RECOMMEND_CHUNK = 500  # recommendations per transaction


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
    study: Study, offers: list[tuple[Provider, PriceList]], now: datetime
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


def _recommend(db: Session, study: Study, rule: str, extra: dict[str, object]) -> bool:
    if study.outsourcing_recommended:
        return False
    study.outsourcing_recommended = True
    db.add(study)
    add_event(db, study, "outsourcing-recommended", "policy", {"rule": rule, **extra})
    return True


def apply_policy(services: Services, network: str, now: datetime) -> dict[str, int]:
    """One pass over the network's predicted breaches; returns what it did."""
    done = {"recommended": 0, "sent": 0, "over_budget": 0}
    with Session(services.engine, expire_on_commit=False) as db:
        policy = policy_for(db, services, network)
        if policy.mode == "off":
            return done
        query = (
            select(Study, BreachPrediction)
            .join(BreachPrediction, col(BreachPrediction.study_id) == col(Study.id))
            .where(
                BreachPrediction.network == network,
                col(BreachPrediction.predicted_breach).is_(True),
                Study.status == "unreported",
            )
            .order_by(col(Study.due_at), col(Study.id))
        )
        if policy.mode == "recommend":
            # only a study not yet recommended has anything to do (a backlog's worth of
            # recommended studies is not re-read every pass)
            query = query.where(col(Study.outsourcing_recommended).is_(False))
        rows = db.exec(query).all()
        offers = [(p, prices_at(db, p, now)) for p in db.exec(select(Provider)).all()]
        left = policy.daily_budget - spent_today(db, services, network, now)
        sends: list[tuple[Study, str, dict[str, object]]] = []
        for study, prediction in rows:
            facts: dict[str, object] = {
                "predicted_start": prediction.predicted_start.isoformat()
                if prediction.predicted_start
                else None,
                "due_at": study.due_at.isoformat(),
            }
            choice = choose_provider(study, offers, now) if policy.mode == "auto" else None
            if choice is not None and choice[1] <= left + 1e-9:
                left -= choice[1]
                sends.append((study, choice[0].id, facts))
                continue
            rule = "predicted-breach"
            if policy.mode == "auto":
                rule += "; no provider meets the due time" if choice is None else "; over budget"
                done["over_budget"] += int(choice is not None)
            if _recommend(db, study, rule, facts):
                done["recommended"] += 1
                if done["recommended"] % RECOMMEND_CHUNK == 0:
                    db.commit()  # short transactions: claims never wait on a backlog's row locks
        db.commit()
        for study, provider_id, facts in sends:
            db.refresh(study)
            if study.status != "unreported":
                continue  # claimed meanwhile: a reporter has it now
            try:
                outsource(
                    db,
                    services,
                    study,
                    provider_id,
                    "policy",
                    mode="policy",
                    detail={"rule": "predicted-breach; auto-outsourcing", **facts},
                )
            except TransitionError:
                db.rollback()
                continue
            done["sent"] += 1
    return done
