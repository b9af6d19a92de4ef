"""Database engine and migrations: SQLite by default, PostgreSQL via WORKLIST_DATABASE_URL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """WAL and NORMAL sync: durable across process crashes, fast enough for batched ingest."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def _ensure_sqlite_dir(url: str) -> None:
    path = url.split("///", 1)[-1]
    if url.startswith("sqlite") and path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)


def _one_sqlite_connection(url: str, pool_timeout: float) -> Engine:
    """An engine holding a single SQLite connection, with our pragmas."""
    _ensure_sqlite_dir(url)
    engine = create_engine(
        url,
        connect_args={"check_same_thread": False, "timeout": 10},
        pool_size=1,
        max_overflow=0,
        pool_timeout=pool_timeout,
    )
    event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def make_engine(url: str) -> Engine:
    """An engine tuned for the dialect; SQLite files get their directory created."""
    if url.startswith("sqlite"):
        # One connection per process: SQLite allows one writer at a time, and threads queueing
        # on our pool are far cheaper than threads sleeping in SQLite's busy handler.
        return _one_sqlite_connection(url, pool_timeout=60)
    return create_engine(url, pool_size=10, max_overflow=30, pool_pre_ping=True)


def make_loop_engine(url: str) -> Engine:
    """One connection for the claim / complete / release path, which runs on the event loop.

    It is used by that thread alone, so a checkout never waits; a shared pool could deadlock
    the loop behind sessions that only the loop can close. PostgreSQL gets a short connect
    timeout (a blocked loop stalls every request) and no pre-ping (a dropped connection is
    replaced on the next request instead of costing a round trip on every one).
    """
    if url.startswith("sqlite"):
        return _one_sqlite_connection(url, pool_timeout=5)
    return create_engine(
        url, pool_size=1, max_overflow=0, pool_timeout=5, connect_args={"connect_timeout": 3}
    )


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str) -> None:
    """Bring the schema to the newest migration (run on start and by `worklist db upgrade`)."""
    _ensure_sqlite_dir(url)
    command.upgrade(alembic_config(url), "head")
