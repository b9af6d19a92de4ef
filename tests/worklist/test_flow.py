"""The reporter flow through HTTP: sessions, next case, complete, release, leases, push, rebuild."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, text

from allocator.engine import Allocator
from tests.worklist.helpers import NOW, put_reporter, reporter, services_of, setup_network, study
from worklist.reporting import sweeper
from worklist.reporting.recovery import read_network
from worklist.reporting.sweeper import sweep_once
from worklist.reporting.watch import marker_keys, rebuild_if_empty

CHEST_SCOPE = [
    {"modalities": ["CR"], "body_parts": ["CHEST"], "min_age": 16, "patient_sources": ["gp"]}
]


def test_pull_needs_a_session_and_a_reporter_token(client: TestClient) -> None:
    setup_network(client)
    me = reporter(client, "r1")
    assert client.post("/api/v1/worklist/next", headers=me).status_code == 409
    assert client.post("/api/v1/worklist/next").status_code == 403  # admin is not a reporter
    assert client.post("/api/v1/sessions", json={"kind": "core"}, headers=me).status_code == 201
    assert client.post("/api/v1/sessions", json={"kind": "core"}, headers=me).status_code == 409
    assert client.post("/api/v1/worklist/next", headers=me).status_code == 204
    assert client.delete("/api/v1/sessions/current", headers=me).status_code == 200
    assert client.delete("/api/v1/sessions/current", headers=me).status_code == 409


def test_radiographer_gets_only_in_scope_work_then_completes(client: TestClient) -> None:
    setup_network(client)
    rg = reporter(client, "rg1", group="radiographer", scope=CHEST_SCOPE)
    client.post(
        "/api/v1/studies",
        json=[
            study("9.1", modality="CT", body_part="HEAD"),
            study("9.2", patient_source="inpatient"),
            study("9.3", patient_age=10),
            study("9.4", site="RRK"),  # no credential there
            study("9.5"),
        ],
    )
    client.post("/api/v1/sessions", json={"kind": "core"}, headers=rg)
    first = client.post("/api/v1/worklist/next", headers=rg)
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["study"]["study_uid"] == "9.5"
    assert body["reason"] and "lease_expires_at" in body and "due_at" in body
    assert "patient_key" not in body["study"] and body["study"]["status"] == "claimed"
    assert body["due_at"].endswith("+00:00")  # ISO 8601 with a UTC offset
    assert client.post("/api/v1/worklist/next", headers=rg).status_code == 204
    done = client.post(f"/api/v1/assignments/{body['assignment_id']}/complete", headers=rg)
    assert done.status_code == 200
    detail = client.get("/api/v1/studies/9.5").json()
    assert detail["status"] == "reported" and detail["sourcing"] == "core"
    assert detail["assignee"] == "rg1"
    kinds = [e["kind"] for e in detail["events"]]
    assert kinds == ["ingested", "claimed", "reported"]
    assert detail["events"][1]["detail"]["assignment"] == body["assignment_id"]
    again = client.post(f"/api/v1/assignments/{body['assignment_id']}/complete", headers=rg)
    assert again.status_code == 409


def test_most_urgent_first_and_release_returns_the_case(client: TestClient) -> None:
    setup_network(client)
    a = reporter(client, "r1")
    b = reporter(client, "r2")
    client.post(
        "/api/v1/studies",
        json=[study("10.1"), study("10.2", patient_source="ed", urgency="urgent")],
    )
    for who in (a, b):
        client.post("/api/v1/sessions", json={"kind": "insourced"}, headers=who)
    got = client.post("/api/v1/worklist/next", headers=a).json()
    assert got["study"]["study_uid"] == "10.2"
    assert got["study"]["sourcing"] == "insourced"
    other = client.post(
        f"/api/v1/assignments/{got['assignment_id']}/release", json={"reason": "x"}, headers=b
    )
    assert other.status_code == 403
    assert (
        client.post(
            f"/api/v1/assignments/{got['assignment_id']}/release", json={"reason": ""}, headers=a
        ).status_code
        == 422
    )
    released = client.post(
        f"/api/v1/assignments/{got['assignment_id']}/release",
        json={"reason": "needs prior imaging"},
        headers=a,
    )
    assert released.status_code == 200 and released.json()["study"]["status"] == "unreported"
    again = client.post("/api/v1/worklist/next", headers=b).json()
    assert again["study"]["study_uid"] == "10.2"
    events = client.get("/api/v1/studies/10.2").json()["events"]
    assert [e["kind"] for e in events] == ["ingested", "claimed", "released", "claimed"]
    assert events[2]["detail"]["reason"] == "needs prior imaging"


def test_under_overload_a_study_that_can_still_make_its_target_comes_first(
    client: TestClient,
) -> None:
    """Ranking by reading due, through HTTP: a CT chest an hour past due (4 work units, 20 min
    to read) waits behind a chest X-ray due in 15 minutes (1 work unit) that can still be
    reported in time; plain earliest-due-first would hand out the CT."""
    setup_network(client)
    me = reporter(client, "r1")
    now = datetime.now(UTC)  # not the module's NOW: this test's margins are minutes, not hours
    client.post("/api/v1/studies", json=[
        study("13.1", modality="CT", description="CT Chest", patient_source="ed",
              urgency="urgent", acquired_at=(now - timedelta(hours=2)).isoformat()),
        study("13.2", patient_source="ed", urgency="urgent",
              acquired_at=(now - timedelta(minutes=45)).isoformat()),
    ]).raise_for_status()  # fmt: skip
    client.post("/api/v1/sessions", json={"kind": "core"}, headers=me)
    first = client.post("/api/v1/worklist/next", headers=me).json()
    assert first["study"]["study_uid"] == "13.2"
    assert first["reason"]["score"]["reading_due"] == first["reason"]["score"]["due"]
    second = client.post("/api/v1/worklist/next", headers=me).json()
    assert second["study"]["study_uid"] == "13.1" and second["study"]["work_units"] == 4
    score = second["reason"]["score"]
    assert score["reading_due"] - score["due"] >= 60 * 60_000  # ranked by when it would finish


def test_lease_expiry_returns_the_case_and_completion_answers_409(client: TestClient) -> None:
    setup_network(client)
    me = reporter(client, "r1")
    client.post("/api/v1/studies", json=[study("11.1")])
    client.post("/api/v1/sessions", json={"kind": "core"}, headers=me)
    got = client.post("/api/v1/worklist/next", headers=me).json()
    swept = sweep_once(services_of(client), NOW + timedelta(days=1))
    assert swept["expired"] == 1
    assert client.get("/api/v1/studies/11.1").json()["status"] == "unreported"
    late = client.post(f"/api/v1/assignments/{got['assignment_id']}/complete", headers=me)
    assert late.status_code == 409


def test_hot_case_is_pushed_and_offered_first(client: TestClient) -> None:
    setup_network(client)
    me = reporter(client, "r1", subspecialties=["neuro"])
    client.post("/api/v1/sessions", json={"kind": "core"}, headers=me)
    client.post("/api/v1/studies", json=[study("12.1", patient_source="ed", urgency="urgent")])
    client.post(
        "/api/v1/studies",
        json=[
            study("12.2", modality="CT", body_part="HEAD", urgency="stroke", patient_source="ed")
        ],
    )
    events = client.get("/api/v1/studies/12.2").json()["events"]
    assert [e["kind"] for e in events] == ["ingested", "pushed"]
    assert events[1]["detail"]["reporter"] == "r1"
    got = client.post("/api/v1/worklist/next", headers=me).json()
    assert got["study"]["study_uid"] == "12.2"


def test_claims_survive_a_redis_restart(client: TestClient) -> None:
    setup_network(client)
    me = reporter(client, "r1")
    client.post("/api/v1/studies", json=[study("13.1"), study("13.2"), study("13.3")])
    client.post("/api/v1/sessions", json={"kind": "core"}, headers=me)
    got = client.post("/api/v1/worklist/next", headers=me).json()
    services = services_of(client)
    services.redis.flushdb()  # Redis lost everything
    assert rebuild_if_empty(services) == ["wm"]
    done = client.post(f"/api/v1/assignments/{got['assignment_id']}/complete", headers=me)
    assert done.status_code == 200
    remaining = set()
    while (r := client.post("/api/v1/worklist/next", headers=me)).status_code == 200:
        remaining.add(r.json()["study"]["study_uid"])
    assert remaining == {"13.1", "13.2", "13.3"} - {got["study"]["study_uid"]}


def test_a_worker_starting_beside_traffic_loses_none_of_it(client: TestClient) -> None:
    """serve --workers 2: the second worker's start-up rebuild read SQL while the network was
    new and empty, and wrote after the first worker had taken a reporter, a study and a
    session. Its additive rebuild must leave those for the pull (it used to reset them)."""
    setup_network(client)
    services = services_of(client)
    starting_worker_read = read_network(services, "wm")
    me = reporter(client, "r1")
    client.post("/api/v1/studies", json=[study("15.1")])
    client.post("/api/v1/sessions", json={"kind": "core"}, headers=me)
    record = starting_worker_read
    Allocator(services.redis, "wm").rebuild(
        record.profiles, record.sessions, record.waiting, record.leases, 0, replace=False
    )
    got = client.post("/api/v1/worklist/next", headers=me)
    assert got.status_code == 200 and got.json()["study"]["study_uid"] == "15.1"


def test_start_up_rebuild_skips_a_network_another_process_is_rebuilding(
    client: TestClient,
) -> None:
    """Only one process rebuilds a network at a time; the others go on serving."""
    setup_network(client)
    me = reporter(client, "r1")
    client.post("/api/v1/studies", json=[study("16.1")])
    client.post("/api/v1/sessions", json={"kind": "core"}, headers=me)
    services = services_of(client)
    services.redis.flushdb()
    _, lock = marker_keys("wm")
    services.redis.set(lock, "1")  # another process is rebuilding
    assert rebuild_if_empty(services) == []
    services.redis.delete(lock)
    assert rebuild_if_empty(services) == ["wm"]
    got = client.post("/api/v1/worklist/next", headers=me)
    assert got.status_code == 200 and got.json()["study"]["study_uid"] == "16.1"


def test_scope_change_applies_on_next_pull(client: TestClient) -> None:
    setup_network(client)
    rg = reporter(client, "rg1", group="radiographer", scope=CHEST_SCOPE)
    client.post("/api/v1/studies", json=[study("14.1", modality="CR", body_part="KNEE")])
    client.post("/api/v1/sessions", json={"kind": "core"}, headers=rg)
    assert client.post("/api/v1/worklist/next", headers=rg).status_code == 204
    put_reporter(
        client,
        "rg1",
        group="radiographer",
        scope=[*CHEST_SCOPE, {"modalities": ["CR"], "body_parts": ["KNEE"]}],
    )
    got = client.post("/api/v1/worklist/next", headers=rg)
    assert got.status_code == 200 and got.json()["study"]["study_uid"] == "14.1"


def test_reported_or_outsourced_studies_leave_the_queue(client: TestClient) -> None:
    setup_network(client)
    me = reporter(client, "r1")
    client.put("/api/v1/providers/p1", json={"name": "P", "modalities": [], "price": {}})
    client.post("/api/v1/studies", json=[study("15.1"), study("15.2")])
    client.post("/api/v1/reports", json=[{"study_uid": "15.1", "reported_at": NOW.isoformat()}])
    client.post("/api/v1/studies/15.2/outsource", json={"provider": "p1"})
    client.post("/api/v1/sessions", json={"kind": "core"}, headers=me)
    assert client.post("/api/v1/worklist/next", headers=me).status_code == 204


def test_reporter_sees_only_their_studies(client: TestClient) -> None:
    setup_network(client)
    me = reporter(client, "r1")
    client.post("/api/v1/studies", json=[study("16.1"), study("16.2")])
    client.post("/api/v1/sessions", json={"kind": "core"}, headers=me)
    got = client.post("/api/v1/worklist/next", headers=me).json()
    mine = got["study"]["study_uid"]
    other = ({"16.1", "16.2"} - {mine}).pop()
    assert client.get(f"/api/v1/studies/{mine}", headers=me).status_code == 200
    assert client.get(f"/api/v1/studies/{other}", headers=me).status_code == 403
    listed = client.get("/api/v1/studies", headers=me).json()["items"]
    assert [s["study_uid"] for s in listed] == [mine]


def test_operations_endpoints_and_metrics(client: TestClient) -> None:
    assert client.get("/healthz", headers={}).json() == {"status": "ok"}
    assert client.get("/readyz").json() == {"status": "ready"}
    setup_network(client)
    me = reporter(client, "r1")
    client.post("/api/v1/studies", json=[study("17.1"), study("17.2", modality="CT")])
    client.post("/api/v1/sessions", json={"kind": "core"}, headers=me)
    client.post("/api/v1/worklist/next", headers=me)
    text = client.get("/metrics").text
    assert "worklist_next_seconds_count 1.0" in text
    assert 'worklist_claims_total{via="queue"} 1.0' in text
    assert 'worklist_queue_depth{modality="CR",site="RXK",urgency="routine"} 1.0' in text or (
        'worklist_queue_depth{modality="CT",site="RXK",urgency="routine"} 1.0' in text
    )
    assert 'worklist_ingested_total{kind="study"} 2.0' in text


def test_a_completion_whose_sql_write_was_lost_puts_the_study_back(client: TestClient) -> None:
    """Redis completed the lease but the SQL write never happened (e.g. the database dropped):
    the retry answers 409 and the study is waiting again, not lost."""
    setup_network(client)
    me = reporter(client, "r1")
    other = reporter(client, "r2")
    client.post("/api/v1/studies", json=[study("18.1")])
    for who in (me, other):
        client.post("/api/v1/sessions", json={"kind": "core"}, headers=who)
    got = client.post("/api/v1/worklist/next", headers=me).json()
    services = services_of(client)
    assert services.allocator("wm").complete("r1", "18.1", int(NOW.timestamp() * 1000))
    retry = client.post(f"/api/v1/assignments/{got['assignment_id']}/complete", headers=me)
    assert retry.status_code == 409
    again = client.post("/api/v1/worklist/next", headers=other)
    assert again.status_code == 200 and again.json()["study"]["study_uid"] == "18.1"


def test_a_widening_backlog_is_recorded_in_chunks_without_losing_any(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Thousands of studies can cross a widening threshold in one pass; they are written in
    short transactions (claims never wait on one long lock), and every one is audited once."""
    monkeypatch.setattr(sweeper, "SWEEP_CHUNK", 2)
    setup_network(client)
    uids = [f"15.{i}" for i in range(5)]
    client.post("/api/v1/studies", json=[study(uid, urgency="urgent") for uid in uids])
    swept = sweep_once(services_of(client), NOW + timedelta(days=3))
    assert swept["widened"] >= 5
    for uid in uids:
        detail = client.get(f"/api/v1/studies/{uid}").json()
        widened = [e for e in detail["events"] if e["kind"] == "widened"]
        assert widened, uid
        assert detail["widening_stage"] == max(e["detail"]["stage"] for e in widened)
    assert sweep_once(services_of(client), NOW + timedelta(days=3))["widened"] == 0


