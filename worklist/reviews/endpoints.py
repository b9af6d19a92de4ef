"""Second-read endpoints: pull a review, record its outcome, the summary and your feedback.

The reporter's calls live under ``/worklist/`` next to ``/worklist/next``: a second read is
reporting work pulled in a session, just not a first report.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, HTTPException, Response, status
from pydantic import BaseModel, Field

from dashboards.query import PeriodDep, answer
from worklist.deps import ReaderDep, ReporterDep, ServicesDep, SessionDep
from worklist.reporting.service import FlowError
from worklist.reviews import service
from worklist.studies.schemas import StudyPublic

router = APIRouter(prefix="/api/v1", tags=["reviews"])


class ReviewTask(BaseModel):
    review_id: int
    study: StudyPublic
    author_group: str
    lease_expires_at: datetime | None
    reason: dict[str, Any]


class OutcomeIn(BaseModel):
    outcome: Literal["agree", "minor", "major"]
    comment: str | None = Field(default=None, max_length=2000)


def _me(reporter_id: str | None) -> str:
    assert reporter_id is not None
    return reporter_id


@router.post(
    "/worklist/reviews/next",
    response_model=ReviewTask,
    responses={204: {"description": "no review waiting for you"}},
)
def post_next_review(db: SessionDep, services: ServicesDep, principal: ReporterDep) -> Any:
    """Claim the next second read you may do (never your own report)."""
    try:
        found = service.next_review(db, services, _me(principal.reporter_id))
    except FlowError as e:
        raise HTTPException(e.status, str(e)) from e
    if found is None:
        return Response(status_code=status.HTTP_204_NO_CONTENT)
    review, study = found
    assert review.id is not None
    return ReviewTask(
        review_id=review.id,
        # a blind second read: the author is not named to the reviewer
        study=StudyPublic.model_validate(
            {**study.model_dump(), "assignee": None, "reported_by": None}
        ),
        author_group=review.author_group,
        lease_expires_at=review.lease_expires_at,
        reason={"rule": "second-read", "sampled_by": review.sampled_by},
    )


@router.post("/worklist/reviews/{review_id}/outcome")
def post_outcome(
    review_id: int, body: OutcomeIn, db: SessionDep, principal: ReporterDep
) -> dict[str, Any]:
    """Record your second read: agree, minor or major discrepancy."""
    try:
        review = service.record_outcome(
            db, _me(principal.reporter_id), review_id, body.outcome, body.comment
        )
    except FlowError as e:
        raise HTTPException(e.status, str(e)) from e
    return {"review_id": review.id, "status": review.status, "outcome": review.outcome}


@router.get("/reviews/summary")
def get_summary(
    db: SessionDep, _: ReaderDep, period: PeriodDep, network: str | None = None
) -> dict[str, Any]:
    """Second-read outcomes by site and reporter group, and network-wide by group."""
    return answer(period, service.summary(db, period.start, period.end, network))


@router.get("/worklist/reviews/mine")
def get_mine(db: SessionDep, principal: ReporterDep) -> dict[str, Any]:
    """Outcomes of second reads of your reports (quality feedback)."""
    return {"items": service.feedback(db, _me(principal.reporter_id))}
