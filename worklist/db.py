"""Database engine and migrations: SQLite by default, PostgreSQL via WORKLIST_DATABASE_URL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from worklist.sqlite_writers import PASSIVE_CHECKPOINT, queue_writers

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
#: Rows per transaction for background bulk writes (widenings, predictions). Each transaction
#: holds the SQLite write lock (PostgreSQL: its rows' locks) that a claim may be waiting for,
#: and the sweeper runs niced: 50 rows hold it about 10 ms; 200-500 held it 40-80 ms at
#: 300 pulls/s (README, Performance).
BACKGROUND_WRITE_ROWS = 50


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """WAL and NORMAL sync: durable across process crashes, fast enough for batched ingest.

    No connection checkpoints the WAL inside its own commit (``wal_autocheckpoint=0``). That
    checkpoint fsyncs, and it ran while the connection still held the write lock: claims
    waited 60-140 ms behind a 50-row background write each time, or paid the fsyncs
    themselves. Background connections checkpoint after their commit instead, once the lock
    is released (``sqlite_writers``), and the sweeper asks for one every pass."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA wal_autocheckpoint=0")
    cursor.close()


def autovacuum_warning(setting: str) -> str | None:
    """What to tell an operator whose PostgreSQL has ``autovacuum`` at ``setting``."""
    if setting.strip().lower() in ("on", "true", "1"):
        return None
    return (
        "PostgreSQL's autovacuum is off: every claim, completion and sweep rewrites study and "
        "assignment rows, and without vacuum and analyze their dead rows and missing "
        "statistics slow the claim path; turn it on (the default) or vacuum these tables on "
        "a schedule"
    )


def autovacuum_setting(engine: Engine) -> str:
    """PostgreSQL's ``autovacuum`` setting ("on" in production; CI servers may turn it off)."""
    with engine.connect() as conn:
        return str(conn.exec_driver_sql("SHOW autovacuum").scalar())


def server_warnings(engine: Engine) -> list[str]:
    """Settings of the database server that will hurt the service, read at start-up."""
    if engine.dialect.name != "postgresql":
        return []
    try:
        setting = autovacuum_setting(engine)
    except SQLAlchemyError as e:  # advisory: never the reason the service does not start
        return [f"could not read PostgreSQL's autovacuum setting ({type(e).__name__})"]
    warning = autovacuum_warning(setting)
    return [warning] if warning else []


def checkpoint(engine: Engine) -> None:
    """Copy what the WAL holds into the SQLite file without waiting for readers or writers
    (nothing to do on PostgreSQL)."""
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            conn.exec_driver_sql(PASSIVE_CHECKPOINT)


def _sqlite_file(url: str) -> str | None:
    path = url.split("///", 1)[-1]
    return path if url.startswith("sqlite") and path and path != ":memory:" else None


def _ensure_sqlite_dir(url: str) -> None:
    path = _sqlite_file(url)
    if path:
        Path(path).parent.mkdir(parents=True, exist_ok=True)


def _one_sqlite_connection(url: str, pool_timeout: float, polite: bool) -> Engine:
    """An engine holding a single SQLite connection, with our pragmas, queueing for the write
    lock. ``polite`` is for background work: it lets a waiting claim go first and does the
    WAL checkpoints that claims are spared, outside the lock."""
    _ensure_sqlite_dir(url)
    engine = create_engine(
        url,
        connect_args={"check_same_thread": False, "timeout": 10},
        pool_size=1,
        max_overflow=0,
        pool_timeout=pool_timeout,
    )
    event.listen(engine, "connect", _sqlite_pragmas)
    path = _sqlite_file(url)
    if path:
        queue_writers(engine, path, polite)
    return engine


def make_engine(url: str) -> Engine:
    """An engine tuned for the dialect; SQLite files get their directory created."""
    if url.startswith("sqlite"):
        # One connection per process: SQLite allows one writer at a time, and threads queueing
        # on our pool are far cheaper than threads sleeping in SQLite's busy handler.
        return _one_sqlite_connection(url, pool_timeout=60, polite=True)
    return create_engine(url, pool_size=10, max_overflow=30, pool_pre_ping=True)


def make_loop_engine(url: str) -> Engine:
    """One connection for the claim / complete / release path, which runs on the event loop.

    It is used by that thread alone, so a checkout never waits; a shared pool could deadlock
    the loop behind sessions that only the loop can close. PostgreSQL gets a short connect
    timeout (a blocked loop stalls every request) and no pre-ping (a dropped connection is
    replaced on the next request instead of costing a round trip on every one), and stays in
    autocommit, which the path's usual statements want (each is a transaction of its own):
    switching to it on every checkout and back on every return cost CPU on every request. The
    rare paths of several statements switch to a transaction themselves
    (``HotConnection.begin_transactions``), and the pool switches back when they return it.
    """
    if url.startswith("sqlite"):
        return _one_sqlite_connection(url, pool_timeout=5, polite=False)
    return create_engine(
        url,
        pool_size=1,
        max_overflow=0,
        pool_timeout=5,
        connect_args={"connect_timeout": 3},
        isolation_level="AUTOCOMMIT",
    )


def make_hot_engine(url: str, connections: int) -> AsyncEngine | None:
    """PostgreSQL only: the asyncio pool for the claim / complete / release path
    (``reporting.hot_connection``), ``connections`` per worker; None on SQLite, whose one
    writer leaves nothing to overlap, or when ``connections`` is 0. Same short connect
    timeout and no pre-ping as ``make_loop_engine``; autocommit, as the path's usual
    statements are, so a checkout costs no isolation-level change."""
    if url.startswith("sqlite") or connections == 0:
        return None
    return create_async_engine(
        url,
        pool_size=connections,
        max_overflow=0,
        pool_timeout=5,
        connect_args={"connect_timeout": 3},
        isolation_level="AUTOCOMMIT",
        pool_reset_on_return=None,
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
