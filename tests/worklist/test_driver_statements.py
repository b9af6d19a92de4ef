"""The hot path's statements run on psycopg directly must behave as through SQLAlchemy: the same
row, the same types, the same parameter handling, and a dropped connection answered as 503 and
replaced on the next request. PostgreSQL only (SQLite always goes through SQLAlchemy)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta, timezone

import pytest
import sqlalchemy
from fastapi.testclient import TestClient
from sqlalchemy import bindparam, select

from tests.worklist.helpers import reporter, services_of, setup_network, study
from worklist.models.types import UTCDateTime
from worklist.reporting import statements as sql
from worklist.reporting.driver_statements import DriverStatement

pytestmark = pytest.mark.postgres
ON_POSTGRES = pytest.mark.parametrize("database_url", ["postgres"], indirect=True)


def _claimed(client: TestClient, uid: str) -> tuple[dict[str, str], str]:
    setup_network(client)
    me = reporter(client, "r1")
    client.post("/api/v1/studies", json=[study(uid), study(f"{uid}.2")])
    client.post("/api/v1/sessions", json={"kind": "core"}, headers=me)
    got = client.post("/api/v1/worklist/next", headers=me)
    assert got.status_code == 200, got.text
    return me, str(got.json()["assignment_id"])


@ON_POSTGRES
def test_a_row_is_the_one_sqlalchemy_gives_column_for_column(client: TestClient) -> None:
    _, assignment = _claimed(client, "71.1")
    params = {"p_assignment": assignment}
    with services_of(client).loop_engine.connect() as conn:
        conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        through_sqlalchemy = dict(conn.execute(sql.OPEN_ASSIGNMENT, params).one()._mapping)
        direct = DriverStatement(sql.OPEN_ASSIGNMENT).first(conn, params)
        missing = DriverStatement(sql.OPEN_ASSIGNMENT).first(conn, {"p_assignment": "none"})
    assert direct is not None and missing is None
    assert list(direct._mapping) == list(through_sqlalchemy)
    for name, value in through_sqlalchemy.items():
        assert direct._mapping[name] == value and type(direct._mapping[name]) is type(value), name
    assert direct.acquired_at.tzinfo is UTC  # UTCDateTime's result processor ran
    assert direct.assignment_id == assignment


@ON_POSTGRES
def test_parameters_go_through_their_column_types(client: TestClient) -> None:
    """A UTC column's bind processor stores the instant as naive UTC, whatever the session's
    time zone; psycopg alone would send a timestamptz and PostgreSQL would cast it to the
    session's local time. A naive datetime is refused, as SQLAlchemy refuses it."""
    echo = DriverStatement(
        select(sqlalchemy.cast(bindparam("p_at", type_=UTCDateTime()), UTCDateTime()).label("at"))
    )
    at = datetime(2026, 12, 3, 9, 30, tzinfo=timezone(timedelta(hours=5, minutes=30)))
    with services_of(client).loop_engine.connect() as conn:
        conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        conn.exec_driver_sql("SET TIME ZONE 'Asia/Kolkata'")
        try:
            back = echo.first(conn, {"p_at": at})
            with pytest.raises(ValueError, match="naive"):
                echo.first(conn, {"p_at": datetime(2026, 12, 3, 4, 0)})
        finally:
            conn.exec_driver_sql("RESET TIME ZONE")
    assert back is not None and back.at == at and back.at.tzinfo is UTC


@ON_POSTGRES
def test_a_dropped_connection_is_a_503_then_replaced(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    """The server ends the hot path's connection between two requests: the next request is
    answered 503 (retry), the connection is dropped (invalidated, as SQLAlchemy does, not left
    for the pool's reset to fail on and log as an error), and the request after that works."""
    me, assignment = _claimed(client, "72.1")
    services = services_of(client)
    with services.loop_engine.connect() as conn:  # the loop's one pooled connection
        backend = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
    killer = sqlalchemy.create_engine(services.settings.resolved_database_url())
    try:
        with killer.connect() as conn:
            conn.execute(sqlalchemy.text("SELECT pg_terminate_backend(:p)"), {"p": backend})
    finally:
        killer.dispose()
    refused = client.post(f"/api/v1/assignments/{assignment}/complete", headers=me)
    assert refused.status_code == 503, refused.text
    assert refused.json()["unavailable"] == "database"
    done = client.post(f"/api/v1/assignments/{assignment}/complete", headers=me)
    assert done.status_code == 200, done.text
    assert done.json()["study"]["status"] == "reported"
    pool_errors = [
        r for r in caplog.records if r.name.startswith("sqlalchemy") and r.levelno >= logging.ERROR
    ]
    assert pool_errors == []


@ON_POSTGRES
def test_it_refuses_a_connection_outside_autocommit(client: TestClient) -> None:
    """In a transaction nobody commits, the statement's writes would be rolled back when the
    connection goes back to the pool, after the client was told they succeeded."""
    with services_of(client).loop_engine.connect() as conn:
        conn = conn.execution_options(isolation_level="READ COMMITTED")
        with pytest.raises(RuntimeError, match="autocommit"):
            DriverStatement(sql.OPEN_ASSIGNMENT).first(conn, {"p_assignment": "none"})