def test_pulls_do_not_wait_for_the_shared_pool(client: TestClient) -> None:
    """Claim, complete and release run on the event loop with its own connection: with every
    connection of the shared pool held (as sessions awaiting their close on the loop would
    hold them), a reporter still pulls and completes instead of deadlocking the loop."""
    setup_network(client)
    me = reporter(client, "r1")
    client.post("/api/v1/studies", json=[study("16.1")])
    client.post("/api/v1/sessions", json={"kind": "core"}, headers=me)
    engine = services_of(client).engine
    pool: Any = engine.pool
    held = [engine.connect() for _ in range(pool.size() + max(pool._max_overflow, 0))]
    try:
        got = client.post("/api/v1/worklist/next", headers=me)
        assert got.status_code == 200, got.text
        done = client.post(
            f"/api/v1/assignments/{got.json()['assignment_id']}/complete", headers=me
        )
        assert done.status_code == 200 and done.json()["study"]["status"] == "reported"
    finally:
        for conn in held:
            conn.close()


def _statements_of(client: TestClient, call: Any) -> tuple[Any, list[str]]:
    """Run ``call()`` and return its answer with the first word of each statement the hot
    path's connection sent."""
    engine = services_of(client).loop_engine
    sent: list[str] = []

    def count(_c: Any, _cur: Any, statement: str, *_: Any) -> None:
        sent.append(statement.split(None, 1)[0].upper())

    event.listen(engine, "before_cursor_execute", count)
    try:
        return call(), sent
    finally:
        event.remove(engine, "before_cursor_execute", count)


