"""The three web pages (reporter, operations, network lead) and their static files.

The pages hold no data: each signs in with a token kept in sessionStorage and calls the JSON API.
Nothing loads from the internet: the charts are drawn by dashboards/static/charts.js.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

HERE = Path(__file__).parent
STATIC_URL = "/static/dashboards"
PAGES = {"reporter": "Reporter", "ops": "Operations", "lead": "Network lead"}

router = APIRouter(tags=["pages"], include_in_schema=False)


def _page(name: str) -> FileResponse:
    return FileResponse(
        HERE / "templates" / f"{name}.html",
        media_type="text/html; charset=utf-8",
        headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"},
    )


@router.get("/reporter")
def reporter_page() -> FileResponse:
    """The reporter's worklist page."""
    return _page("reporter")


@router.get("/ops")
def ops_page() -> FileResponse:
    """The operations team's live page."""
    return _page("ops")


@router.get("/lead")
def lead_page() -> FileResponse:
    """The network lead's page."""
    return _page("lead")


def static_files() -> StaticFiles:
    """Mounted by the app factory at STATIC_URL."""
    return StaticFiles(directory=HERE / "static")
