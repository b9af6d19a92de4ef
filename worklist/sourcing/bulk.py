"""Outsource a backlog by filter: the oldest-due waiting studies that match, up to a limit,
to one named provider or to the cheapest one that meets each study's due time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from worklist.models import Provider, Study
from worklist.services import Services
from worklist.sourcing.policy import choose_provider, policy_for, spent_today
from worklist.sourcing.prices import prices_at
from worklist.studies.transitions import TransitionError, outsource


@dataclass(frozen=True)
class BulkFilter:
    site: str | None = None
    modality: str | None = None
    urgency: str | None = None
    network: str | None = None
    older_than_hours: float | None = None
    limit: int = 100


def select_backlog(db: Session, f: BulkFilter, now: datetime) -> list[Study]:
    query = select(Study).where(Study.status == "unreported")
    if f.site:
        query = query.where(Study.site == f.site.upper())
    if f.modality:
        query = query.where(Study.modality == f.modality.upper())
    if f.urgency:
        query = query.where(Study.urgency == f.urgency)
    if f.network:
        query = query.where(Study.network == f.network)
    if f.older_than_hours is not None:
        query = query.where(col(Study.acquired_at) <= now - timedelta(hours=f.older_than_hours))
    query = query.order_by(col(Study.due_at), col(Study.id)).limit(f.limit)
    return list(db.exec(query).all())


def bulk_outsource(
    db: Session,
    services: Services,
    f: BulkFilter,
    provider_id: str | None,
    dry_run: bool,
    actor: str,
    now: datetime,
) -> dict[str, Any]:
    """Plan (dry run) or send; every item says where it goes, at what price, or why not."""
    providers = db.exec(select(Provider)).all()
    if provider_id is not None:
        providers = [p for p in providers if p.id == provider_id]
        if not providers:
            raise TransitionError(f"unknown provider {provider_id!r}")
    offers = [(p, prices_at(db, p, now)) for p in providers]
    items: list[dict[str, Any]] = []
    plan: list[tuple[Study, str]] = []
    for study in select_backlog(db, f, now):
        item: dict[str, Any] = {
            "study_uid": study.study_uid,
            "site": study.site,
            "modality": study.modality,
            "due_at": study.due_at,
        }
        if provider_id is not None:
            provider, prices = offers[0]
            if provider.modalities and study.modality not in provider.modalities:
                item.update(result="refused", error=f"{provider.id} does not report that modality")
                items.append(item)
                continue
            choice: tuple[Provider, float | None] | None = (
                provider,
                prices.price_for(study.modality, study.exam_code),
            )
        else:
            choice = choose_provider(study, offers, now)
        if choice is None:
            item.update(result="refused", error="no provider reports it within its due time")
        else:
            item.update(result="planned", provider=choice[0].id, price=choice[1])
            plan.append((study, choice[0].id))
        items.append(item)
    total = sum(i.get("price") or 0.0 for i in items if i["result"] == "planned")
    networks = {s.network for s, _ in plan}
    budget = None
    if len(networks) == 1:
        network = networks.pop()
        policy = policy_for(db, services, network)
        budget = {
            "network": network,
            "daily_budget": policy.daily_budget,
            "spent_today": round(spent_today(db, services, network, now), 2),
        }
    if not dry_run:
        by_uid = {i["study_uid"]: i for i in items}
        for study, pid in plan:
            try:
                order = outsource(db, services, study, pid, actor, mode="bulk")
            except TransitionError as e:
                db.rollback()
                by_uid[study.study_uid].update(result="refused", error=str(e))
                continue
            db.refresh(order)
            by_uid[study.study_uid].update(
                result="sent",
                price=order.price,
                provider_due_at=order.provider_due_at,
                delivery=order.delivery,
            )
    return {
        "dry_run": dry_run,
        "matched": len(items),
        "planned_cost": round(total, 2),
        "budget": budget,
        "items": items,
    }
