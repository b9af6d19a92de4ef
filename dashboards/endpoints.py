"""Dashboard JSON endpoints (API.md: Dashboards) and the reporter's own tally and inbox."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from sqlalchemy import select

from dashboards import me
from dashboards.headroom import headroom
from dashboards.periods import Period, PeriodError, local_midnight, month_starts, parse_period
from dashboards.reading import reading
from dashboards.schemas import ShareAnswer, TurnaroundAnswer
from dashboards.share import reporting_share, reporting_share_monthly
from dashboards.snapshot import SnapshotCache, SnapshotParams
from dashboards.sourcing import sourcing, sourcing_monthly
from dashboards.turnaround import turnaround
from worklist.auth.tokens import Principal
from worklist.deps import ReporterDep, ServicesDep, require
from worklist.models import Reporter
from worklist.services import Services

router = APIRouter(prefix="/api/v1", tags=["dashboards"])
REPORTER = Reporter.__table__  # type: ignore[attr-defined]
DashboardDep = Annotated[Principal, Depends(require("ops", "lead"))]
From = Annotated[str | None, Query(alias="from", description="ISO date (local) or datetime")]
To = Annotated[str | None, Query(alias="to", description="ISO date (inclusive) or datetime")]
Months = Annotated[int, Query(ge=1, le=120, description="local calendar months, newest last")]


def _period(services: Services, start: str | None, end: str | None) -> Period:
    try:
        return parse_period(start, end, services.settings.timezone)
    except PeriodError as e:
        raise HTTPException(422, str(e)) from e


def _answer(period: Period, rows: list[dict[str, Any]]) -> dict[str, Any]:
    return {"from": period.label_from, "to": period.label_to, "rows": rows}


def _monthly(services: Services, months: int) -> tuple[list[Any], dict[str, Any]]:
    starts = month_starts(months, services.settings.timezone)
    return starts, {
        "from": starts[0].isoformat(),
        "to": (starts[-1] - timedelta(days=1)).isoformat(),
    }


@router.get("/dashboards/turnaround", response_model=TurnaroundAnswer)
def get_turnaround(
    services: ServicesDep,
    _: DashboardDep,
    start: From = None,
    end: To = None,
    site: str | None = None,
) -> dict[str, Any]:
    """Reports in the period against target, and what waits now, by urgency x modality."""
    period = _period(services, start, end)
    with reading(services.engine) as conn:
        rows = turnaround(conn, period, datetime.now(UTC), site.upper() if site else None)
    return _answer(period, rows)


@router.get("/dashboards/reporting-share", response_model=ShareAnswer)
def get_reporting_share(
    services: ServicesDep,
    _: DashboardDep,
    start: From = None,
    end: To = None,
    network: str | None = None,
) -> dict[str, Any]:
    """Radiographer share of plain X-ray (CR, DX) reports by site, plus the network total."""
    period = _period(services, start, end)
    with reading(services.engine) as conn:
        return _answer(period, reporting_share(conn, period, network))


@router.get("/dashboards/reporting-share/monthly")
def get_reporting_share_monthly(
    services: ServicesDep, _: DashboardDep, months: Months = 12, network: str | None = None
) -> dict[str, Any]:
    """The share by local calendar month, per site and for the network (``site`` null)."""
    starts, answer = _monthly(services, months)
    with reading(services.engine) as conn:
        rows = reporting_share_monthly(conn, starts, services.settings.timezone, network)
    return {**answer, "rows": rows}


@router.get("/dashboards/sourcing")
def get_sourcing(
    services: ServicesDep,
    _: DashboardDep,
    start: From = None,
    end: To = None,
    network: str | None = None,
) -> dict[str, Any]:
    """Reports, work units and money by sourcing (core, insourced, outsourced) per site."""
    period = _period(services, start, end)
    with reading(services.engine) as conn:
        return _answer(period, sourcing(conn, period, network))


@router.get("/dashboards/sourcing/monthly")
def get_sourcing_monthly(
    services: ServicesDep, _: DashboardDep, months: Months = 12, network: str | None = None
) -> dict[str, Any]:
    """Sourcing by local calendar month and site."""
    starts, answer = _monthly(services, months)
    with reading(services.engine) as conn:
        rows = sourcing_monthly(conn, starts, services.settings.timezone, network)
    return {**answer, "rows": rows}


@router.get("/dashboards/headroom")
def get_headroom(
    services: ServicesDep,
    _: DashboardDep,
    start: From = None,
    end: To = None,
    network: str | None = None,
) -> dict[str, Any]:
    """Radiographer-reportable studies reported, by reporter group and site."""
    period = _period(services, start, end)
    with reading(services.engine) as conn:
        return _answer(period, headroom(conn, period, network))


def snapshot_cache(request: Request) -> SnapshotCache:
    """One cache per app, made on first use."""
    cache: SnapshotCache | None = getattr(request.app.state, "ops_snapshots", None)
    if cache is None:
        cache = request.app.state.ops_snapshots = SnapshotCache()
    return cache


def snapshot_params(
    site: str | None = None,
    horizon_minutes: Annotated[int, Query(ge=1, le=7 * 24 * 60)] = 120,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> SnapshotParams:
    return SnapshotParams(site.upper() if site else None, horizon_minutes, limit)


@router.get("/dashboards/backlog")
def get_backlog(
    services: ServicesDep,
    _: DashboardDep,
    params: Annotated[SnapshotParams, Depends(snapshot_params)],
    cache: Annotated[SnapshotCache, Depends(snapshot_cache)],
) -> dict[str, Any]:
    """The live backlog: buckets, ages, at-risk and breached studies, throughput, on duty."""
    return cache.get(services.engine, services.settings.timezone, params)


def _reporter_network(services: Services, reporter_id: str) -> str:
    with reading(services.engine) as conn:
        network = conn.execute(
            select(REPORTER.c.network).where(REPORTER.c.id == reporter_id)
        ).scalar()
    if network is None:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "this reporter is unknown")
    return str(network)


@router.get("/me/tally")
def get_tally(
    services: ServicesDep, principal: ReporterDep, start: From = None, end: To = None
) -> dict[str, Any]:
    """Your cases and work units (completed, handed back, expired); today by default."""
    period = _period(services, start, end)
    assert principal.reporter_id is not None
    with reading(services.engine) as conn:
        counts = me.tally(conn, principal.reporter_id, period.start, period.end)
    return {"from": period.label_from, "to": period.label_to, **counts}


@router.get("/me/status")
def get_status(services: ServicesDep, principal: ReporterDep) -> dict[str, Any]:
    """Your session, the case in your hands (with its reason) and today's tally."""
    rid = principal.reporter_id
    assert rid is not None
    tz = ZoneInfo(services.settings.timezone)
    today = datetime.now(UTC).astimezone(tz).date()
    start, end = local_midnight(today, tz), local_midnight(today + timedelta(days=1), tz)
    with reading(services.engine) as conn:
        state = me.session_and_case(conn, rid)
        state["tally"] = me.tally(conn, rid, start, end)
    state["in_hand"] = services.allocator(_reporter_network(services, rid)).in_hand(rid)
    return {"reporter_id": rid, **state}


@router.get("/me/inbox")
def get_inbox(services: ServicesDep, principal: ReporterDep) -> dict[str, Any]:
    """Cheap to poll: how many cases are leased to you or held for you (pushed hot cases)."""
    rid = principal.reporter_id
    assert rid is not None
    in_hand = services.allocator(_reporter_network(services, rid)).in_hand(rid)
    return {
        "reporter_id": rid,
        **{k: int(v) if k != "work_units" else v for k, v in in_hand.items()},
    }
