"""Breach prediction from the sweeper, exposed to dashboards, and the outsourcing policy:
recommend, or send automatically within the daily budget."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, event, func, select, update
from sqlmodel import Session

from tests.conftest import bearer, mint
from tests.sourcing.helpers import network, provider, reporter, services_of, session
from tests.worklist.helpers import study
from worklist.models import ProviderPrice
from worklist.predictions import store
from worklist.reporting.sweeper import sweep_once
from worklist.sourcing import policy
from worklist.sourcing.policy import EVENT, STUDY
from worklist.sourcing.sweep import sourcing_pass

H = 3600.0
PRICE: Any = ProviderPrice.__table__  # type: ignore[attr-defined]


def _studies(client: TestClient, n: int, now: datetime, **kw: Any) -> list[str]:
    uids = [f"40.{i}" for i in range(n)]
    client.post(
        "/api/v1/studies",
        json=[
            study(uid, acquired_at=(now - timedelta(hours=1, minutes=n - i)).isoformat(), **kw)
            for i, uid in enumerate(uids)
        ],
    )
    return uids


def _expected(
    due: list[datetime],
    wu: float,
    now: datetime,
    windows: list[tuple[float, float]],
    rate: float = 12.0,
) -> list[tuple[float | None, bool]]:
    """Independent reckoning for one reporter: (start in seconds, breach) in due order."""
    out = []
    ahead = 0.0
    for d in due:
        start = None
        left = ahead
        for a, b in windows:
            room = (b - a) * rate / H
            if left < room:
                start = a + left / rate * H
                break
            left -= room
        due_s = (d - now).total_seconds()
        breach = due_s <= 168 * H if start is None else start + wu / rate * H > due_s
        out.append((start, breach))
        ahead += wu
    return out


def test_predictions_follow_the_queue_and_the_roster(client: TestClient) -> None:
    network(client)
    rad = reporter(client, "rad1")
    session(client, rad, "core")
    now = datetime.now(UTC)
    uids = _studies(
        client,
        10,
        now,
        modality="CT",
        body_part="CAP",
        exam_code="CTCAP",
        patient_source="inpatient",
    )
    swept = sweep_once(services_of(client), now)
    assert swept["predicted"] == 10
    due = [
        datetime.fromisoformat(client.get(f"/api/v1/studies/{u}").json()["due_at"]) for u in uids
    ]
    ops = bearer(mint(client, "ops"))
    got = client.get("/api/v1/predictions/breaches?only_breaching=false", headers=ops).json()
    items = {i["study_uid"]: i for i in got["items"]}
    expected = _expected(due, 6.0, now, [(0.0, 4 * H)])
    for uid, (start, breach) in zip(uids, expected, strict=True):
        item = items[uid]
        assert item["predicted_breach"] is breach, uid
        if start is None:
            assert item["predicted_start"] is None
        else:
            at = datetime.fromisoformat(item["predicted_start"])
            assert abs((at - now).total_seconds() - start) < 1, uid
    assert [b for _, b in expected].count(True) == 2
    breaching = client.get("/api/v1/predictions/breaches?site=rxk", headers=ops).json()["items"]
    assert [i["study_uid"] for i in breaching] == uids[8:]
    for uid in uids[8:]:
        detail = client.get(f"/api/v1/studies/{uid}").json()
        assert detail["outsourcing_recommended"]
        event = detail["events"][-1]
        assert event["kind"] == "outsourcing-recommended" and event["actor"] == "policy"
        assert event["detail"]["rule"] == "predicted-breach"
    assert not client.get(f"/api/v1/studies/{uids[0]}").json()["outsourcing_recommended"]

    later = now + timedelta(hours=6)
    csv = (
        "reporter_id,date,start,end,kind\n"
        f"rad1,{later.astimezone(UTC).date()},{later:%H:%M},"
        f"{later + timedelta(hours=4):%H:%M},insourced\n"
    )
    r = client.post(
        "/api/v1/rosters/import", content=csv, headers={**ops, "Content-Type": "text/csv"}
    )
    assert r.json()["created"] == 1, r.text
    sourcing_pass(services_of(client), now, force=True)
    assert client.get("/api/v1/predictions/breaches", headers=ops).json()["items"] == []
    got = client.get("/api/v1/predictions/breaches?only_breaching=false").json()["items"]
    starts = {i["study_uid"]: i["predicted_start"] for i in got}
    roster_start = (later.replace(second=0, microsecond=0) - now).total_seconds()
    expected = _expected(due, 6.0, now, [(0.0, 4 * H), (roster_start, roster_start + 4 * H)])
    at = datetime.fromisoformat(starts[uids[8]])
    assert abs((at - now).total_seconds() - expected[8][0]) < 1  # type: ignore[operator]


def test_auto_outsourcing_stays_within_the_daily_budget(client: TestClient) -> None:
    network(client)
    provider(client, "cheap", modalities=["CR"], price={"CR": 30.0}, tat_hours=72)
    r = client.put("/api/v1/outsourcing/policy", json={"mode": "auto", "daily_budget": 100})
    assert r.status_code == 200 and r.json()["spent_today"] == 0
    now = datetime.now(UTC)
    uids = _studies(client, 5, now)  # routine GP chest X-rays: due in 7 days, nobody on duty
    client.post("/api/v1/studies", json=[study("41.1", urgency="stroke", patient_source="ed")])
    services = services_of(client)
    done = sourcing_pass(services, now, force=True)
    assert done["auto_outsourced"] == 3
    statuses = {u: client.get(f"/api/v1/studies/{u}").json() for u in uids}
    sent = [u for u in uids if statuses[u]["status"] == "outsourced"]
    assert sent == uids[:3]  # the earliest due first
    for u in uids[:3]:
        event = next(e for e in statuses[u]["events"] if e["kind"] == "outsourced")
        assert event["actor"] == "policy" and event["detail"]["mode"] == "policy"
        assert event["detail"]["price"] == 30.0 and "auto" in event["detail"]["rule"]
    for u in uids[3:]:
        assert statuses[u]["status"] == "unreported" and statuses[u]["outsourcing_recommended"]
        assert statuses[u]["events"][-1]["detail"]["rule"] == "predicted-breach; over budget"
    stroke = client.get("/api/v1/studies/41.1").json()
    assert stroke["status"] == "unreported"
    assert "no provider meets the due time" in stroke["events"][-1]["detail"]["rule"]
    policy = client.get("/api/v1/outsourcing/policy").json()
    assert policy["spent_today"] == 90.0 and policy["mode"] == "auto"
    again = sourcing_pass(services, now + timedelta(minutes=1), force=True)
    assert again["auto_outsourced"] == 0 and again["recommended"] == 0  # 10 left: nothing fits
    orders = client.get("/api/v1/outsourcing/orders").json()["items"]
    assert sorted(o["study_uid"] for o in orders) == sorted(uids[:3])
    assert {o["mode"] for o in orders} == {"policy"}


def test_policy_off_and_the_sweeper_gate(client: TestClient) -> None:
    network(client)
    client.put("/api/v1/outsourcing/policy", json={"mode": "off"})
    now = datetime.now(UTC)
    uids = _studies(client, 2, now)
    services = services_of(client)
    assert sweep_once(services, now)["predicted"] == 2
    assert sweep_once(services, now)["predicted"] == 0  # gated: once per interval
    assert not client.get(f"/api/v1/studies/{uids[0]}").json()["outsourcing_recommended"]
    assert len(client.get("/api/v1/predictions/breaches").json()["items"]) == 2


def test_predictions_are_replaced_in_chunks_and_finished_studies_drop_out(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Predictions are written a chunk per transaction (claims never wait on one long write);
    every waiting study keeps exactly one row, and a study reported since the last pass loses
    its row."""
    monkeypatch.setattr(store, "WRITE_CHUNK", 3)
    network(client)
    session(client, reporter(client, "rad1"), "core")
    now = datetime.now(UTC)
    uids = _studies(client, 10, now, modality="CT", body_part="CAP", exam_code="CTCAP")
    assert sourcing_pass(services_of(client), now, force=True)["predicted"] == 10
    ops = bearer(mint(client, "ops"))

    def predicted() -> list[str]:
        url = "/api/v1/predictions/breaches?only_breaching=false&limit=100"
        return sorted(i["study_uid"] for i in client.get(url, headers=ops).json()["items"])

    assert predicted() == sorted(uids)
    reported = {"study_uid": uids[4], "reported_at": now.isoformat()}
    assert client.post("/api/v1/reports", json=[reported]).status_code == 200
    assert (
        sourcing_pass(services_of(client), now + timedelta(minutes=1), force=True)["predicted"] == 9
    )
    assert predicted() == sorted(u for u in uids if u != uids[4])


