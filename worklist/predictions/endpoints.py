"""Predicted breaches for dashboards: read what the sweeper last computed, never recompute."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from sqlalchemy import func
from sqlmodel import col, select

from worklist.deps import ReaderDep, SessionDep
from worklist.models import BreachPrediction, Study

router = APIRouter(prefix="/api/v1", tags=["predictions"])


@router.get("/predictions/breaches")
def get_breaches(
    db: SessionDep,
    _: ReaderDep,
    site: str | None = None,
    network: str | None = None,
    only_breaching: bool = True,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
) -> dict[str, Any]:
    """Waiting studies with their predicted start and whether they will breach, due first."""
    query = (
        select(BreachPrediction, Study)
        .join(Study, col(Study.id) == col(BreachPrediction.study_id))
        .where(Study.status == "unreported")
    )
    if site:
        query = query.where(BreachPrediction.site == site.upper())
    if network:
        query = query.where(BreachPrediction.network == network)
    if only_breaching:
        query = query.where(col(BreachPrediction.predicted_breach).is_(True))
    rows = db.exec(query.order_by(col(Study.due_at), col(Study.id)).limit(limit)).all()
    computed = db.exec(select(func.max(BreachPrediction.computed_at))).one()
    return {
        "computed_at": computed,
        "items": [
            {
                "study_uid": s.study_uid,
                "site": s.site,
                "modality": s.modality,
                "urgency": s.urgency,
                "due_at": s.due_at,
                "predicted_start": p.predicted_start,
                "predicted_finish": p.predicted_finish,
                "predicted_breach": p.predicted_breach,
                "work_ahead": p.work_ahead,
                "eligible_reporters": p.eligible_reporters,
                "outsourcing_recommended": s.outsourcing_recommended,
            }
            for p, s in rows
        ],
    }
