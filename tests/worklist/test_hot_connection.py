"""On PostgreSQL a request waiting for the database no longer holds up the worker's other
requests (``reporting.hot_connection``): through HTTP, on one app and one event loop."""

from __future__ import annotations

import threading
import time
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from tests.worklist.helpers import reporter, services_of, setup_network, study

WAIT_SECONDS = 10


def _in_thread(call: Any) -> tuple[threading.Thread, dict[str, Any]]:
    out: dict[str, Any] = {}
    thread = threading.Thread(target=lambda: out.setdefault("response", call()), daemon=True)
    thread.start()
    return thread, out


def _waiting_on_a_lock(conn: psycopg.Connection[Any], deadline: float) -> None:
    while time.monotonic() < deadline:
        waiting = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
            " AND datname = current_database()"
        ).fetchone()
        if waiting and waiting[0]:
            return
        time.sleep(0.02)
    pytest.fail("the completion never reached the locked row")


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_a_completion_stuck_on_a_row_lock_does_not_hold_up_another_reporters_pull(
    client: TestClient, database_url: str
) -> None:
    """r1's completion waits on a row lock held elsewhere; r2's pull on the same worker is
    answered meanwhile. With the statements on the loop's one blocking connection, the pull
    waited for the lock too (and this test timed out)."""
    setup_network(client)
    r1, r2 = reporter(client, "r1"), reporter(client, "r2")
    client.post("/api/v1/studies", json=[study("30.1"), study("30.2")])
    for me in (r1, r2):
        client.post("/api/v1/sessions", json={"kind": "core"}, headers=me)
    first = client.post("/api/v1/worklist/next", headers=r1).json()
    assert services_of(client).hot_engine is not None

    plain = database_url.replace("postgresql+psycopg://", "postgresql://", 1)
    with psycopg.connect(plain) as locker, psycopg.connect(plain, autocommit=True) as watcher:
        locker.execute(
            "SELECT id FROM study WHERE study_uid = %s FOR UPDATE", (first["study"]["study_uid"],)
        )
        completing, completed = _in_thread(
            lambda: client.post(
                f"/api/v1/assignments/{first['assignment_id']}/complete", headers=r1
            )
        )
        _waiting_on_a_lock(watcher, time.monotonic() + WAIT_SECONDS)
        pulling, pulled = _in_thread(lambda: client.post("/api/v1/worklist/next", headers=r2))
        pulling.join(WAIT_SECONDS)
        assert "response" in pulled, "the pull waited behind the locked completion"
        assert "response" not in completed  # still waiting: the lock is held
        locker.rollback()
    completing.join(WAIT_SECONDS)
    assert pulled["response"].status_code == 200
    assert pulled["response"].json()["study"]["study_uid"] == "30.2"
    assert completed["response"].status_code == 200, completed["response"].text
    assert client.get("/api/v1/studies/30.1").json()["status"] == "reported"
