"""The live backlog, the reporter's tally/status/inbox, roles and period validation."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from tests.conftest import bearer, mint
from tests.dashboards.helpers import get_study, ingest
from tests.worklist.helpers import put_reporter, setup_network, study

DASHBOARDS = [
    "/api/v1/dashboards/turnaround",
    "/api/v1/dashboards/reporting-share",
    "/api/v1/dashboards/reporting-share/monthly",
    "/api/v1/dashboards/sourcing",
    "/api/v1/dashboards/sourcing/monthly",
    "/api/v1/dashboards/headroom",
    "/api/v1/dashboards/backlog",
]


def test_backlog(client: TestClient) -> None:
    setup_network(client)
    put_reporter(client, "rad1", sites=["RL4"], scope=[{"modalities": ["MR"]}])
    now = datetime.now(UTC).replace(microsecond=0)
    ingest(client, [
        study("late-ct", site="RL4", modality="CT", urgency="urgent", patient_source="ed",
              acquired_at=(now - timedelta(hours=3)).isoformat()),
        study("soon-ct", site="RL4", modality="CT", urgency="urgent", patient_source="ed",
              acquired_at=(now - timedelta(minutes=20)).isoformat()),
        study("cr-1", site="RXK", acquired_at=(now - timedelta(hours=2)).isoformat()),
        study("cr-2", site="RXK", acquired_at=(now - timedelta(days=2)).isoformat()),
        study("mr-1", site="RL4", modality="MR", body_part="KNEE",
              acquired_at=(now - timedelta(minutes=5)).isoformat()),
    ])  # fmt: skip
    token = mint(client, "reporter", "rad1")
    assert (
        client.post(
            "/api/v1/sessions", json={"kind": "insourced"}, headers=bearer(token)
        ).status_code
        == 201
    )
    claim = client.post("/api/v1/worklist/next", headers=bearer(token)).json()
    assert claim["study"]["study_uid"] == "mr-1"

    r = client.get("/api/v1/dashboards/backlog", params={"horizon_minutes": 60})
    assert r.status_code == 200, r.text
    body = r.json()
    studies = {u: get_study(client, u) for u in ("late-ct", "soon-ct", "cr-1", "cr-2", "mr-1")}
    expected: Counter[tuple[str, str, str, str]] = Counter()
    for s in studies.values():
        expected[(s["site"], s["modality"], s["urgency"], s["status"])] += 1
    got: Counter[tuple[str, str, str, str]] = Counter()
    for row in body["rows"]:
        for status in ("waiting", "claimed"):
            if row[status]:
                name = "unreported" if status == "waiting" else "claimed"
                got[(row["site"], row["modality"], row["urgency"], name)] += row[status]
    assert got == expected
    late = next(r for r in body["rows"] if r["modality"] == "CT")
    assert late["breached"] == 1 and 179 <= late["oldest_minutes"] <= 182

    assert [s["study_uid"] for s in body["breached"]] == ["late-ct"]
    assert [s["study_uid"] for s in body["at_risk"]] == ["soon-ct"]
    soon = body["at_risk"][0]
    assert soon["due_at"] == studies["soon-ct"]["due_at"].replace(
        "Z", "+00:00"
    ) or datetime.fromisoformat(soon["due_at"]) == datetime.fromisoformat(
        studies["soon-ct"]["due_at"]
    )
    assert 38 <= soon["minutes_left"] <= 41

    ages = {a["age"]: sum(a["by_urgency"].values()) for a in body["ages"]}
    assert ages == {"<1h": 2, "1-4h": 2, "4-24h": 0, "1-3d": 1, "3-7d": 0, ">7d": 0}
    assert [p["reporter_id"] for p in body["on_duty"]] == ["rad1"]
    assert body["on_duty"][0]["kind"] == "insourced" and body["on_duty"][0]["in_hand"] == 1
    assert sum(h["arrived"] for h in body["throughput"]) >= 1
    assert body["from"] == body["to"]


def test_reporter_tally_status_inbox(client: TestClient) -> None:
    setup_network(client)
    put_reporter(client, "rad1")
    now = datetime.now(UTC).replace(microsecond=0)
    ago = [(now - timedelta(hours=h)).isoformat() for h in (3, 2, 1)]
    ingest(client, [
        study("a", modality="CT", body_part="HEAD", acquired_at=ago[0]),
        study("b", acquired_at=ago[1]),
        study("c", acquired_at=ago[2]),
    ])  # fmt: skip
    token = mint(client, "reporter", "rad1")
    me = bearer(token)
    status = client.get("/api/v1/me/status", headers=me).json()
    assert status["session"] is None and status["current"] is None
    assert client.post("/api/v1/sessions", json={"kind": "core"}, headers=me).status_code == 201
    first = client.post("/api/v1/worklist/next", headers=me).json()
    status = client.get("/api/v1/me/status", headers=me).json()
    assert status["session"]["kind"] == "core"
    assert status["current"]["assignment_id"] == first["assignment_id"]
    assert status["current"]["reason"]["rule"] == first["reason"]["rule"]
    assert client.get("/api/v1/me/inbox", headers=me).json()["leased"] == 1
    done = client.post(f"/api/v1/assignments/{first['assignment_id']}/complete", headers=me)
    assert done.status_code == 200
    second = client.post("/api/v1/worklist/next", headers=me).json()
    r = client.post(
        f"/api/v1/assignments/{second['assignment_id']}/release",
        json={"reason": "needs priors"},
        headers=me,
    )
    assert r.status_code == 200

    tally = client.get("/api/v1/me/tally", headers=me).json()
    wu = get_study(client, first["study"]["study_uid"])["work_units"]
    assert (tally["completed"], tally["released"], tally["expired"]) == (1, 1, 0)
    assert tally["work_units"] == wu
    assert tally["by_sourcing"] == {"core": {"completed": 1, "work_units": wu}}
    status = client.get("/api/v1/me/status", headers=me).json()
    assert status["current"] is None and status["tally"]["completed"] == 1
    assert (
        client.get(
            "/api/v1/me/tally", params={"from": "2020-01-01", "to": "2020-01-31"}, headers=me
        ).json()["completed"]
        == 0
    )


@pytest.mark.parametrize("path", DASHBOARDS)
def test_dashboard_roles(client: TestClient, path: str) -> None:
    setup_network(client)
    put_reporter(client, "rad1")
    assert client.get(path, headers={"Authorization": ""}).status_code == 401
    for role in ("feed", "reporter"):
        token = mint(client, role, "rad1" if role == "reporter" else None)
        assert client.get(path, headers=bearer(token)).status_code == 403
    for role in ("ops", "lead"):
        r = client.get(path, headers=bearer(mint(client, role)))
        assert r.status_code == 200, r.text
        assert {"from", "to", "rows"} <= set(r.json())


def test_me_roles(client: TestClient) -> None:
    for path in ("/api/v1/me/tally", "/api/v1/me/status", "/api/v1/me/inbox"):
        assert client.get(path, headers={"Authorization": ""}).status_code == 401
        assert client.get(path).status_code == 403  # admin is not a reporter
        assert client.get(path, headers=bearer(mint(client, "ops"))).status_code == 403


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"from": "2026-13-01"}, "not an ISO date"),
        ({"from": "yesterday"}, "neither an ISO date nor an ISO datetime"),
        ({"from": "2026-06-02", "to": "2026-06-01"}, "is after"),
        ({"from": "2026-06-01T10:00:00+00:00", "to": "2026-06-01T09:00:00+00:00"}, "is after"),
    ],
)
def test_bad_periods(client: TestClient, params: dict[str, str], message: str) -> None:
    for path in ("/api/v1/dashboards/turnaround", "/api/v1/dashboards/reporting-share"):
        r = client.get(path, params=params)
        assert r.status_code == 422
        assert message in r.json()["detail"]


def test_one_day_period_and_unencoded_plus(client: TestClient) -> None:
    r = client.get(
        "/api/v1/dashboards/reporting-share?from=2026-06-01T00:00:00 01:00&to=2026-06-01"
    )
    assert r.status_code == 200, r.text
    assert r.json()["from"] == "2026-06-01T00:00:00+01:00"
