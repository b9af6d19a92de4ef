"""Reference data through HTTP: sites, reporters, providers."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.conftest import bearer, mint
from tests.worklist.helpers import put_reporter, setup_network


def test_site_create_then_update(client: TestClient) -> None:
    first = client.put("/api/v1/sites/RXK", json={"name": "Sandwell", "network": "wm"})
    assert first.status_code == 201
    again = client.put("/api/v1/sites/RXK", json={"name": "Sandwell General", "network": "wm"})
    assert again.status_code == 200
    sites = client.get("/api/v1/sites").json()
    assert sites == [{"code": "RXK", "name": "Sandwell General", "network": "wm"}]
    moved = client.put("/api/v1/sites/RXK", json={"name": "x", "network": "other"})
    assert moved.status_code == 422


def test_reporter_roundtrip_and_validation(client: TestClient) -> None:
    setup_network(client)
    body = {
        "name": "A. Smith",
        "group": "radiographer",
        "home_site": "RXK",
        "sites": ["RXK", "RL4"],
        "subspecialties": ["MSK"],
        "scope": [
            {
                "modalities": ["cr", "DX"],
                "body_parts": ["CHEST", "HAND"],
                "min_age": 16,
                "max_age": None,
                "patient_sources": ["gp", "outpatient", "ed"],
            }
        ],
    }
    assert client.put("/api/v1/reporters/r1", json=body).status_code == 201
    got = client.get("/api/v1/reporters/r1").json()
    assert got["group"] == "radiographer" and got["network"] == "wm"
    assert got["subspecialties"] == ["msk"]
    assert got["scope"][0]["modalities"] == ["CR", "DX"]
    assert client.put("/api/v1/reporters/r1", json=body).status_code == 200
    lead = mint(client, "lead")
    assert len(client.get("/api/v1/reporters", headers=bearer(lead)).json()) == 1

    unknown_site = {**body, "sites": ["NOPE"]}
    response = client.put("/api/v1/reporters/r2", json=unknown_site)
    assert response.status_code == 422 and "NOPE" in response.text
    bad_modality = {**body, "scope": [{"modalities": ["ZZ"]}]}
    assert client.put("/api/v1/reporters/r2", json=bad_modality).status_code == 422
    bad_group = {**body, "group": "wizard"}
    assert client.put("/api/v1/reporters/r2", json=bad_group).status_code == 422
    assert client.get("/api/v1/reporters/r2").status_code == 404


def test_reporter_sites_must_share_a_network(client: TestClient) -> None:
    setup_network(client)
    client.put("/api/v1/sites/ZZZ", json={"name": "Elsewhere", "network": "other"})
    response = client.put(
        "/api/v1/reporters/r9",
        json={"name": "x", "group": "radiologist", "home_site": "RXK", "sites": ["ZZZ"]},
    )
    assert response.status_code == 422


def test_providers(client: TestClient) -> None:
    body = {
        "name": "TeleRad",
        "modalities": ["CT", "MR"],
        "price": {"CT": 40.0, "MR": 55.0},
        "tat_hours": 72,
    }
    assert client.put("/api/v1/providers/p1", json=body).status_code == 201
    assert client.put("/api/v1/providers/p1", json={**body, "tat_hours": 48}).status_code == 200
    listed = client.get("/api/v1/providers").json()
    assert listed == [{"id": "p1", **body, "tat_hours": 48}]


def test_catalogue_and_targets_are_seeded(client: TestClient) -> None:
    exams = {e["code"]: e for e in client.get("/api/v1/exams").json()}
    assert exams["CTHEA"]["work_units"] == 3 and exams["XCHES"]["radiographer_reportable"]
    targets = {
        (t["urgency"], t["patient_source"]): t["target_minutes"]
        for t in client.get("/api/v1/tat-targets").json()
    }
    assert targets[("stroke", "*")] == 30
    assert targets[("urgent", "ed")] == 60
    assert targets[("routine", "*")] == 7 * 24 * 60


def test_put_reporter_deactivates(client: TestClient) -> None:
    setup_network(client)
    put_reporter(client, "r1")
    put_reporter(client, "r1", active=False)
    assert client.get("/api/v1/reporters/r1").json()["active"] is False
