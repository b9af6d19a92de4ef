"""Start-up warnings about the database server's settings."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy
from fastapi.testclient import TestClient

from worklist import db as database
from worklist.app import create_app
from worklist.settings import Settings


def test_autovacuum_off_is_worth_a_warning_and_on_is_not() -> None:
    warning = database.autovacuum_warning("off")
    assert warning is not None and "autovacuum is off" in warning
    assert database.autovacuum_warning("on") is None


@pytest.mark.postgres
def test_the_postgresql_server_is_read_as_it_is(postgres_schema_url: str) -> None:
    """The warning follows the real server's setting (this machine's CI server turns
    autovacuum off; a production one keeps it on)."""
    engine = sqlalchemy.create_engine(postgres_schema_url)
    try:
        with engine.connect() as conn:
            setting = str(conn.exec_driver_sql("SHOW autovacuum").scalar())
        warnings = database.server_warnings(engine)
    finally:
        engine.dispose()
    assert warnings == ([] if setting == "on" else [database.autovacuum_warning(setting)])


def test_a_server_that_cannot_be_asked_is_a_warning_not_a_failure() -> None:
    engine = sqlalchemy.create_engine(
        "postgresql+psycopg://nobody@127.0.0.1:1/none", connect_args={"connect_timeout": 2}
    )
    try:
        (warning,) = database.server_warnings(engine)
    finally:
        engine.dispose()
    assert warning.startswith("could not read PostgreSQL's autovacuum setting")


def test_sqlite_has_nothing_to_warn_about(tmp_path: Path) -> None:
    engine = database.make_engine(f"sqlite:///{tmp_path / 'w.db'}")
    try:
        assert database.server_warnings(engine) == []
    finally:
        engine.dispose()


def test_the_service_logs_the_warning_when_it_starts(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    """On both databases: the warning is in the start-up log exactly when the server has one."""
    engine = sqlalchemy.create_engine(settings.resolved_database_url())
    try:
        expected = database.server_warnings(engine)
    finally:
        engine.dispose()
    with TestClient(create_app(settings, run_sweeper_task=False)):
        pass
    logged = capsys.readouterr().err
    assert ("autovacuum is off" in logged) == bool(expected)
