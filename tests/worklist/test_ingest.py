"""Ingest through HTTP: batches, idempotency, derivation, per-item rejections, orders, reports."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient

from tests.conftest import bearer, mint
from tests.worklist.helpers import NOW, setup_network, study


def test_batch_with_bad_items_keeps_the_good_ones(client: TestClient) -> None:
    setup_network(client)
    feed = mint(client, "feed")
    batch = [
        study("1.1"),
        study("1.2", site="NOPE"),
        {k: v for k, v in study("1.3").items() if k != "study_uid"},
        study("1.4", modality="ZZ"),
        study("1.5", acquired_at="yesterday"),
        study("1.6", acquired_at="2026-11-23T08:00:00"),
        "not an object",
        study("1.7", modality="ct", body_part="head"),
    ]
    response = client.post("/api/v1/studies", json=batch, headers=bearer(feed))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["created"] == 2 and body["updated"] == 0
    reasons = {r["index"]: r["error"] for r in body["rejected"]}
    assert set(reasons) == {1, 2, 3, 4, 5, 6}
    assert "not registered" in reasons[1]
    assert "study_uid" in reasons[2]
    assert "modality" in reasons[3]
    assert "acquired_at" in reasons[4]
    assert "offset" in reasons[5]
    stored = client.get("/api/v1/studies/1.7").json()
    assert stored["modality"] == "CT" and stored["exam_code"] == "CTHEA"
    assert stored["status"] == "unreported" and stored["events"][0]["kind"] == "ingested"


def test_resending_updates_never_duplicates(client: TestClient) -> None:
    setup_network(client)
    first = client.post("/api/v1/studies", json=[study("2.1"), study("2.2")]).json()
    assert first["created"] == 2
    again = client.post(
        "/api/v1/studies", json=[study("2.1", urgency="urgent"), study("2.3")]
    ).json()
    assert again == {"created": 1, "updated": 1, "rejected": []}
    page = client.get("/api/v1/studies?limit=10").json()
    assert [s["study_uid"] for s in page["items"]] == ["2.1", "2.2", "2.3"]
    updated = client.get("/api/v1/studies/2.1").json()
    assert updated["urgency"] == "urgent"
    assert [e["kind"] for e in updated["events"]] == ["ingested", "updated"]


def test_derived_urgency_subspecialty_and_due(client: TestClient) -> None:
    setup_network(client)
    acquired = NOW - timedelta(minutes=10)
    client.post(
        "/api/v1/studies",
        json=[
            study("3.1", patient_source="ed", acquired_at=acquired.isoformat()),
            study(
                "3.2",
                modality="CT",
                body_part="HEAD",
                urgency="stroke",
                acquired_at=acquired.isoformat(),
            ),
            study(
                "3.3",
                modality="MR",
                body_part="HEAD",
                patient_age=9,
                acquired_at=acquired.isoformat(),
            ),
        ],
    )
    ed = client.get("/api/v1/studies/3.1").json()
    assert ed["urgency"] == "urgent" and ed["subspecialty"] == "chest"
    assert _minutes(ed["due_at"], acquired) == 60
    stroke = client.get("/api/v1/studies/3.2").json()
    assert stroke["urgency"] == "stroke" and _minutes(stroke["due_at"], acquired) == 30
    assert stroke["work_units"] == 3 and stroke["subspecialty"] == "neuro"
    child = client.get("/api/v1/studies/3.3").json()
    assert child["subspecialty"] == "paediatrics"
    assert _minutes(child["due_at"], acquired) == 7 * 24 * 60


def _minutes(due_at: str, acquired: object) -> float:
    from datetime import datetime

    assert isinstance(acquired, datetime)
    return (datetime.fromisoformat(due_at) - acquired).total_seconds() / 60


def test_patient_id_is_only_kept_hashed(client: TestClient) -> None:
    setup_network(client)
    client.post("/api/v1/studies", json=[study("4.1", patient_id="9434765919")])
    engine = client.app.state.services.engine  # type: ignore[attr-defined]
    with engine.connect() as conn:
        from sqlalchemy import text

        rows = conn.execute(text("SELECT * FROM study")).mappings().all()
    assert rows and all("9434765919" not in str(dict(r)) for r in rows)
    assert rows[0]["patient_key"] and len(rows[0]["patient_key"]) == 32


def test_order_first_then_study_and_study_first_then_order(client: TestClient) -> None:
    setup_network(client)
    acquired = NOW - timedelta(minutes=5)
    r = client.post(
        "/api/v1/orders",
        json=[
            {"site": "RXK", "accession": "A1", "urgency": "urgent", "patient_source": "inpatient"},
            {"site": "NOPE", "accession": "A9"},
            {"site": "RXK"},
        ],
    ).json()
    assert r["created"] == 1 and {x["index"] for x in r["rejected"]} == {1, 2}
    client.post(
        "/api/v1/studies", json=[study("5.1", accession="A1", acquired_at=acquired.isoformat())]
    )
    joined = client.get("/api/v1/studies/5.1").json()
    assert joined["urgency"] == "urgent" and joined["patient_source"] == "inpatient"
    assert _minutes(joined["due_at"], acquired) == 4 * 60

    client.post(
        "/api/v1/studies", json=[study("5.2", accession="A2", acquired_at=acquired.isoformat())]
    )
    assert client.get("/api/v1/studies/5.2").json()["urgency"] == "routine"
    r = client.post(
        "/api/v1/orders", json=[{"site": "RXK", "accession": "A2", "urgency": "cancer"}]
    ).json()
    assert r["created"] == 1
    later = client.get("/api/v1/studies/5.2").json()
    assert later["urgency"] == "cancer" and _minutes(later["due_at"], acquired) == 48 * 60
    assert later["events"][-1]["kind"] == "order-joined"


def test_reports_from_outside(client: TestClient) -> None:
    setup_network(client)
    client.post("/api/v1/studies", json=[study("6.1"), study("6.2", accession="B2")])
    reported_at = NOW.isoformat()
    r = client.post(
        "/api/v1/reports",
        json=[
            {"study_uid": "6.1", "reported_at": reported_at, "reporter": "ext1"},
            {"site": "RXK", "accession": "B2", "reported_at": reported_at},
            {"study_uid": "nope", "reported_at": reported_at},
            {"reported_at": reported_at},
        ],
    ).json()
    assert r["updated"] == 2 and {x["index"] for x in r["rejected"]} == {2, 3}
    again = client.post(
        "/api/v1/reports", json=[{"study_uid": "6.1", "reported_at": reported_at}]
    ).json()
    assert again["rejected"][0]["error"].endswith("already reported")
    s = client.get("/api/v1/studies/6.1").json()
    assert s["status"] == "reported" and s["reported_by"] == "ext1"


def test_outsource_and_report_single(client: TestClient) -> None:
    setup_network(client)
    ops = mint(client, "ops")
    client.put(
        "/api/v1/providers/p1", json={"name": "P", "modalities": ["CT"], "price": {"CT": 40}}
    )
    client.post(
        "/api/v1/studies", json=[study("7.1", modality="CT", body_part="HEAD"), study("7.2")]
    )
    assert (
        client.post(
            "/api/v1/studies/7.2/outsource", json={"provider": "p1"}, headers=bearer(ops)
        ).status_code
        == 409
    )
    r = client.post("/api/v1/studies/7.1/outsource", json={"provider": "p1"}, headers=bearer(ops))
    assert r.status_code == 200
    body = r.json()
    assert (
        body["status"] == "outsourced"
        and body["assignee"] == "p1"
        and body["sourcing"] == "outsourced"
    )
    assert body["events"][-1]["detail"]["price"] == 40
    r = client.post(
        "/api/v1/studies/7.1/report", json={"reported_at": NOW.isoformat()}, headers=bearer(ops)
    )
    assert (
        r.status_code == 200
        and r.json()["status"] == "reported"
        and r.json()["sourcing"] == "outsourced"
    )
    assert (
        client.post(
            "/api/v1/studies/nope/report", json={"reported_at": NOW.isoformat()}
        ).status_code
        == 404
    )


def test_study_list_pagination_and_filters(client: TestClient) -> None:
    setup_network(client)
    client.post(
        "/api/v1/studies",
        json=[study(f"8.{i}", modality="CT" if i % 2 else "CR") for i in range(7)],
    )
    seen, cursor = [], None
    while True:
        url = "/api/v1/studies?limit=3" + (f"&cursor={cursor}" if cursor else "")
        page = client.get(url).json()
        seen += [s["study_uid"] for s in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == [f"8.{i}" for i in range(7)]
    ct = client.get("/api/v1/studies?modality=CT&limit=500").json()["items"]
    assert len(ct) == 3 and all(s["modality"] == "CT" for s in ct)
    assert client.get("/api/v1/studies?cursor=!!!").status_code == 422
    assert client.get("/api/v1/studies?limit=0").status_code == 422
