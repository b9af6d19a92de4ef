"""The app factory: settings, services and routers wired together, with a lifespan."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import func, select, text
from sqlmodel import col

from dashboards.gauges import breached_waiting_rows
from dashboards.metrics import Metrics
from dashboards.pages import STATIC_URL, static_files
from dashboards.routes import router as dashboards_router
from worklist import db as database
from worklist.auth.endpoints import router as auth_router
from worklist.auth.refresh import keep_tokens_fresh
from worklist.logs import configure_logging
from worklist.middleware import RequestContext
from worklist.models import Study
from worklist.predictions.endpoints import router as predictions_router
from worklist.reference.endpoints import router as reference_router
from worklist.reporting.endpoints import router as reporting_router
from worklist.reporting.hot_path import ReporterHotPath
from worklist.reporting.sweeper import run_sweeper
from worklist.reporting.watch import rebuild_if_empty
from worklist.reviews.endpoints import router as reviews_router
from worklist.rosters.endpoints import router as rosters_router
from worklist.services import Services, open_services
from worklist.settings import Settings
from worklist.sourcing.endpoints import router as sourcing_router
from worklist.sourcing.outsourcing_endpoints import router as outsourcing_router
from worklist.studies.endpoints import router as studies_router
from worklist.unavailable import install_unavailable_handlers

log = logging.getLogger(__name__)


def _queue_rows(services: Services) -> Callable[[], list[tuple[str, str, str, int, float]]]:
    def rows() -> list[tuple[str, str, str, int, float]]:
        now = datetime.now(UTC)
        query = (
            select(
                col(Study.site),
                col(Study.modality),
                col(Study.urgency),
                func.count(),
                func.min(col(Study.acquired_at)),
            )
            .where(col(Study.status) == "unreported")
            .group_by(col(Study.site), col(Study.modality), col(Study.urgency))
        )
        with services.engine.connect() as conn:
            result = []
            for site, modality, urgency, count, oldest in conn.execute(query):
                if isinstance(oldest, str):
                    oldest = datetime.fromisoformat(oldest)
                if oldest is not None and oldest.tzinfo is None:
                    oldest = oldest.replace(tzinfo=UTC)
                age = (now - oldest).total_seconds() if oldest else 0.0
                result.append((site, modality, urgency, int(count), age))
            return result

    return rows


def create_app(settings: Settings | None = None, *, run_sweeper_task: bool = True) -> FastAPI:
    """Build the service; nothing connects until the lifespan starts."""
    settings = settings or Settings()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        services = open_services(settings)
        for warning in database.server_warnings(services.engine):
            log.warning(warning)
        services.hot_engine = database.make_hot_engine(
            settings.resolved_database_url(), settings.hot_path_connections
        )
        app.state.services = services
        app.state.metrics = Metrics(_queue_rows(services), breached_waiting_rows(services.engine))
        services.on_outsourced = app.state.metrics.record_outsourced
        rebuilt = rebuild_if_empty(services)
        if rebuilt:
            log.info("allocator state rebuilt from the database", extra={"networks": rebuilt})
        stop = asyncio.Event()
        sweeper = (
            asyncio.create_task(run_sweeper(services, stop, app.state.metrics.count_sweep))
            if run_sweeper_task and settings.run_sweeper
            else None
        )
        token_refresher = asyncio.create_task(keep_tokens_fresh(services, stop))
        try:
            yield
        finally:
            stop.set()
            await token_refresher
            if sweeper is not None:
                await sweeper
            if services.hot_engine is not None:
                await services.hot_engine.dispose()
            services.close()

    app = FastAPI(
        title="Networked reporting worklist balancer",
        version="1.0",
        lifespan=lifespan,
    )

    install_unavailable_handlers(app)
    app.add_middleware(ReporterHotPath)  # inside RequestContext: timed and given a request id
    app.add_middleware(
        RequestContext, on_next=lambda seconds: app.state.metrics.next_seconds.observe(seconds)
    )

    @app.get("/healthz", tags=["operations"])
    async def healthz() -> dict[str, str]:
        """The process is up."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["operations"])
    def readyz(request: Request) -> Response:
        """The database and Redis are reachable."""
        services: Services = request.app.state.services
        problems = {}
        try:
            with services.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception as e:
            problems["database"] = type(e).__name__
        try:
            services.redis.ping()
        except Exception as e:
            problems["redis"] = type(e).__name__
        if problems:
            return JSONResponse({"status": "unavailable", "problems": problems}, status_code=503)
        return JSONResponse({"status": "ready"})

    @app.get("/metrics", tags=["operations"])
    def metrics(request: Request) -> Response:
        """Prometheus text format."""
        return PlainTextResponse(
            generate_latest(request.app.state.metrics.registry), media_type=CONTENT_TYPE_LATEST
        )

    for router in (auth_router, reference_router, studies_router, reporting_router):
        app.include_router(router)
    app.include_router(dashboards_router)
    for router in (
        sourcing_router,
        outsourcing_router,
        rosters_router,
        predictions_router,
        reviews_router,
    ):
        app.include_router(router)
    app.mount(STATIC_URL, static_files(), name="dashboards-static")
    configure_logging(settings.log_level, settings.log_json)
    return app
