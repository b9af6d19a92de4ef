"""Connector test fixtures: sites registered on the live service, a feed client, Orthanc."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from connectors.delivery import FeedClient
from connectors.sink import Sink
from connectors.state import Quarantine
from tests.connectors.peers import Orthanc, start_orthanc

SITES = ("RXK", "RL4")


@pytest.fixture
def service(live_service: Any) -> Any:
    """The live service with the test sites registered."""
    for code in SITES:
        response = live_service.client.put(
            f"/api/v1/sites/{code}", json={"name": f"Trust {code}", "network": "wm"}
        )
        assert response.status_code in (200, 201), response.text
    return live_service


@pytest.fixture
def feed(service: Any) -> Iterator[FeedClient]:
    client = FeedClient(service.url, service.token("feed"), backoff=0.05, max_attempts=3)
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    path = tmp_path / "state"
    path.mkdir()
    return path


@pytest.fixture
def sink_factory(feed: FeedClient, state_dir: Path) -> Any:
    def make(source: str) -> Sink:
        return Sink(feed, Quarantine(state_dir), source)

    return make


@pytest.fixture
def orthanc(tmp_path: Path) -> Iterator[Orthanc]:
    yield from start_orthanc(tmp_path / "orthanc")


def study(service: Any, uid: str) -> dict[str, Any] | None:
    response = service.client.get(f"/api/v1/studies/{uid}")
    if response.status_code == 404:
        return None
    response.raise_for_status()
    body: dict[str, Any] = response.json()
    return body


def site_studies(service: Any, site: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"site": site, "limit": 500}
        if cursor:
            params["cursor"] = cursor
        response = service.client.get("/api/v1/studies", params=params)
        response.raise_for_status()
        body = response.json()
        items.extend(body["items"])
        cursor = body.get("next_cursor")
        if not cursor:
            return items
