"""Versioned provider prices and insourcing rates: a change never alters last month's cost."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from tests.conftest import bearer, mint
from tests.sourcing.helpers import (
    network,
    provider,
    pull_and_complete,
    reporter,
    session,
    shift,
)
from tests.worklist.helpers import study

LONDON = ZoneInfo("Europe/London")


def _day(at: datetime) -> str:
    return at.astimezone(LONDON).date().isoformat()


def _total(client: TestClient, day: str) -> dict[str, Any]:
    r = client.get(f"/api/v1/dashboards/sourcing?from={day}&to={day}")
    assert r.status_code == 200, r.text
    row: dict[str, Any] = r.json()["rows"][-1]
    assert row["site"] is None
    return row


def test_provider_prices_by_date_and_exam_code(client: TestClient) -> None:
    network(client)
    provider(client, "p1", price={"CT": 40.0})
    now = datetime.now(UTC)
    r = client.put(
        "/api/v1/providers/p1/prices",
        json={
            "effective_from": (now - timedelta(days=60)).isoformat(),
            "modalities": {"CT": 35.0, "MR": 50.0},
            "exam_codes": {"CTCAP": 60.0},
        },
    )
    assert r.status_code == 200, r.text
    assert r.json()["modalities"] == {"CT": 40.0, "MR": 50.0}  # the PUT /providers price is newer
    month_ago = (now - timedelta(days=30)).isoformat().replace("+00:00", "Z")
    then = client.get("/api/v1/providers/p1/prices", params={"at": month_ago}).json()
    assert then["modalities"] == {"CT": 35.0, "MR": 50.0} and then["exam_codes"] == {"CTCAP": 60.0}
    assert client.get("/api/v1/providers").json()[0]["price"] == {"CT": 40.0, "MR": 50.0}
    client.post(
        "/api/v1/studies",
        json=[
            study("30.1", modality="CT", body_part="HEAD"),
            study("30.2", modality="CT", body_part="CAP", exam_code="CTCAP"),
        ],
    )
    for uid in ("30.1", "30.2"):
        assert client.post(f"/api/v1/studies/{uid}/outsource", json={"provider": "p1"}).is_success
    prices = {
        o["study_uid"]: o["price"] for o in client.get("/api/v1/outsourcing/orders").json()["items"]
    }
    assert prices == {"30.1": 40.0, "30.2": 60.0}
    assert (
        client.put(
            "/api/v1/providers/p1/prices",
            json={"modalities": {"CT": 1.0}},
            headers=bearer(mint(client, "ops")),
        ).status_code
        == 403
    )


def test_a_price_change_does_not_alter_last_months_cost(client: TestClient) -> None:
    network(client)
    provider(client, "p1", price={"CT": 40.0})
    feed = bearer(mint(client, "feed"))
    client.post("/api/v1/studies", json=[study("31.1", modality="CT", body_part="HEAD")])
    client.post("/api/v1/studies/31.1/outsource", json={"provider": "p1"})
    now = datetime.now(UTC)
    client.post(
        "/api/v1/reports",
        headers=feed,
        json=[{"study_uid": "31.1", "reported_at": now.isoformat()}],
    )
    shift(client, ["31.1"], timedelta(days=-35))
    last_month = _day(now - timedelta(days=35))
    assert _total(client, last_month)["cost"]["outsourced"] == 40.0

    provider(client, "p1", price={"CT": 52.5})  # API.md's PUT: the new price from now on
    client.post("/api/v1/studies", json=[study("31.2", modality="CT", body_part="HEAD")])
    client.post("/api/v1/studies/31.2/outsource", json={"provider": "p1"})
    back = [{"study_uid": "31.2", "reported_at": datetime.now(UTC).isoformat()}]
    client.post("/api/v1/reports", headers=feed, json=back)
    assert _total(client, last_month)["cost"]["outsourced"] == 40.0
    today = _total(client, _day(datetime.now(UTC)))
    assert today["cost"]["outsourced"] == 52.5 and today["outsourced"] == 1
    versions = client.get("/api/v1/providers/p1/prices").json()["versions"]
    assert [v["price"] for v in versions] == [40.0, 52.5]


def test_insourcing_rate_versions_and_group_rates(client: TestClient) -> None:
    network(client)
    rad = reporter(client, "rad1")
    rg = reporter(
        client, "rg1", group="radiographer", scope=[{"modalities": ["CR"], "body_parts": ["CHEST"]}]
    )
    now = datetime.now(UTC)
    old = (now - timedelta(days=90)).isoformat()
    assert (
        client.put(
            "/api/v1/rates/insourcing",
            json={"basis": "work_unit", "amount": 10.0, "effective_from": old},
        ).status_code
        == 200
    )
    radiographers = {"basis": "work_unit", "amount": 6.0, "group": "radiographer"}
    client.put("/api/v1/rates/insourced", json={**radiographers, "effective_from": old})
    client.post(
        "/api/v1/studies",
        json=[
            study("32.1", modality="CT", body_part="CAP", exam_code="CTCAP"),
            study("32.2"),
        ],
    )
    session(client, rg, "insourced")
    assert pull_and_complete(client, rg, 1) == ["32.2"]
    session(client, rad, "insourced")
    assert pull_and_complete(client, rad, 1) == ["32.1"]
    shift(client, ["32.1", "32.2"], timedelta(days=-40))
    day = _day(now - timedelta(days=40))
    before = _total(client, day)
    assert before["insourced"] == 2 and before["work_units"]["insourced"] == 7.0
    assert before["cost"]["insourced"] == 6 * 10.0 + 1 * 6.0
    assert before["cost"]["core"] == 0.0
    client.put("/api/v1/rates/insourcing", json={"basis": "work_unit", "amount": 99.0})
    assert _total(client, day)["cost"]["insourced"] == 66.0
    listed = client.get("/api/v1/rates/insourcing").json()
    assert [(r["group"], r["amount"]) for r in listed] == [
        (None, 10.0),
        ("radiographer", 6.0),
        (None, 99.0),
    ]


def test_a_rate_change_within_a_session_prices_each_report_at_its_own_time(
    client: TestClient,
) -> None:
    network(client)
    rad = reporter(client, "rad1")
    long_ago = (datetime.now(UTC) - timedelta(days=30)).isoformat()
    per_wu = {"basis": "work_unit"}
    client.put(
        "/api/v1/rates/insourcing", json={**per_wu, "amount": 10.0, "effective_from": long_ago}
    )
    client.post(
        "/api/v1/studies",
        json=[study("33.1", modality="CT", body_part="HEAD", urgency="urgent"), study("33.2")],
    )
    session(client, rad, "insourced")
    assert pull_and_complete(client, rad, 1) == ["33.1"]
    changed = datetime.now(UTC).isoformat()
    client.put(
        "/api/v1/rates/insourcing", json={**per_wu, "amount": 14.0, "effective_from": changed}
    )
    assert pull_and_complete(client, rad, 1) == ["33.2"]
    wu = {u: client.get(f"/api/v1/studies/{u}").json()["work_units"] for u in ("33.1", "33.2")}
    total = _total(client, _day(datetime.now(UTC)))
    assert total["insourced"] == 2
    assert total["cost"]["insourced"] == pytest.approx(10.0 * wu["33.1"] + 14.0 * wu["33.2"])
