"""Server-sent events for the operations page: the snapshot, pushed every few seconds.

Clients read it with ``fetch`` and the Authorization header (no token in the URL, so none in
access logs). Each stream ends after a while and the page reconnects, so a shutting-down server
is never held open for long.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from dashboards.endpoints import DashboardDep, snapshot_cache, snapshot_params
from dashboards.snapshot import SnapshotCache, SnapshotParams
from worklist.deps import ServicesDep
from worklist.services import Services

router = APIRouter(prefix="/api/v1", tags=["dashboards"])
STREAM_SECONDS = 30.0


async def _events(
    request: Request,
    services: Services,
    cache: SnapshotCache,
    params: SnapshotParams,
    interval: float,
) -> AsyncIterator[str]:
    deadline = time.monotonic() + STREAM_SECONDS
    yield f"retry: {int(interval * 1000)}\n\n"
    while time.monotonic() < deadline and not await request.is_disconnected():
        snap = await run_in_threadpool(
            cache.get, services.engine, services.settings.timezone, params
        )
        yield f"event: backlog\ndata: {json.dumps(snap, default=str)}\n\n"
        await asyncio.sleep(interval)


@router.get(
    "/events/ops",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def ops_events(
    request: Request,
    services: ServicesDep,
    _: DashboardDep,
    params: Annotated[SnapshotParams, Depends(snapshot_params)],
    cache: Annotated[SnapshotCache, Depends(snapshot_cache)],
    interval: Annotated[float, Query(ge=0.5, le=60)] = 2.0,
) -> StreamingResponse:
    """A text/event-stream of ``backlog`` events (the /dashboards/backlog document)."""
    return StreamingResponse(
        _events(request, services, cache, params, interval),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
