"""The app factory: settings, services and routers wired together, with a lifespan."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import func, select, text
from sqlmodel import col

from dashboards.metrics import Metrics
from worklist.auth.endpoints import router as auth_router
from worklist.logs import configure_logging, request_id_var
from worklist.models import Study
from worklist.reference.endpoints import router as reference_router
from worklist.reporting.endpoints import router as reporting_router
from worklist.reporting.recovery import rebuild_if_empty
from worklist.reporting.sweeper import run_sweeper
from worklist.services import Services, open_services
from worklist.settings import Settings
from worklist.studies.endpoints import router as studies_router

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
        app.state.services = services
        app.state.metrics = Metrics(_queue_rows(services))
        rebuilt = rebuild_if_empty(services)
        if rebuilt:
            log.info("allocator state rebuilt from the database", extra={"networks": rebuilt})
        stop = asyncio.Event()
        sweeper = asyncio.create_task(run_sweeper(services, stop)) if run_sweeper_task else None
        try:
            yield
        finally:
            stop.set()
            if sweeper is not None:
                await sweeper
            services.close()

    app = FastAPI(
        title="Networked reporting worklist balancer",
        version="1.0",
        lifespan=lifespan,
    )

    @app.middleware("http")
    async def request_context(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        request_id = request.headers.get("x-request-id") or uuid.uuid4().hex[:16]
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        try:
            response = await call_next(request)
        finally:
            request_id_var.reset(token)
        elapsed = time.perf_counter() - started
        if request.url.path == "/api/v1/worklist/next":
            app.state.metrics.next_seconds.observe(elapsed)
        response.headers["x-request-id"] = request_id
        return response

    @app.get("/healthz", tags=["operations"])
    def healthz() -> dict[str, str]:
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
    configure_logging(settings.log_level, settings.log_json)
    return app
