"""Small builders shared by the worklist API tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from tests.conftest import bearer, mint
from worklist.services import Services

NOW = datetime.now(UTC).replace(microsecond=0)


def setup_network(client: TestClient) -> None:
    for code in ("RXK", "RL4", "RRK"):
        r = client.put(f"/api/v1/sites/{code}", json={"name": f"Site {code}", "network": "wm"})
        assert r.status_code in (200, 201), r.text


def study(uid: str, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "study_uid": uid,
        "accession": f"ACC-{uid}",
        "site": "RXK",
        "modality": "CR",
        "body_part": "CHEST",
        "description": "XR Chest PA",
        "patient_id": f"P-{uid}",
        "patient_age": 67,
        "patient_source": "gp",
        "acquired_at": (NOW - timedelta(hours=1)).isoformat(),
    }
    body.update(overrides)
    return body


def put_reporter(client: TestClient, rid: str, **overrides: Any) -> None:
    body: dict[str, Any] = {
        "name": rid,
        "group": "radiologist",
        "home_site": "RXK",
        "sites": ["RXK", "RL4"],
        "subspecialties": [],
        "scope": [],
    }
    body.update(overrides)
    r = client.put(f"/api/v1/reporters/{rid}", json=body)
    assert r.status_code in (200, 201), r.text


def services_of(client: TestClient) -> Services:
    """The running app's services (engine, Redis, allocators) behind the TestClient."""
    services: Services = client.app.state.services  # type: ignore[attr-defined]
    return services


def reporter(client: TestClient, rid: str, **overrides: Any) -> dict[str, str]:
    """Create (or update) a reporter and return auth headers for their reporter token."""
    put_reporter(client, rid, **overrides)
    return bearer(mint(client, "reporter", rid))
