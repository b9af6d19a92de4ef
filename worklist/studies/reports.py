"""Batch ingest of reports made outside the balancer."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, select

from worklist.models import Study
from worklist.services import Services
from worklist.studies.schemas import IngestResult, Rejection, ReportIn, validate_items
from worklist.studies.transitions import TransitionError, mark_reported_externally


def find_study(db: Session, item: ReportIn) -> Study | None:
    if item.study_uid:
        return db.exec(select(Study).where(Study.study_uid == item.study_uid)).first()
    if item.site and item.accession:
        return db.exec(
            select(Study).where(Study.site == item.site, Study.accession == item.accession)
        ).first()
    return None


def ingest_reports(services: Services, items: list[Any], actor: str) -> IngestResult:
    """Mark each named study reported; unknown or already-reported ones are rejected."""
    valid, rejected = validate_items(items, ReportIn)
    result = IngestResult(rejected=rejected)
    with Session(services.engine, expire_on_commit=False) as db:
        for index, item in valid:
            if not item.study_uid and not (item.site and item.accession):
                result.rejected.append(
                    Rejection(index=index, error="item: name study_uid, or site and accession")
                )
                continue
            study = find_study(db, item)
            if study is None:
                result.rejected.append(Rejection(index=index, error="study: not found"))
                continue
            try:
                mark_reported_externally(
                    db, services, study, item.reported_at, item.reporter, actor
                )
            except TransitionError as e:
                db.rollback()
                result.rejected.append(Rejection(index=index, error=f"study: {e}"))
                continue
            result.updated += 1
    result.rejected.sort(key=lambda r: r.index)
    return result
