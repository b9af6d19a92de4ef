"""Outsourcing through the API: the ORM^O01 to a real MLLP peer, retries, the report coming
back, the provider's due time, and bulk outsourcing of a backlog."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from tests.conftest import bearer, free_port, mint
from tests.sourcing.helpers import network, provider, services_of
from tests.sourcing.peers import mllp_peer
from tests.worklist.helpers import NOW, study
from worklist.sourcing.orders import retry_pending


def _segments(message: str) -> dict[str, list[str]]:
    return {
        seg.split("|")[0]: seg.split("|") for seg in message.replace("\n", "\r").split("\r") if seg
    }


def test_order_goes_to_the_provider_over_mllp_and_the_report_comes_back(
    client: TestClient,
) -> None:
    network(client)
    provider(client, "p1")
    port = free_port()
    r = client.put(
        "/api/v1/providers/p1/endpoint",
        json={"host": "127.0.0.1", "port": port, "receiving_application": "TELERAD"},
    )
    assert r.status_code == 200, r.text
    client.post(
        "/api/v1/studies",
        json=[study("20.1", modality="CT", body_part="HEAD", description="CT Head")],
    )
    ops = bearer(mint(client, "ops"))
    with mllp_peer(port) as peer:
        r = client.post("/api/v1/studies/20.1/outsource", json={"provider": "p1"}, headers=ops)
        assert r.status_code == 200, r.text
    assert r.json()["status"] == "outsourced" and r.json()["sourcing"] == "outsourced"
    assert r.json()["assignee"] == "p1"
    assert len(peer.received) == 1
    seg = _segments(peer.received[0])
    assert seg["MSH"][8] == "ORM^O01^ORM_O01" and seg["MSH"][4] == "TELERAD"
    assert seg["ORC"][1] == "NW" and seg["ORC"][2] == "ACC-20.1^RXK"
    assert seg["OBR"][24] == "CT"
    assert seg["ZDS"][1].split("^")[0] == "20.1"
    assert "P-20.1" not in peer.received[0]  # no patient identifier leaves the network
    orders = client.get("/api/v1/outsourcing/orders").json()["items"]
    assert len(orders) == 1
    order = orders[0]
    assert order["delivery"] == "acked" and order["attempts"] == 1 and order["price"] == 40.0
    sent = datetime.fromisoformat(order["sent_at"])
    assert datetime.fromisoformat(order["provider_due_at"]) == sent + timedelta(hours=72)
    assert seg["MSH"][9] == next(  # MSH-10, the control id
        e["detail"]["control_id"]
        for e in client.get("/api/v1/studies/20.1").json()["events"]
        if e["kind"] == "order-acked"
    )
    feed = bearer(mint(client, "feed"))
    back = client.post(
        "/api/v1/reports",
        headers=feed,
        json=[{"study_uid": "20.1", "reported_at": NOW.isoformat()}],
    )
    assert back.status_code == 200 and back.json()["updated"] == 1, back.text
    detail = client.get("/api/v1/studies/20.1").json()
    assert detail["status"] == "reported" and detail["sourcing"] == "outsourced"
    last = detail["events"][-1]
    assert last["kind"] == "reported-externally" and last["detail"]["within_provider_tat"]
    assert client.get("/api/v1/outsourcing/orders").json()["items"] == []
    closed = client.get("/api/v1/outsourcing/orders?open_only=false").json()["items"]
    assert closed[0]["reported_at"] is not None


def test_an_unreachable_or_refusing_provider_is_retried_until_it_acknowledges(
    client: TestClient,
) -> None:
    network(client)
    provider(client, "p1")
    port = free_port()
    client.put(
        "/api/v1/providers/p1/endpoint",
        json={"host": "127.0.0.1", "port": port, "timeout_seconds": 2},
    )
    client.post("/api/v1/studies", json=[study("21.1"), study("21.2")])
    assert client.post("/api/v1/studies/21.1/outsource", json={"provider": "p1"}).status_code == 200
    (order,) = client.get("/api/v1/outsourcing/orders").json()["items"]
    assert order["delivery"] == "pending" and "cannot reach" in order["last_error"]
    services = services_of(client)
    with mllp_peer(port, answer="AE") as peer:
        assert (
            client.post("/api/v1/studies/21.2/outsource", json={"provider": "p1"}).status_code
            == 200
        )
        assert len(peer.received) == 1
    by_uid = {o["study_uid"]: o for o in client.get("/api/v1/outsourcing/orders").json()["items"]}
    assert by_uid["21.2"]["delivery"] == "pending" and "AE" in by_uid["21.2"]["last_error"]
    now = datetime.now(UTC)
    assert retry_pending(services, now) == 0  # backing off
    with mllp_peer(port) as peer:
        assert retry_pending(services, now + timedelta(minutes=5)) == 2
    assert len(peer.received) == 2
    states = {o["study_uid"]: o for o in client.get("/api/v1/outsourcing/orders").json()["items"]}
    assert {o["delivery"] for o in states.values()} == {"acked"}
    assert states["21.1"]["attempts"] == 2


def test_a_provider_without_an_endpoint_is_ordered_by_hand(client: TestClient) -> None:
    network(client)
    provider(client, "p1")
    client.post("/api/v1/studies", json=[study("22.1")])
    client.post("/api/v1/studies/22.1/outsource", json={"provider": "p1"})
    (order,) = client.get("/api/v1/outsourcing/orders").json()["items"]
    assert order["delivery"] == "manual" and order["price"] == 8.0


def test_bulk_outsourcing_by_filter_with_a_dry_run(client: TestClient) -> None:
    network(client)
    provider(client, "cheap", price={"CR": 6.0, "CT": 45.0})
    provider(client, "dear", price={"CR": 9.0, "CT": 35.0})
    old = (NOW - timedelta(hours=30)).isoformat()
    client.post(
        "/api/v1/studies",
        json=[
            study(f"23.{i}", acquired_at=(NOW - timedelta(hours=30 + i)).isoformat())
            for i in range(5)
        ]
        + [
            study("23.9"),
            study("23.8", site="RL4", acquired_at=old),
            study("23.7", modality="CT", body_part="HEAD", acquired_at=old),
        ],
    )
    ops = bearer(mint(client, "ops"))
    plan = client.post(
        "/api/v1/outsourcing/bulk",
        json={"site": "RXK", "modality": "CR", "older_than_hours": 24, "limit": 3},
        headers=ops,
    )
    assert plan.status_code == 200, plan.text
    body = plan.json()
    assert body["dry_run"] and body["matched"] == 3 and body["planned_cost"] == 18.0
    # oldest due first: the oldest acquisitions
    assert [i["study_uid"] for i in body["items"]] == ["23.4", "23.3", "23.2"]
    assert {i["provider"] for i in body["items"]} == {"cheap"}
    assert client.get("/api/v1/studies/23.4").json()["status"] == "unreported"
    sent = client.post(
        "/api/v1/outsourcing/bulk",
        json={
            "site": "RXK",
            "modality": "CR",
            "older_than_hours": 24,
            "limit": 3,
            "provider": "dear",
            "dry_run": False,
        },
        headers=ops,
    ).json()
    assert [i["result"] for i in sent["items"]] == ["sent"] * 3
    assert sum(i["price"] for i in sent["items"]) == 27.0
    for uid in ("23.4", "23.3", "23.2"):
        d = client.get(f"/api/v1/studies/{uid}").json()
        assert d["status"] == "outsourced" and d["assignee"] == "dear"
        assert d["events"][-1]["detail"]["mode"] == "bulk"
    assert client.get("/api/v1/studies/23.1").json()["status"] == "unreported"
    # Bulk sends count in the metrics like manual ones, at the order's price.
    metrics = client.get("/metrics").text
    assert 'worklist_outsourced_total{modality="CR",provider="dear",site="RXK"} 3.0' in metrics
    assert 'worklist_outsourced_cost_pounds_total{provider="dear",site="RXK"} 27.0' in metrics
    assert (
        client.post(
            "/api/v1/outsourcing/bulk", json={}, headers=bearer(mint(client, "lead"))
        ).status_code
        == 403
    )
