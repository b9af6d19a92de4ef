"""On PostgreSQL, with ``hot_path_connections`` set, a request waiting for the database no
longer holds up the worker's other requests (``reporting.hot_connection``); by default it
does. Through HTTP, on one app and one event loop."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from tests.conftest import ADMIN_TOKEN
from tests.worklist.helpers import reporter, services_of, setup_network, study
from worklist.app import create_app
from worklist.reviews.sampling import REVIEW
from worklist.settings import Settings

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


@contextlib.contextmanager
def _app(settings: Settings, connections: int, **overrides: Any) -> Iterator[TestClient]:
    changed = settings.model_copy(update={"hot_path_connections": connections, **overrides})
    app = create_app(changed, run_sweeper_task=False)
    with TestClient(app, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}) as client:
        yield client


def _pull_during_a_locked_completion(
    client: TestClient, database_url: str, wait_seconds: float
) -> tuple[dict[str, Any], dict[str, str], dict[str, str]]:
    """r1's completion waits on a row lock held elsewhere while r2 pulls. Returns r2's pull
    as it stood when the lock went (a key "response" once answered), and r1's and r2's
    headers; r2 holds the second study."""
    setup_network(client)
    r1, r2 = reporter(client, "r1"), reporter(client, "r2")
    client.post("/api/v1/studies", json=[study("30.1"), study("30.2")])
    for me in (r1, r2):
        client.post("/api/v1/sessions", json={"kind": "core"}, headers=me)
    first = client.post("/api/v1/worklist/next", headers=r1).json()
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
        pulling.join(wait_seconds)
        during = dict(pulled)
        assert "response" not in completed  # still waiting: the lock is held
        locker.rollback()
    completing.join(WAIT_SECONDS)
    pulling.join(WAIT_SECONDS)
    assert completed["response"].status_code == 200, completed["response"].text
    assert pulled["response"].status_code == 200
    assert pulled["response"].json()["study"]["study_uid"] == "30.2"
    assert client.get("/api/v1/studies/30.1").json()["status"] == "reported"
    return during, r1, r2


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_on_the_asyncio_pool_a_locked_completion_does_not_hold_up_another_pull(
    settings: Settings, database_url: str
) -> None:
    """With ``hot_path_connections`` set, r2's pull is answered while r1's completion waits
    on the lock, on the same app and event loop; a hand-back on the pool works too."""
    with _app(settings, connections=2) as client:
        assert services_of(client).hot_engine is not None
        during, r1, r2 = _pull_during_a_locked_completion(client, database_url, WAIT_SECONDS)
        assert "response" in during, "the pull waited behind the locked completion"
        assert client.post("/api/v1/worklist/next", headers=r1).status_code == 204  # all taken
        released = client.post(
            f"/api/v1/assignments/{during['response'].json()['assignment_id']}/release",
            json={"reason": "needs a neuro opinion"},
            headers=r2,
        )
        assert released.status_code == 200, released.text
        assert client.get("/api/v1/studies/30.2").json()["status"] == "unreported"


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_on_the_loops_one_connection_the_pull_waits_for_the_locked_completion(
    settings: Settings, database_url: str
) -> None:
    """The default (0): the worker's one blocking connection, so r2's pull is answered only
    once r1's completion has its lock; the trade-off docs/load.md measures."""
    with _app(settings, connections=0) as client:
        assert services_of(client).hot_engine is None
        during, _, _ = _pull_during_a_locked_completion(client, database_url, 1.0)
        assert "response" not in during


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_on_the_asyncio_pool_a_transaction_leaves_its_connection_autocommitted(
    settings: Settings,
) -> None:
    """A completion sampled for review runs as a transaction of several statements; the
    pool's one connection must go back to autocommit, or the next claim's one statement
    would be rolled back when its request ends (answered 200, never written)."""
    with _app(settings, connections=1, review_share_all=1.0) as client:
        setup_network(client)
        me = reporter(client, "r1")
        client.post("/api/v1/studies", json=[study("31.1"), study("31.2")])
        client.post("/api/v1/sessions", json={"kind": "core"}, headers=me)
        first = client.post("/api/v1/worklist/next", headers=me).json()
        done = client.post(f"/api/v1/assignments/{first['assignment_id']}/complete", headers=me)
        assert done.status_code == 200, done.text
        second = client.post("/api/v1/worklist/next", headers=me)
        assert second.status_code == 200
        reported = client.get(f"/api/v1/studies/{first['study']['study_uid']}").json()
        assert reported["status"] == "reported"
        assert [e["kind"] for e in reported["events"]][-2:] == ["reported", "review-sampled"]
        claimed = client.get(f"/api/v1/studies/{second.json()['study']['study_uid']}").json()
        assert claimed["status"] == "claimed" and claimed["assignee"] == "r1"


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_on_the_loops_autocommitted_connection_a_sampled_completion_is_all_or_nothing(
    settings: Settings,
) -> None:
    """PostgreSQL's loop connection stays in autocommit between requests (db.make_loop_engine);
    a completion sampled for review still writes as one transaction. Its review insert is
    made to fail: nothing of the completion may be left written, where in autocommit the
    assignment's end and the study's report would already be committed."""
    with _app(settings, connections=0, review_share_all=1.0) as client:
        setup_network(client)
        me = reporter(client, "r1")
        client.post("/api/v1/studies", json=[study("32.1")])
        client.post("/api/v1/sessions", json={"kind": "core"}, headers=me)
        pulled = client.post("/api/v1/worklist/next", headers=me).json()
        with services_of(client).engine.begin() as conn:
            conn.execute(text(f"ALTER TABLE {REVIEW.name} ADD CONSTRAINT refused CHECK (false)"))
        try:
            bare = TestClient(client.app, raise_server_exceptions=False)  # no second lifespan
            failed = bare.post(
                f"/api/v1/assignments/{pulled['assignment_id']}/complete", headers=me
            )
        finally:
            with services_of(client).engine.begin() as conn:
                conn.execute(text(f"ALTER TABLE {REVIEW.name} DROP CONSTRAINT refused"))
        assert failed.status_code == 500
        with services_of(client).loop_engine.connect() as conn:
            assert conn.connection.driver_connection.autocommit  # back as the pool keeps it
        after = client.get("/api/v1/studies/32.1").json()
        assert after["status"] == "claimed" and after["assignee"] == "r1"
        assert "reported" not in [e["kind"] for e in after["events"]]
