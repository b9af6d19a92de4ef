"""Roster endpoints: the e-roster CSV import, one reporter's day, and the planned sessions."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel, Field
from sqlmodel import Session, col, select
from starlette.concurrency import run_in_threadpool

from dashboards.periods import PeriodError, local_midnight, parse_period
from worklist.auth.tokens import Principal
from worklist.deps import ReaderDep, ServicesDep, SessionDep, require
from worklist.models import RosterEntry
from worklist.rosters.csvimport import import_csv
from worklist.rosters.service import PlannedSession, RosterError, RosterWriter, entries_between

router = APIRouter(prefix="/api/v1", tags=["rosters"])
OpsDep = Annotated[Principal, Depends(require("ops"))]


class SessionPlanIn(BaseModel):
    start: datetime
    end: datetime
    kind: Literal["core", "insourced"]
    rate: float | None = Field(default=None, ge=0)
    rate_basis: Literal["session", "work_unit"] = "session"
    reference: str | None = Field(default=None, max_length=64)


class DayPlanIn(BaseModel):
    sessions: list[SessionPlanIn]


class RosterEntryOut(BaseModel):
    reporter_id: str
    start: datetime
    end: datetime
    kind: str
    rate: float | None
    rate_basis: str
    reference: str | None


def _starting(db: Session, reporter_id: str, lo: datetime, hi: datetime) -> list[RosterEntry]:
    """One reporter's sessions starting in [lo, hi)."""
    return list(
        db.exec(
            select(RosterEntry)
            .where(
                RosterEntry.reporter_id == reporter_id,
                col(RosterEntry.start) >= lo,
                col(RosterEntry.start) < hi,
            )
            .order_by(col(RosterEntry.start))
        ).all()
    )


def _out(e: RosterEntry) -> RosterEntryOut:
    return RosterEntryOut.model_validate(e.model_dump())


@router.post(
    "/rosters/import",
    openapi_extra={"requestBody": {"content": {"text/csv": {"schema": {"type": "string"}}}}},
)
async def post_roster_import(
    request: Request, db: SessionDep, services: ServicesDep, _: OpsDep
) -> dict[str, Any]:
    """Import planned sessions from an e-roster CSV (columns in docs/sourcing.md)."""
    text = (await request.body()).decode("utf-8-sig", errors="replace")
    result = await run_in_threadpool(import_csv, db, text, services.settings.timezone)
    return {"created": result.created, "updated": result.updated, "rejected": result.rejected}


@router.put("/rosters/{reporter_id}/{day}")
def put_roster_day(
    reporter_id: str,
    day: date,
    body: DayPlanIn,
    db: SessionDep,
    services: ServicesDep,
    _: OpsDep,
) -> list[RosterEntryOut]:
    """Replace one reporter's sessions starting on a local date (an empty list clears it)."""
    tz = ZoneInfo(services.settings.timezone)
    lo, hi = local_midnight(day, tz), local_midnight(day + timedelta(days=1), tz)
    old = _starting(db, reporter_id, lo, hi)
    writer = RosterWriter(db, replacing=[e.id for e in old if e.id is not None])
    for e in old:
        db.delete(e)
    db.flush()
    try:
        for i, s in enumerate(body.sessions):
            if not lo <= s.start < hi:
                raise RosterError(f"sessions[{i}].start: not on {day.isoformat()} (local)")
            try:
                writer.add(PlannedSession(reporter_id, **s.model_dump()))
            except RosterError as e:
                raise RosterError(f"sessions[{i}].{e}") from e
    except RosterError as e:
        db.rollback()
        raise HTTPException(422, str(e)) from e
    db.commit()
    return [_out(e) for e in _starting(db, reporter_id, lo, hi)]


@router.get("/rosters")
def get_rosters(
    db: SessionDep,
    services: ServicesDep,
    _: ReaderDep,
    start: Annotated[str | None, Query(alias="from")] = None,
    end: Annotated[str | None, Query(alias="to")] = None,
    reporter: str | None = None,
) -> dict[str, Any]:
    """Planned sessions overlapping the period (today by default)."""
    try:
        period = parse_period(start, end, services.settings.timezone)
    except PeriodError as e:
        raise HTTPException(422, str(e)) from e
    rows = entries_between(db, period.start, period.end, reporter)
    return {"from": period.label_from, "to": period.label_to, "items": [_out(e) for e in rows]}
