"""Dashboard JSON endpoints (API.md: Dashboards) and the reporter's own tally and inbox."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from sqlalchemy import Connection, select

from dashboards import me
from dashboards.headroom import headroom
from dashboards.periods import Period, local_midnight, month_starts
from dashboards.query import Months, PeriodDep, answer
from dashboards.reading import reading
from dashboards.schemas import ShareAnswer, TurnaroundAnswer
from dashboards.share import reporting_share, reporting_share_monthly
from dashboards.snapshot import SnapshotCache, SnapshotParams
from dashboards.sourcing import sourcing, sourcing_monthly
from dashboards.turnaround import turnaround
from worklist.deps import ReaderDep, ReporterDep, ServicesDep
from worklist.models import Reporter
from worklist.services import Services

router = APIRouter(prefix="/api/v1", tags=["dashboards"])
REPORTER = Reporter.__table__  # type: ignore[attr-defined]
DashboardDep = ReaderDep  # ops, lead (and admin)
Rows = list[dict[str, Any]]
PeriodView = Callable[[Connection, Period, str | None], Rows]
MonthlyView = Callable[[Connection, Sequence[date], str, str | None], Rows]


@router.get("/dashboards/turnaround", response_model=TurnaroundAnswer)
def get_turnaround(
    services: ServicesDep, _: DashboardDep, period: PeriodDep, site: str | None = None
) -> dict[str, Any]:
    """Reports in the period against target, and what waits now, by urgency x modality."""
    with reading(services.engine) as conn:
        rows = turnaround(conn, period, datetime.now(UTC), site.upper() if site else None)
    return answer(period, rows)


def _period_view(path: str, view: PeriodView, summary: str, model: Any = None) -> None:
    """``GET path?from=&to=&network=`` answering ``{"from", "to", "rows"}``."""

    def endpoint(
        services: ServicesDep, _: DashboardDep, period: PeriodDep, network: str | None = None
    ) -> dict[str, Any]:
        with reading(services.engine) as conn:
            return answer(period, view(conn, period, network))

    router.add_api_route(
        path,
        endpoint,
        methods=["GET"],
        response_model=model,
        name=f"get_{view.__name__}",
        summary=summary,
    )


def _monthly_view(path: str, view: MonthlyView, summary: str) -> None:
    """``GET path?months=12&network=``: rows per local calendar month (``month``: YYYY-MM)."""

    def endpoint(
        services: ServicesDep, _: DashboardDep, months: Months = 12, network: str | None = None
    ) -> dict[str, Any]:
        tz = services.settings.timezone
        starts = month_starts(months, tz)
        with reading(services.engine) as conn:
            rows = view(conn, starts, tz, network)
        last = (starts[-1] - timedelta(days=1)).isoformat()
        return {"from": starts[0].isoformat(), "to": last, "rows": rows}

    router.add_api_route(
        path, endpoint, methods=["GET"], name=f"get_{view.__name__}", summary=summary
    )


_period_view(
    "/dashboards/reporting-share",
    reporting_share,
    "Radiographer share of plain X-ray (CR, DX) reports by site, plus the network total",
    ShareAnswer,
)
_monthly_view(
    "/dashboards/reporting-share/monthly",
    reporting_share_monthly,
    "The radiographer share by local calendar month, per site and for the network",
)
_period_view(
    "/dashboards/sourcing",
    sourcing,
    "Reports, work units and money by sourcing (core, insourced, outsourced) per site",
)
_monthly_view(
    "/dashboards/sourcing/monthly",
    sourcing_monthly,
    "Sourcing and its cost by local calendar month, per site and for the network",
)
_period_view(
    "/dashboards/headroom",
    headroom,
    "Radiographer-reportable work reported by others while a radiographer was on duty",
)


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
def get_tally(services: ServicesDep, principal: ReporterDep, period: PeriodDep) -> dict[str, Any]:
    """Your cases and work units (completed, handed back, expired); today by default."""
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
