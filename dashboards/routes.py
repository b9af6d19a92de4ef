"""Everything the dashboards add to the app: JSON endpoints, the ops event stream, the pages."""

from __future__ import annotations

from fastapi import APIRouter

from dashboards import endpoints, pages, stream

router = APIRouter()
router.include_router(endpoints.router)
router.include_router(stream.router)
router.include_router(pages.router)
