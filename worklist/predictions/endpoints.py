"""Predicted breaches for dashboards: read what the sweeper last computed, never recompute."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from sqlmodel import col, select

from worklist.deps import ReaderDep, SessionDep
from worklist.models import BreachPrediction, PredictionPass, Study

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
    """Waiting studies with their predicted start and whether they will breach, due first.

    ``computed_at`` is the sweeper's last pass (``last_pass`` says what it found, wrote and how
    long it took); a row is rewritten only when its figures moved (docs/sourcing.md), so
    ``work_ahead`` is as of that row's last change."""
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
    passes = select(PredictionPass).order_by(col(PredictionPass.computed_at).desc())
    if network:
        passes = passes.where(PredictionPass.network == network)
    last_pass = db.exec(passes.limit(1)).first()
    return {
        "computed_at": last_pass.computed_at if last_pass else None,
        "last_pass": last_pass.model_dump() if last_pass else None,
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
