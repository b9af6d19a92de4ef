"""Auth through HTTP: every protected route answers 401 without a token and 403 for a wrong role."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from tests.conftest import ADMIN_TOKEN, bearer, mint
from tests.worklist.helpers import put_reporter, setup_network
from worklist.auth.tokens import hash_token
from worklist.models import ApiToken

# Roles that may NOT call each route (beyond "no token"): checked for 403.
PUBLIC = {
    "/healthz",
    "/readyz",
    "/metrics",
    "/openapi.json",
    "/docs",
    "/docs/oauth2-redirect",
    "/redoc",
}
REPORTER_ONLY = re.compile(r"^/api/v1/(sessions|worklist|assignments)")
ADMIN_ONLY = {
    ("PUT", "/api/v1/sites/{code}"),
    ("PUT", "/api/v1/reporters/{reporter_id}"),
    ("PUT", "/api/v1/providers/{provider_id}"),
    ("POST", "/api/v1/tokens"),
    ("DELETE", "/api/v1/tokens/{token_id}"),
}


def _routes(client: TestClient) -> list[tuple[str, str]]:
    spec = client.get("/openapi.json").json()
    return [
        (method.upper(), path)
        for path, item in spec["paths"].items()
        for method in item
        if path not in PUBLIC
    ]


def _fill(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "x1", path)


def test_every_protected_route_needs_a_token(client: TestClient) -> None:
    routes = _routes(client)
    assert len(routes) >= 15
    for method, path in routes:
        response = client.request(method, _fill(path), headers={"Authorization": ""})
        assert response.status_code == 401, (method, path, response.status_code)
        response = client.request(method, _fill(path), headers=bearer("wrong-token"))
        assert response.status_code == 401, (method, path, response.status_code)


def test_wrong_roles_get_403(client: TestClient) -> None:
    setup_network(client)
    put_reporter(client, "r1")
    tokens = {role: mint(client, role) for role in ("feed", "ops", "lead")}
    tokens["reporter"] = mint(client, "reporter", "r1")
    tokens["admin"] = ADMIN_TOKEN
    for method, path in _routes(client):
        if REPORTER_ONLY.match(path):
            forbidden = {"admin", "feed", "ops", "lead"}
        elif (method, path) in ADMIN_ONLY:
            forbidden = {"feed", "ops", "lead", "reporter"}
        elif path in ("/api/v1/studies", "/api/v1/orders") and method == "POST":
            forbidden = {"ops", "lead", "reporter"}
        elif path == "/api/v1/reports" or path.endswith("/report"):
            forbidden = {"lead", "reporter"}
        elif path.endswith("/outsource"):
            forbidden = {"feed", "lead", "reporter"}
        elif path.startswith("/api/v1/studies") and method == "GET":
            forbidden = {"feed"}
        else:
            forbidden = {"feed", "reporter"}
        for role in forbidden:
            response = client.request(method, _fill(path), headers=bearer(tokens[role]))
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
