"""Start the real service on a loopback port for a benchmark, and the demo network in it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy
from pydantic import SecretStr

from worklist import db as database
from worklist.app import create_app
from worklist.demo import seed
from worklist.embedded import free_port, serve_in_thread, wait_ready
from worklist.settings import Settings

ADMIN = "bench-admin-token"


def _on_server(url: str, *commands: str) -> str:
    """Run ``commands`` (outside a transaction) on the server at ``url``; returns the URL of
    that server with the psycopg driver named."""
    base = url.replace("postgresql://", "postgresql+psycopg://", 1)
    admin = sqlalchemy.create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            for command in commands:
                conn.execute(sqlalchemy.text(command))
    finally:
        admin.dispose()
    return base


def fresh_postgres(url: str, name: str) -> str:
    """Drop and create database ``name`` on the server at ``url``; returns its URL."""
    base = _on_server(
        url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"'
    )
    return base.rsplit("/", 1)[0] + f"/{name}"


def drop_postgres(url: str, name: str) -> None:
    """Drop database ``name`` on the server at ``url`` (a benchmark's, when it is done)."""
    _on_server(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def vacuum_analyze(url: str) -> None:
    """VACUUM ANALYZE a freshly seeded database, as ``pgbench -i`` does after loading.

    A database created and bulk-loaded a moment ago has no planner statistics until
    autovacuum's first analyze (a minute or more; never, on a server with autovacuum off).
    Without them PostgreSQL took the status index for the outsourcing policy's "these 50 ids"
    update and read every waiting study's entry: 15-30 ms a statement instead of 0.3 ms
    (docs/load.md, §1, 3 Dec 2026, fourth session)."""
    engine = sqlalchemy.create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sqlalchemy.text("VACUUM ANALYZE"))
    engine.dispose()


def autovacuum_setting(url: str) -> str:
    """The server's ``autovacuum`` setting, as the service reads it at start-up."""
    engine = sqlalchemy.create_engine(url)
    try:
        return database.autovacuum_setting(engine)
    finally:
        engine.dispose()


@dataclass
class Running:
    url: str
    admin: httpx.Client

    def token(self, role: str, reporter_id: str | None = None) -> str:
        body: dict[str, Any] = {"role": role}
        if reporter_id:
            body["reporter_id"] = reporter_id
        response = self.admin.post("/api/v1/tokens", json=body)
        response.raise_for_status()
        token: str = response.json()["token"]
        return token


@contextmanager
def running_service(
    data_dir: Path, database_url: str | None, redis_url: str | None, **overrides: Any
) -> Iterator[Running]:
    """Serve the app with uvicorn in this process (one worker) until the block ends."""
    settings = Settings(
        data_dir=data_dir,
        database_url=database_url,
        redis_url=redis_url,
        admin_token=SecretStr(ADMIN),
        log_level="WARNING",
        **overrides,
    )
    with (
        serve_in_thread(create_app(settings)) as url,
        httpx.Client(
            base_url=url, headers={"Authorization": f"Bearer {ADMIN}"}, timeout=60
        ) as admin,
    ):
        yield Running(url=url, admin=admin)


def seed_sites(admin: httpx.Client) -> list[str]:
    for code, name in seed.SITES.items():
        admin.put(f"/api/v1/sites/{code}", json={"name": name, "network": seed.NETWORK})
    return list(seed.SITES)


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return sorted_values[index]


@contextmanager
def serve_subprocess(
    data_dir: Path, database_url: str | None, redis_url: str, workers: int
) -> Iterator[Running]:
    """`worklist serve --workers N` as its own process group, as an operator would run it."""
    import os
    import signal
    import subprocess
    import sys

    port = free_port()
    env = {
        **os.environ,
        "WORKLIST_DATA_DIR": str(data_dir),
        "WORKLIST_REDIS_URL": redis_url,
        "WORKLIST_ADMIN_TOKEN": ADMIN,
        "WORKLIST_LOG_LEVEL": "WARNING",
    }
    if database_url:
        env["WORKLIST_DATABASE_URL"] = database_url
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "worklist.cli",
            "serve",
            "--port",
            str(port),
            "--workers",
            str(workers),
        ],
        env=env,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url)
        with httpx.Client(
            base_url=url, headers={"Authorization": f"Bearer {ADMIN}"}, timeout=60
        ) as admin:
            yield Running(url=url, admin=admin)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