def test_a_backlog_turning_red_is_recommended_in_chunks_and_a_claimed_study_is_left_alone(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Recommendations are written a few studies a transaction, one event each; a study a
    reporter claimed after the pass read it is not recommended and gets no event."""
    monkeypatch.setattr(policy, "BACKGROUND_WRITE_ROWS", 3)
    network(client)
    rad = reporter(client, "rad1")
    uids = _studies(client, 8, now := datetime.now(UTC))  # nobody on duty: every one breaches
    services = services_of(client)
    assert sourcing_pass(services, now, force=True)["recommended"] == 8
    for uid in uids:
        events = client.get(f"/api/v1/studies/{uid}").json()["events"]
        assert [e["kind"] for e in events].count("outsourcing-recommended") == 1, uid

    more = [f"42.{i}" for i in range(4)]
    client.post("/api/v1/studies", json=[study(u) for u in more])
    sourcing_pass(services, now, force=True)  # predicts them (and recommends them: undone)
    with services.engine.begin() as conn:
        conn.execute(update(STUDY).values(outsourcing_recommended=False))
        conn.execute(delete(EVENT).where(EVENT.c.kind == "outsourcing-recommended"))
    with Session(services.engine) as db:
        read = policy._candidates(db, "wm", only_unrecommended=True)
    assert len(read) == 12
    session(client, rad, "core")
    claimed = client.post("/api/v1/worklist/next", headers=rad).json()["study"]["study_uid"]
    commits: list[object] = []
    count = commits.append  # one bound method: event.remove needs the very same listener
    event.listen(services.engine, "commit", count)
    try:
        marked = policy._recommend(services.engine, [(c, "predicted-breach") for c in read])
    finally:
        event.remove(services.engine, "commit", count)
    assert marked == 11
    assert len(commits) == 4  # 12 candidates, 3 a transaction
    detail = client.get(f"/api/v1/studies/{claimed}").json()
    assert not detail["outsourcing_recommended"]
    assert "outsourcing-recommended" not in [e["kind"] for e in detail["events"]]
    others = [u for u in [*uids, *more] if u != claimed]
    assert all(client.get(f"/api/v1/studies/{u}").json()["outsourcing_recommended"] for u in others)


def test_a_pass_keeps_the_price_version_it_recorded_for_a_changed_provider(
    client: TestClient,
) -> None:
    """The pass reads each provider's prices, which records a changed provider row as a new
    price version; that version must be committed, not thrown away with the pass's reads."""
    network(client)
    provider(client, "cheap", modalities=["CR"], price={"CR": 30.0}, tat_hours=72)
    _studies(client, 2, now := datetime.now(UTC))
    services = services_of(client)
    versions = select(func.count()).select_from(PRICE).where(PRICE.c.provider_id == "cheap")
    with services.engine.connect() as conn:
        before = conn.execute(versions).scalar_one()
    assert sourcing_pass(services, now, force=True)["recommended"] == 2
    with services.engine.connect() as conn:
        assert conn.execute(versions).scalar_one() > before
