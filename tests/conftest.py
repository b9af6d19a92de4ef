"""Shared fixtures: a real Redis (local server or embedded) emptied per test."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from allocator.connection import EmbeddedRedis, connect


def _local_redis_url() -> str | None:
    """The Redis to test against: WORKLIST_TEST_REDIS_URL, else a local server if one answers."""
    url = os.environ.get("WORKLIST_TEST_REDIS_URL")
    if url:
        return url
    try:
        probe = redis.Redis(host="127.0.0.1", port=6379, socket_connect_timeout=0.2)
        probe.ping()
        probe.close()
        return "redis://127.0.0.1:6379/9"
    except redis.RedisError:
        return None


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = _local_redis_url()
    if url is not None:
        yield url
        return
    server = EmbeddedRedis(Path(tmp_path_factory.mktemp("redis")))
    try:
        yield server.url
    finally:
        server.close()


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    client = connect(redis_url)
    client.flushdb()
    try:
        yield client
    finally:
        client.flushdb()
        client.close()


# --- databases -------------------------------------------------------------------------------

import shutil  # noqa: E402
import uuid  # noqa: E402
from dataclasses import dataclass  # noqa: E402

import httpx  # noqa: E402
import sqlalchemy  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402

from worklist import db as database  # noqa: E402
from worklist.embedded import free_port, serve_in_thread  # noqa: E402, F401
from worklist.settings import Settings  # noqa: E402

ADMIN_TOKEN = "test-admin-token"
REQUIRE_ALL = os.environ.get("WORKLIST_TEST_REQUIRE_ALL") == "1"


def _postgres_base_url() -> str | None:
    """WORKLIST_TEST_POSTGRES_URL, else a local server on 127.0.0.1:5432 if it answers."""
    url = (
        os.environ.get("WORKLIST_TEST_POSTGRES_URL") or "postgresql://postgres@127.0.0.1:5432/test"
    )
    url = url.replace("postgresql://", "postgresql+psycopg://", 1)
    try:
        engine = sqlalchemy.create_engine(url, connect_args={"connect_timeout": 2})
        with engine.connect() as conn:
            conn.execute(sqlalchemy.text("SELECT 1"))
        engine.dispose()
        return url
    except Exception:
        return None


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file; each test gets a copy (migrating once keeps the suite fast)."""
    path = Path(tmp_path_factory.mktemp("sqlite")) / "template.db"
    database.upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_schema_url() -> Iterator[str]:
    """A private schema in the test PostgreSQL, migrated once for the session."""
    base = _postgres_base_url()
    if base is None:
        if REQUIRE_ALL:
            pytest.fail("PostgreSQL is required (WORKLIST_TEST_REQUIRE_ALL=1) but unreachable")
        pytest.skip("PostgreSQL not reachable: set WORKLIST_TEST_POSTGRES_URL to run these tests")
    schema = f"wl_test_{uuid.uuid4().hex[:8]}"
    admin = sqlalchemy.create_engine(base)
    with admin.begin() as conn:
        conn.execute(sqlalchemy.text(f'CREATE SCHEMA "{schema}"'))
    url = f"{base}?options=-csearch_path%3D{schema}"
    database.upgrade(url)
    try:
        yield url
    finally:
        with admin.begin() as conn:
            conn.execute(sqlalchemy.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _truncate_postgres(url: str) -> None:
    engine = sqlalchemy.create_engine(url)
    with engine.begin() as conn:
        tables = [
            r[0]
            for r in conn.execute(
                sqlalchemy.text(
                    "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() "
                    "AND tablename <> 'alembic_version'"
                )
            )
        ]
        conn.execute(
            sqlalchemy.text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " CASCADE")
        )
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> str:
    """Each database test runs on SQLite and on PostgreSQL (when reachable)."""
    if request.param == "sqlite":
        path = tmp_path / "worklist.db"
        shutil.copy(sqlite_template, path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("postgres_schema_url")
    _truncate_postgres(url)
    return url


@pytest.fixture
def settings(
    tmp_path: Path, database_url: str, redis_url: str, redis_client: redis.Redis
) -> Settings:
    """Settings for one test: its own database, the test Redis (already emptied)."""
    return Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        redis_url=redis_url,
        admin_token=ADMIN_TOKEN,  # type: ignore[arg-type]
        patient_hash_key="test-secret",  # type: ignore[arg-type]
        log_json=True,
    )


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    """The app through its real HTTP interface (in-process ASGI), lifespan included."""
    from worklist.app import create_app

    app = create_app(settings, run_sweeper_task=False)
    with TestClient(app, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}) as test_client:
        yield test_client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def mint(client: TestClient, role: str, reporter_id: str | None = None) -> str:
    body: dict[str, str] = {"role": role}
    if reporter_id:
        body["reporter_id"] = reporter_id
    response = client.post("/api/v1/tokens", json=body, headers=bearer(ADMIN_TOKEN))
    assert response.status_code == 201, response.text
    token: str = response.json()["token"]
    return token


# --- a real running service (uvicorn on a loopback port) ---------------------------------------


@dataclass
class LiveService:
    url: str
    client: httpx.Client  # carries the admin token

    def token(self, role: str, reporter_id: str | None = None) -> str:
        body: dict[str, str] = {"role": role}
        if reporter_id:
            body["reporter_id"] = reporter_id
        response = self.client.post("/api/v1/tokens", json=body)
        response.raise_for_status()
        token: str = response.json()["token"]
        return token


@pytest.fixture
def live_service(
    tmp_path: Path, sqlite_template: Path, redis_url: str, redis_client: redis.Redis
) -> Iterator[LiveService]:
    """The whole service served by uvicorn on a free port, on SQLite and the test Redis."""
    from worklist.app import create_app

    path = tmp_path / "live.db"
    shutil.copy(sqlite_template, path)
    settings = Settings(
        data_dir=tmp_path / "data",
        database_url=f"sqlite:///{path}",
        redis_url=redis_url,
        admin_token=ADMIN_TOKEN,  # type: ignore[arg-type]
        patient_hash_key="test-secret",  # type: ignore[arg-type]
        sweep_interval_seconds=0.5,
    )
    with (
        serve_in_thread(create_app(settings)) as url,
        httpx.Client(base_url=url, headers=bearer(ADMIN_TOKEN), timeout=10) as admin,
    ):
        yield LiveService(url=url, client=admin)
