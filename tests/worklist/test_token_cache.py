"""The token cache: entries in use are re-checked in one query before they run out, and a
token revoked on another replica stops working at the next re-check."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from tests.conftest import bearer, mint
from worklist.auth.cache import TokenCache
from worklist.auth.refresh import refresh_tokens
from worklist.auth.tokens import LOOKUP_CHUNK, hash_token, lookup_hashes
from worklist.models import ApiToken
from worklist.services import Services


def _services(client: TestClient) -> Services:
    services: Services = client.app.state.services  # type: ignore[attr-defined]
    return services


def _revoke_behind_the_cache(services: Services, token: str) -> None:
    """Revoke as another replica would: in the database only, this cache not told."""
    with Session(services.engine) as db:
        row = db.exec(select(ApiToken).where(ApiToken.token_hash == hash_token(token))).one()
        row.revoked_at = datetime.now(UTC)
        db.add(row)
        db.commit()


def _stopped_clock(client: TestClient) -> tuple[Services, list[float]]:
    """The app's services with a 5 s token cache on a clock the test moves by hand."""
    services = _services(client)
    clock = [1000.0]
    services.tokens = TokenCache(ttl=5.0, clock=lambda: clock[0])
    return services, clock


def test_a_refresh_extends_tokens_in_use_and_drops_those_revoked_elsewhere(
    client: TestClient,
) -> None:
    services, clock = _stopped_clock(client)
    kept, revoked = mint(client, "ops"), mint(client, "ops")
    for token in (kept, revoked):
        assert client.get("/api/v1/sites", headers=bearer(token)).status_code == 200

    clock[0] += 2.0  # not yet half its life: nothing to re-check
    assert refresh_tokens(services) == (0, 0)
    clock[0] += 1.0
    _revoke_behind_the_cache(services, revoked)
    assert refresh_tokens(services) == (1, 1)

    clock[0] += 4.0  # 7 s after the first lookup, 4 s after the refresh
    assert services.tokens.get(kept) is not None
    assert client.get("/api/v1/sites", headers=bearer(kept)).status_code == 200
    assert client.get("/api/v1/sites", headers=bearer(revoked)).status_code == 401


def test_the_cache_serves_until_the_refresh_then_follows_the_database(
    client: TestClient,
) -> None:
    services, clock = _stopped_clock(client)
    token = mint(client, "lead")
    assert client.get("/api/v1/sites", headers=bearer(token)).status_code == 200
    _revoke_behind_the_cache(services, token)
    # Within its life the cached entry answers without a query: revocation elsewhere waits.
    assert client.get("/api/v1/sites", headers=bearer(token)).status_code == 200
    clock[0] += 3.0
    refresh_tokens(services)
    assert client.get("/api/v1/sites", headers=bearer(token)).status_code == 401


def test_the_app_refreshes_in_the_background(client: TestClient) -> None:
    services = _services(client)
    # The app's refresher wakes every quarter life: 1.25 s for the default cache it started
    # with, then every 0.1 s for this one.
    services.tokens = TokenCache(ttl=0.4)
    time.sleep(1.5)  # past the refresher's first, longer wait
    used, revoked, idle = mint(client, "ops"), mint(client, "ops"), mint(client, "ops")
    for each in (used, revoked, idle):
        assert client.get("/api/v1/sites", headers=bearer(each)).status_code == 200
    _revoke_behind_the_cache(services, revoked)
    for _ in range(10):  # two seconds, five lives: only the refresher keeps an entry alive
        time.sleep(0.2)
        assert services.tokens.get(used) is not None
    assert services.tokens.get(revoked) is None
    assert services.tokens.get(idle) is None  # nobody used it: left to run out


def test_a_refresh_never_undoes_a_revocation_made_while_it_looked(client: TestClient) -> None:
    services, clock = _stopped_clock(client)
    token = mint(client, "ops")
    assert client.get("/api/v1/sites", headers=bearer(token)).status_code == 200
    principal = services.tokens.get(token)
    assert principal is not None and principal.token_id is not None
    clock[0] += 3.0

    def lookup_then_revoked_here(hashes: Any) -> Any:
        found = {h: (principal, None) for h in hashes}  # valid when the query ran ...
        services.tokens.forget_token_id(principal.token_id)  # ... revoked on this replica
        return found

    services.tokens.refresh(lookup_then_revoked_here)
    assert services.tokens.get(token) is None


def test_lookup_hashes_keeps_only_valid_tokens_in_chunks(client: TestClient) -> None:
    services = _services(client)
    valid, expired, revoked = mint(client, "ops"), mint(client, "feed"), mint(client, "lead")
    with Session(services.engine) as db:
        for token, change in ((expired, "expires_at"), (revoked, "revoked_at")):
            row = db.exec(select(ApiToken).where(ApiToken.token_hash == hash_token(token))).one()
            setattr(row, change, datetime.now(UTC) - timedelta(seconds=1))
            db.add(row)
        db.commit()
        unknown = [f"{i:064x}" for i in range(LOOKUP_CHUNK + 10)]
        asked = [*unknown, hash_token(valid), hash_token(expired), hash_token(revoked)]
        found = lookup_hashes(db, asked)
    assert list(found) == [hash_token(valid)]
    principal, _ = found[hash_token(valid)]
    assert principal.role == "ops" and principal.token_id is not None