def test_a_claim_is_one_statement_on_postgresql_and_one_transaction_on_sqlite(
    client: TestClient,
) -> None:
    """The hot path's round trips: on PostgreSQL the reporter lookup on the first pull only
    (for the network), then one statement that checks the session, takes the study, writes the
    assignment and audits it; SQLite (no data-modifying CTEs) looks the reporter up and runs the
    three writes in one transaction every time. Either way the claim is recorded whole."""
    setup_network(client)
    me = reporter(client, "r1")
    client.post("/api/v1/studies", json=[study("19.1"), study("19.2")])
    client.post("/api/v1/sessions", json={"kind": "core"}, headers=me)
    pg = services_of(client).loop_engine.dialect.name == "postgresql"
    for uid, expected in (
        ("19.1", ["SELECT", "WITH"] if pg else ["SELECT", "UPDATE", "INSERT", "INSERT"]),
        ("19.2", ["WITH"] if pg else ["SELECT", "UPDATE", "INSERT", "INSERT"]),
    ):
        got, statements = _statements_of(
            client, lambda: client.post("/api/v1/worklist/next", headers=me)
        )
        assert got.status_code == 200, got.text
        assert statements == expected
        detail = client.get(f"/api/v1/studies/{uid}").json()
        assert detail["status"] == "claimed" and detail["assignee"] == "r1"
        assert detail["sourcing"] == "core"
        claimed = [e for e in detail["events"] if e["kind"] == "claimed"]
        assert len(claimed) == 1
        assert claimed[0]["detail"]["assignment"] == got.json()["assignment_id"]
        assert claimed[0]["detail"]["rule"] == got.json()["reason"]["rule"]
    with services_of(client).engine.connect() as conn:
        sessions = conn.execute(
            text("SELECT DISTINCT session_id, sourcing FROM assignment WHERE reporter_id = 'r1'")
        ).all()
        open_session = conn.execute(
            text("SELECT id FROM reportersession WHERE reporter_id = 'r1'")
        ).scalar()
    assert [tuple(r) for r in sessions] == [(open_session, "core")]


