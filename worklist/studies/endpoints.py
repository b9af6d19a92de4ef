"""Ingest and study endpoints (API.md: Ingest, Studies)."""

from __future__ import annotations

import binascii
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, HTTPException, Query, status
from pydantic import BaseModel, field_validator
from sqlmodel import select

from dashboards.metrics import Metrics
from worklist.auth.tokens import Principal
from worklist.deps import FeedDep, MetricsDep, ServicesDep, SessionDep, require
from worklist.models import Study
from worklist.studies.ingest import ingest_studies
from worklist.studies.orders import ingest_orders
from worklist.studies.queries import detail, page
from worklist.studies.reports import ingest_reports
from worklist.studies.schemas import IngestResult, StudyDetail, StudyPage
from worklist.studies.transitions import TransitionError, mark_reported_externally, outsource

router = APIRouter(prefix="/api/v1", tags=["studies"])
Batch = Annotated[list[Any], Body(description="a JSON array of items")]
FeedOrOpsDep = Annotated[Principal, Depends(require("feed", "ops"))]
OpsDep = Annotated[Principal, Depends(require("ops"))]
ViewerDep = Annotated[Principal, Depends(require("ops", "lead", "reporter"))]


def _actor(principal: Principal) -> str:
    return principal.reporter_id or f"{principal.role}-token:{principal.token_id or 'bootstrap'}"


@router.post("/studies")
def post_studies(
    items: Batch, services: ServicesDep, metrics: MetricsDep, principal: FeedDep
) -> IngestResult:
    """Ingest a batch of studies; idempotent on study_uid."""
    return _counted(metrics, "study", ingest_studies(services, items, _actor(principal)))


@router.post("/orders")
def post_orders(
    items: Batch, services: ServicesDep, metrics: MetricsDep, principal: FeedDep
) -> IngestResult:
    """Ingest a batch of RIS orders, keyed by site + accession."""
    return _counted(metrics, "order", ingest_orders(services, items, _actor(principal)))


@router.post("/reports")
def post_reports(
    items: Batch, services: ServicesDep, metrics: MetricsDep, principal: FeedOrOpsDep
) -> IngestResult:
    """Record reports made outside the balancer."""
    return _counted(metrics, "report", ingest_reports(services, items, _actor(principal)))


def _counted(metrics: Metrics, kind: str, result: IngestResult) -> IngestResult:
    metrics.ingested.labels(kind=kind).inc(result.created + result.updated)
    metrics.rejected.labels(kind=kind).inc(len(result.rejected))
    return result


def _load(db: SessionDep, study_uid: str) -> Study:
    study = db.exec(select(Study).where(Study.study_uid == study_uid)).first()
    if study is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such study")
    return study


@router.get("/studies/{study_uid}")
def get_study(study_uid: str, db: SessionDep, principal: ViewerDep) -> StudyDetail:
    """One study with its audit trail; a reporter sees only studies assigned to them."""
    study = _load(db, study_uid)
    if principal.role == "reporter" and study.assignee != principal.reporter_id:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "this study is not assigned to you")
    return detail(db, study)


@router.get("/studies")
def list_studies(
    db: SessionDep,
    principal: ViewerDep,
    status_: Annotated[str | None, Query(alias="status")] = None,
    site: str | None = None,
    modality: str | None = None,
    urgency: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: str | None = None,
) -> StudyPage:
    """A page of studies, oldest first; pass next_cursor back for the next page."""
    assignee = principal.reporter_id if principal.role == "reporter" else None
    try:
        return page(
            db,
            status=status_,
            site=site,
            modality=modality,
            urgency=urgency,
            assignee=assignee,
            limit=limit,
            cursor=cursor,
        )
    except (ValueError, binascii.Error) as e:
        raise HTTPException(422, "malformed cursor") from e


class OutsourceIn(BaseModel):
    provider: str


class ReportOne(BaseModel):
    reported_at: datetime
    reporter: str | None = None

    @field_validator("reported_at")
    @classmethod
    def _tz(cls, v: datetime) -> datetime:
        if v.tzinfo is None:
            raise ValueError("time needs a UTC offset")
        return v


@router.post("/studies/{study_uid}/outsource")
def post_outsource(
    study_uid: str,
    body: OutsourceIn,
    db: SessionDep,
    services: ServicesDep,
    principal: OpsDep,
) -> StudyDetail:
    """Send a study to an outsourcing provider."""
    study = _load(db, study_uid)
    try:
        outsource(db, services, study, body.provider, _actor(principal))
    except TransitionError as e:
        raise HTTPException(status.HTTP_409_CONFLICT, str(e)) from e
    return detail(db, study)


@router.post("/studies/{study_uid}/report")
def post_report(
    study_uid: str,
    body: ReportOne,
    db: SessionDep,
    services: ServicesDep,
    principal: FeedOrOpsDep,
) -> StudyDetail:
    """Mark a study reported outside the balancer."""
    study = _load(db, study_uid)
    try:
        mark_reported_externally(
            db, services, study, body.reported_at, body.reporter, _actor(principal)
        )
    except TransitionError as e:
        raise HTTPException(status.HTTP_409_CONFLICT, str(e)) from e
    return detail(db, study)
