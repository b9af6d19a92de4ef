"""Reporter endpoints: sessions, next case, complete, hand back (API.md: worklist).

Next, complete and release run on the event loop itself (``hot_connection``: the loop's one
connection, or PostgreSQL's asyncio pool when configured): each is a Redis script and a few
sub-millisecond statements, and handing them to a thread cost more CPU (hop plus GIL
hand-offs) than the work. See README, Performance.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

import orjson
from fastapi import APIRouter, HTTPException, Response, status
from pydantic import BaseModel, Field

from worklist.deps import MetricsDep, ReporterDep, ServicesDep, SessionDep
from worklist.reporting import service
from worklist.reporting.service import FlowError
from worklist.studies.schemas import StudyPublic

router = APIRouter(prefix="/api/v1", tags=["worklist"])


class SessionIn(BaseModel):
    kind: Literal["core", "insourced"] = "core"


class SessionOut(BaseModel):
    session_id: int
    kind: str
    started_at: datetime
    ended_at: datetime | None = None
    returned_to_worklist: list[str] = []


class NextCase(BaseModel):
    assignment_id: str
    study: StudyPublic
    due_at: datetime
    lease_expires_at: datetime
    reason: dict[str, Any]


class ReleaseIn(BaseModel):
    reason: str = Field(min_length=1, max_length=500)


class AssignmentOutcome(BaseModel):
    assignment_id: str
    study: StudyPublic


def _bound(principal_reporter: str | None) -> str:
    assert principal_reporter is not None  # reporter tokens are always bound
    return principal_reporter


def _raise(error: FlowError) -> HTTPException:
    return HTTPException(error.status, str(error))


@router.post("/sessions", status_code=status.HTTP_201_CREATED)
def post_session(
    body: SessionIn, db: SessionDep, services: ServicesDep, principal: ReporterDep
) -> SessionOut:
    """Start a reporting session (core or insourced)."""
    try:
        s = service.start_session(db, services, _bound(principal.reporter_id), body.kind)
    except FlowError as e:
        raise _raise(e) from e
    assert s.id is not None
    return SessionOut(session_id=s.id, kind=s.kind, started_at=s.started_at)


@router.delete("/sessions/current")
def delete_session(db: SessionDep, services: ServicesDep, principal: ReporterDep) -> SessionOut:
    """End the current session; cases held for you go back to the worklist."""
    try:
        s, returned = service.end_session(db, services, _bound(principal.reporter_id))
    except FlowError as e:
        raise _raise(e) from e
    assert s.id is not None
    return SessionOut(
        session_id=s.id,
        kind=s.kind,
        started_at=s.started_at,
        ended_at=s.ended_at,
        returned_to_worklist=returned,
    )


_STUDY_FIELDS = frozenset(StudyPublic.model_fields)


def _json(payload: dict[str, Any]) -> Response:
    """Serialise straight to bytes: the hot endpoints skip FastAPI's second validation pass;
    the response_model still documents the shape."""
    return Response(orjson.dumps(payload), media_type="application/json")


def _study_json(study: dict[str, Any]) -> dict[str, Any]:
    """Only the public study fields (never the patient key)."""
    return {k: v for k, v in study.items() if k in _STUDY_FIELDS}


@router.post(
    "/worklist/next",
    responses={
        204: {"description": "nothing eligible is waiting"},
        409: {"description": "not in a session"},
    },
    response_model=NextCase,
)
async def post_next(services: ServicesDep, metrics: MetricsDep, principal: ReporterDep) -> Response:
    """Claim the best eligible study for you, with the reason it was chosen."""
    try:
        claimed = await service.claim_next(services, _bound(principal.reporter_id))
    except FlowError as e:
        raise _raise(e) from e
    if claimed is None:
        return Response(status_code=status.HTTP_204_NO_CONTENT)
    metrics.claims.labels(via=claimed["via"]).inc()
    return _json(
        {
            "assignment_id": claimed["assignment_id"],
            "study": _study_json(claimed["study"]),
            "due_at": claimed["due_at"],
            "lease_expires_at": claimed["lease_expires_at"],
            "reason": claimed["reason"],
        }
    )


@router.post("/assignments/{assignment_id}/complete", response_model=AssignmentOutcome)
async def post_complete(
    assignment_id: str, services: ServicesDep, metrics: MetricsDep, principal: ReporterDep
) -> Response:
    """Mark your case reported."""
    try:
        study = await service.complete(services, _bound(principal.reporter_id), assignment_id)
    except FlowError as e:
        raise _raise(e) from e
    metrics.completions.inc()
    return _json({"assignment_id": assignment_id, "study": _study_json(study)})


@router.post("/assignments/{assignment_id}/release", response_model=AssignmentOutcome)
async def post_release(
    assignment_id: str,
    body: ReleaseIn,
    services: ServicesDep,
    metrics: MetricsDep,
    principal: ReporterDep,
) -> Response:
    """Hand your case back to the worklist, with a reason."""
    reporter_id = _bound(principal.reporter_id)
    try:
        study = await service.release(services, reporter_id, assignment_id, body.reason)
    except FlowError as e:
        raise _raise(e) from e
    metrics.releases.inc()
    return _json({"assignment_id": assignment_id, "study": _study_json(study)})