def test_a_reporter_deactivated_through_the_api_is_refused_as_inactive(
    client: TestClient,
) -> None:
    """A deactivation takes the reporter off duty in Redis too; the refusal still says why
    (403), on PostgreSQL after the network was cached as on SQLite."""
    setup_network(client)
    me = reporter(client, "r1")
    client.post("/api/v1/studies", json=[study("39.1"), study("39.2")])
    client.post("/api/v1/sessions", json={"kind": "core"}, headers=me)
    assert client.post("/api/v1/worklist/next", headers=me).status_code == 200
    put_reporter(client, "r1", active=False)
    refused = client.post("/api/v1/worklist/next", headers=me)
    assert refused.status_code == 403, refused.text
    assert "inactive" in refused.json()["detail"]


@pytest.mark.parametrize("change", ["deactivated", "session ended"])
def test_a_pull_refused_by_the_database_hands_the_study_back(
    client: TestClient, change: str
) -> None:
    """The database has the last word on who may pull: a reporter deactivated, or a session
    ended, in SQL but not (yet) in Redis gets the right refusal and the study Redis chose for
    them goes back to the worklist, for the next reporter. (On PostgreSQL the claim statement
    itself checks, once the reporter's network is known; on SQLite the lookup before it.)"""
    setup_network(client)
    me, other = reporter(client, "r1"), reporter(client, "r2")
    client.post("/api/v1/studies", json=[study("29.1"), study("29.2")])
    for headers in (me, other):
        client.post("/api/v1/sessions", json={"kind": "core"}, headers=headers)
    first = client.post("/api/v1/worklist/next", headers=me)  # r1's network is now known
    assert first.status_code == 200, first.text
    with services_of(client).engine.begin() as conn:
        if change == "deactivated":
            conn.execute(text("UPDATE reporter SET active = false WHERE id = 'r1'"))
        else:
            conn.execute(
                text("UPDATE reportersession SET ended_at = started_at WHERE reporter_id = 'r1'")
            )
    refused = client.post("/api/v1/worklist/next", headers=me)
    assert refused.status_code == (403 if change == "deactivated" else 409), refused.text
    left = "29.2" if first.json()["study"]["study_uid"] == "29.1" else "29.1"
    detail = client.get(f"/api/v1/studies/{left}").json()
    assert detail["status"] == "unreported" and detail["assignee"] is None
    assert not [e for e in detail["events"] if e["kind"] == "claimed"]
    taken = client.post("/api/v1/worklist/next", headers=other)
    assert taken.status_code == 200 and taken.json()["study"]["study_uid"] == left


