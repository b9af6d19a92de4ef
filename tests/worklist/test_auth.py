"""Auth through HTTP: every protected route answers 401 without a token and 403 for a wrong role."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlmodel import Session

from tests.conftest import ADMIN_TOKEN, bearer, mint
from tests.worklist.helpers import put_reporter, setup_network
from worklist.auth.tokens import hash_token
from worklist.models import ApiToken

PUBLIC = {
    "/healthz",
    "/readyz",
    "/metrics",
    "/openapi.json",
    "/docs",
    "/docs/oauth2-redirect",
    "/redoc",
}
ROLES = ("admin", "feed", "ops", "lead", "reporter")
# The contract (API.md): who may call each route. Routes added beyond the contract are checked
# against the roles they declare through require(...).
CONTRACT = {
    ("POST", "/api/v1/tokens"): {"admin"},
    ("PUT", "/api/v1/sites/{code}"): {"admin"},
    ("PUT", "/api/v1/reporters/{reporter_id}"): {"admin"},
    ("PUT", "/api/v1/providers/{provider_id}"): {"admin"},
    ("GET", "/api/v1/sites"): {"admin", "ops", "lead"},
    ("GET", "/api/v1/reporters"): {"admin", "ops", "lead"},
    ("GET", "/api/v1/reporters/{reporter_id}"): {"admin", "ops", "lead"},
    ("GET", "/api/v1/providers"): {"admin", "ops", "lead"},
    ("POST", "/api/v1/studies"): {"admin", "feed"},
    ("POST", "/api/v1/orders"): {"admin", "feed"},
    ("POST", "/api/v1/reports"): {"admin", "feed", "ops"},
    ("GET", "/api/v1/studies/{study_uid}"): {"admin", "ops", "lead", "reporter"},
    ("GET", "/api/v1/studies"): {"admin", "ops", "lead", "reporter"},
    ("POST", "/api/v1/studies/{study_uid}/outsource"): {"admin", "ops"},
    ("POST", "/api/v1/studies/{study_uid}/report"): {"admin", "feed", "ops"},
    ("POST", "/api/v1/sessions"): {"reporter"},
    ("DELETE", "/api/v1/sessions/current"): {"reporter"},
    ("POST", "/api/v1/worklist/next"): {"reporter"},
    ("POST", "/api/v1/assignments/{assignment_id}/complete"): {"reporter"},
    ("POST", "/api/v1/assignments/{assignment_id}/release"): {"reporter"},
    ("GET", "/api/v1/dashboards/turnaround"): {"admin", "ops", "lead"},
    ("GET", "/api/v1/dashboards/reporting-share"): {"admin", "ops", "lead"},
    ("GET", "/api/v1/dashboards/sourcing"): {"admin", "ops", "lead"},
}


def _routes(client: TestClient) -> list[tuple[str, str]]:
    spec = client.get("/openapi.json").json()
    return [
        (method.upper(), path)
        for path, item in spec["paths"].items()
        for method in item
        if path not in PUBLIC and method in {"get", "post", "put", "delete", "patch"}
    ]


def _api_routes(routes: list[Any]) -> list[APIRoute]:
    """Every APIRoute, looking inside included routers (FastAPI may keep them nested)."""
    found: list[APIRoute] = []
    for route in routes:
        if isinstance(route, APIRoute):
            found.append(route)
        elif hasattr(route, "original_router"):
            found += _api_routes(route.original_router.routes)
    return found


def _declared(client: TestClient, method: str, path: str) -> set[str] | None:
    """The roles a route declares through require(...), found in its dependency tree."""
    for route in _api_routes(client.app.routes):  # type: ignore[attr-defined]
        if route.path == path and method in route.methods:
            stack = list(route.dependant.dependencies)
            while stack:
                dependency = stack.pop()
                roles = getattr(dependency.call, "allowed_roles", None)
                if roles is not None:
                    return set(roles)
                stack.extend(dependency.dependencies)
    return None


def _fill(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "x1", path)


def test_every_protected_route_needs_a_token(client: TestClient) -> None:
    routes = _routes(client)
    assert set(CONTRACT) <= set(routes), set(CONTRACT) - set(routes)
    for method, path in routes:
        response = client.request(method, _fill(path), headers={"Authorization": ""})
        assert response.status_code == 401, (method, path, response.status_code)
        response = client.request(method, _fill(path), headers=bearer("wrong-token"))
        assert response.status_code == 401, (method, path, response.status_code)


def test_roles_are_enforced_as_declared_and_as_the_contract_says(client: TestClient) -> None:
    setup_network(client)
    put_reporter(client, "r1")
    tokens = {role: mint(client, role) for role in ("feed", "ops", "lead")}
    tokens["reporter"] = mint(client, "reporter", "r1")
    tokens["admin"] = ADMIN_TOKEN
    for method, path in _routes(client):
        declared = _declared(client, method, path)
        assert declared is not None, f"{method} {path} declares no roles"
        if (method, path) in CONTRACT:
            assert declared == CONTRACT[(method, path)], (method, path, declared)
        for role in ROLES:
            if role in declared and path.startswith("/api/v1/events/"):
                continue  # a live stream stays open; tests/dashboards read it properly
            response = client.request(method, _fill(path), headers=bearer(tokens[role]))
            if role in declared:
                assert response.status_code not in (401, 403), (role, method, path)
            else:
                assert response.status_code == 403, (role, method, path, response.status_code)


def test_tokens_are_stored_hashed_and_can_be_revoked(client: TestClient) -> None:
    response = client.post("/api/v1/tokens", json={"role": "ops"})
    assert response.status_code == 201
    token, token_id = response.json()["token"], response.json()["id"]
    engine = client.app.state.services.engine  # type: ignore[attr-defined]
    with Session(engine) as db:
        row = db.get(ApiToken, token_id)
        assert (
            row is not None and row.token_hash == hash_token(token) and token not in row.token_hash
        )
    assert client.get("/api/v1/sites", headers=bearer(token)).status_code == 200
    assert client.delete(f"/api/v1/tokens/{token_id}").status_code == 200
    assert client.get("/api/v1/sites", headers=bearer(token)).status_code == 401


def test_expired_token_is_refused(client: TestClient) -> None:
    token = mint(client, "lead")
    engine = client.app.state.services.engine  # type: ignore[attr-defined]
    with Session(engine) as db:
        from sqlmodel import select

        row = db.exec(select(ApiToken).where(ApiToken.token_hash == hash_token(token))).one()
        row.expires_at = datetime.now(UTC) - timedelta(seconds=1)
        db.add(row)
        db.commit()
    assert client.get("/api/v1/sites", headers=bearer(token)).status_code == 401


@pytest.mark.parametrize(
    "body",
    [{"role": "reporter"}, {"role": "ops", "reporter_id": "r1"}, {"role": "superuser"}],
)
def test_bad_token_requests_are_422(client: TestClient, body: dict[str, str]) -> None:
    assert client.post("/api/v1/tokens", json=body).status_code == 422


def test_reporter_token_needs_a_known_reporter(client: TestClient) -> None:
    response = client.post("/api/v1/tokens", json={"role": "reporter", "reporter_id": "nobody"})
    assert response.status_code == 422
