"""Outsourcing endpoints: bulk by filter, the network's policy, and the orders in flight."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, Field
from sqlmodel import col, select

from worklist.deps import AdminDep, ReaderDep, ServicesDep, SessionDep
from worklist.models import OutsourcingOrder, OutsourcingPolicy, Study
from worklist.services import utcnow
from worklist.sourcing.bulk import BulkFilter, bulk_outsource
from worklist.sourcing.common import OpsDep, actor_of, network_of
from worklist.sourcing.policy import policy_for, spent_today
from worklist.studies.transitions import TransitionError

router = APIRouter(prefix="/api/v1", tags=["outsourcing"])


class BulkIn(BaseModel):
    site: str | None = None
    modality: str | None = None
    urgency: Literal["stroke", "trauma", "urgent", "cancer", "routine"] | None = None
    network: str | None = None
    older_than_hours: float | None = Field(default=None, ge=0)
    limit: int = Field(default=100, ge=1, le=500)
    provider: str | None = None
    dry_run: bool = True


class PolicyIn(BaseModel):
    mode: Literal["off", "recommend", "auto"]
    daily_budget: float = Field(default=0.0, ge=0)


@router.post("/outsourcing/bulk")
def post_bulk(
    body: BulkIn, db: SessionDep, services: ServicesDep, principal: OpsDep
) -> dict[str, Any]:
    """Outsource waiting studies by filter, oldest due first; ``dry_run`` (default) plans only."""
    f = BulkFilter(
        body.site, body.modality, body.urgency, body.network, body.older_than_hours, body.limit
    )
    try:
        return bulk_outsource(
            db, services, f, body.provider, body.dry_run, actor_of(principal), utcnow()
        )
    except TransitionError as e:
        raise HTTPException(422, str(e)) from e


def _policy_answer(db: SessionDep, services: ServicesDep, network: str) -> dict[str, Any]:
    policy = policy_for(db, services, network)
    return {
        "network": network,
        "mode": policy.mode,
        "daily_budget": policy.daily_budget,
        "spent_today": round(spent_today(db, services, network, utcnow()), 2),
    }


@router.put("/outsourcing/policy")
def put_policy(
    body: PolicyIn,
    db: SessionDep,
    services: ServicesDep,
    _: AdminDep,
    network: str | None = None,
) -> dict[str, Any]:
    """Choose how predicted breaches are handled: off, recommend, or auto within a budget."""
    code = network_of(db, network)
    row = db.get(OutsourcingPolicy, code) or OutsourcingPolicy(network=code, updated_at=utcnow())
    row.mode, row.daily_budget, row.updated_at = body.mode, body.daily_budget, utcnow()
    db.add(row)
    db.commit()
    return _policy_answer(db, services, code)


@router.get("/outsourcing/policy")
def get_policy(
    db: SessionDep, services: ServicesDep, _: ReaderDep, network: str | None = None
) -> dict[str, Any]:
    """The network's policy and today's outsourcing spend."""
    return _policy_answer(db, services, network_of(db, network))


@router.get("/outsourcing/orders")
def get_orders(
    db: SessionDep,
    _: ReaderDep,
    open_only: bool = True,
    provider: str | None = None,
    limit: int = 200,
) -> dict[str, Any]:
    """Orders sent to providers with their contracted due time and delivery state."""
    now = utcnow()
    query = select(OutsourcingOrder, Study).join(
        Study, col(Study.id) == col(OutsourcingOrder.study_id)
    )
    if open_only:
        query = query.where(col(OutsourcingOrder.reported_at).is_(None))
    if provider:
        query = query.where(OutsourcingOrder.provider_id == provider)
    rows = db.exec(
        query.order_by(col(OutsourcingOrder.provider_due_at)).limit(min(max(limit, 1), 500))
    ).all()
    return {
        "items": [
            {
                "order_id": o.id,
                "study_uid": s.study_uid,
                "site": s.site,
                "provider": o.provider_id,
                "mode": o.mode,
                "price": o.price,
                "sent_at": o.sent_at,
                "provider_due_at": o.provider_due_at,
                "overdue": o.reported_at is None and o.provider_due_at < now,
                "reported_at": o.reported_at,
                "delivery": o.delivery,
                "attempts": o.attempts,
                "last_error": o.last_error,
            }
            for o, s in rows
        ]
    }