def test_completion_and_hand_back_are_one_statement_on_postgresql(client: TestClient) -> None:
    """As for a claim: on PostgreSQL one statement that closes the assignment, writes the
    study and audits it, when this process wrote the claim (it knows the assignment), and the
    assignment lookup before it when it did not (another worker's claim); on SQLite the
    lookup and those three writes in one transaction. A completion sampled for review
    (written with the report, in one transaction) takes the several-statement path on
    both."""
    setup_network(client)
    me = reporter(client, "r1")
    client.post("/api/v1/studies", json=[study("20.1"), study("20.2"), study("20.3")])
    client.post("/api/v1/sessions", json={"kind": "core"}, headers=me)
    pg = services_of(client).loop_engine.dialect.name == "postgresql"
    services = services_of(client)
    services.settings = services.settings.model_copy(update={"review_share_all": 0.0})

    def pull_and_complete() -> tuple[dict[str, Any], Any, list[str]]:
        got = client.post("/api/v1/worklist/next", headers=me).json()
        done, sent = _statements_of(
            client,
            lambda: client.post(f"/api/v1/assignments/{got['assignment_id']}/complete", headers=me),
        )
        return got, done, sent

    first, done, sent = pull_and_complete()
    assert done.status_code == 200 and done.json()["study"]["status"] == "reported"
    assert sent == (["WITH"] if pg else ["SELECT", "UPDATE", "UPDATE", "INSERT"])
    uid = first["study"]["study_uid"]
    reported = client.get(f"/api/v1/studies/{uid}").json()
    assert reported["status"] == "reported" and reported["reported_by"] == "r1"
    assert [e["kind"] for e in reported["events"]] == ["ingested", "claimed", "reported"]
    assert reported["events"][-1]["detail"]["assignment"] == first["assignment_id"]
    with services.engine.connect() as conn:
        outcome = conn.execute(
            text("SELECT outcome FROM assignment WHERE id = :a"), {"a": first["assignment_id"]}
        ).scalar()
    assert outcome == "completed"

    second = client.post("/api/v1/worklist/next", headers=me).json()
    back, sent = _statements_of(
        client,
        lambda: client.post(
            f"/api/v1/assignments/{second['assignment_id']}/release",
            json={"reason": "needs prior imaging"},
            headers=me,
        ),
    )
    assert back.status_code == 200 and back.json()["study"]["status"] == "unreported"
    assert sent == (["WITH"] if pg else ["SELECT", "UPDATE", "UPDATE", "INSERT"])
    released = client.get(f"/api/v1/studies/{second['study']['study_uid']}").json()
    assert released["events"][-1]["kind"] == "released"
    assert released["events"][-1]["detail"]["reason"] == "needs prior imaging"

    unknown = client.post("/api/v1/worklist/next", headers=me).json()
    services.open_assignments.take(unknown["assignment_id"])  # as if another worker claimed
    done, sent = _statements_of(
        client,
        lambda: client.post(f"/api/v1/assignments/{unknown['assignment_id']}/complete", headers=me),
    )
    assert done.status_code == 200 and done.json()["study"]["status"] == "reported"
    assert sent == (["SELECT", "WITH"] if pg else ["SELECT", "UPDATE", "UPDATE", "INSERT"])

    services.settings = services.settings.model_copy(update={"review_share_all": 1.0})
    third, sampled, sent = pull_and_complete()
    assert sampled.status_code == 200 and sampled.json()["study"]["status"] == "reported"
    assert len(sent) > 2 and "INSERT" in sent  # the report, its review task and both events
    events = client.get(f"/api/v1/studies/{third['study']['study_uid']}").json()["events"]
    assert [e["kind"] for e in events][-2:] == ["reported", "review-sampled"]


def test_a_known_assignment_is_still_checked_before_it_is_finished(client: TestClient) -> None:
    """The usual completion of an assignment this process handed out skips the lookup, not
    the checks: another reporter is refused (403) and the owner can still complete it; an
    assignment ended in SQL alone (Redis still holding the lease) is refused (409) and its
    study is not marked reported."""
    setup_network(client)
    me, other = reporter(client, "r1"), reporter(client, "r2")
    client.post("/api/v1/studies", json=[study("33.1"), study("33.2")])
    for headers in (me, other):
        client.post("/api/v1/sessions", json={"kind": "core"}, headers=headers)
    mine = client.post("/api/v1/worklist/next", headers=me).json()
    refused = client.post(f"/api/v1/assignments/{mine['assignment_id']}/complete", headers=other)
    assert refused.status_code == 403, refused.text
    done = client.post(f"/api/v1/assignments/{mine['assignment_id']}/complete", headers=me)
    assert done.status_code == 200 and done.json()["study"]["status"] == "reported"

    second = client.post("/api/v1/worklist/next", headers=me).json()
    with services_of(client).engine.begin() as conn:
        conn.execute(
            text("UPDATE assignment SET outcome = 'expired' WHERE id = :a"),
            {"a": second["assignment_id"]},
        )
    ended = client.post(f"/api/v1/assignments/{second['assignment_id']}/complete", headers=me)
    assert ended.status_code == 409, ended.text
    after = client.get(f"/api/v1/studies/{second['study']['study_uid']}").json()
    assert after["status"] == "claimed"
    assert "reported" not in [e["kind"] for e in after["events"]]
