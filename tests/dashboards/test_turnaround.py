"""GET /dashboards/turnaround against values the test computes from what it ingested."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.dashboards.helpers import get_study, ingest, percentile_cont, report, when
from tests.worklist.helpers import setup_network, study

# 2026-06-15 is a BST date: the local day runs from 2026-06-14T23:00Z to 2026-06-15T23:00Z.
REPORTED = [
    # uid, site, modality, urgency, source, acquired (UTC), minutes to report
    ("t-cr-1", "RXK", "CR", "routine", "gp", "2026-06-15T08:00:00+00:00", 10),
    ("t-cr-2", "RXK", "CR", "routine", "gp", "2026-06-15T08:00:00+00:00", 25),
    ("t-cr-3", "RXK", "CR", "routine", "gp", "2026-06-15T08:00:00+00:00", 40),
    ("t-cr-4", "RRK", "CR", "routine", "gp", "2026-06-15T08:00:00+00:00", 70),
    ("t-cr-5", "RRK", "CR", "routine", "gp", "2026-06-15T08:00:00+00:00", 300),
    ("t-ct-1", "RL4", "CT", "urgent", "ed", "2026-06-15T10:00:00+00:00", 30),
    ("t-ct-2", "RL4", "CT", "urgent", "ed", "2026-06-15T10:00:00+00:00", 55),
    ("t-ct-3", "RL4", "CT", "urgent", "ed", "2026-06-15T10:00:00+00:00", 90),
    ("t-ct-4", "RL4", "CT", "urgent", "ed", "2026-06-15T10:00:00+00:00", 120),
    # 23:30 UTC on 14 June is 00:30 BST on 15 June: it belongs to the 15th ...
    ("t-early", "RXK", "CR", "urgent", "ed", "2026-06-14T23:00:00+00:00", 30),
    # ... and 23:30 UTC on 15 June is 00:30 BST on the 16th: not the 15th.
    ("t-late", "RXK", "CR", "routine", "gp", "2026-06-15T22:00:00+00:00", 90),
]


def _load(client: TestClient) -> dict[str, dict[str, Any]]:
    setup_network(client)
    now = datetime.now(UTC).replace(microsecond=0)
    items = [
        study(
            uid,
            site=site,
            modality=modality,
            body_part="CHEST",
            urgency=urgency,
            patient_source=source,
            acquired_at=acquired,
        )
        for uid, site, modality, urgency, source, acquired, _ in REPORTED
    ]
    items += [
        study("w-ct-late", site="RL4", modality="CT", urgency="urgent", patient_source="ed",
              acquired_at=(now - timedelta(hours=3)).isoformat()),
        study("w-cr-fresh", site="RXK", urgency="routine", patient_source="gp",
              acquired_at=(now - timedelta(hours=1)).isoformat()),
        study("w-cr-old", site="RXK", urgency="urgent", patient_source="ed",
              acquired_at=(now - timedelta(hours=5)).isoformat()),
    ]  # fmt: skip
    ingest(client, items)
    for uid, *_, acquired, minutes in REPORTED:
        report(client, uid, when(acquired) + timedelta(minutes=minutes), "rad1")
    return {uid: get_study(client, uid) for uid in [i["study_uid"] for i in items]}


def _expected(
    studies: dict[str, dict[str, Any]], lo: datetime, hi: datetime, site: str | None = None
) -> list[dict[str, Any]]:
    now = datetime.now(UTC)
    groups: dict[tuple[str, str], dict[str, Any]] = defaultdict(
        lambda: {"reported": 0, "within_target": 0, "minutes": [], "waiting": 0, "breached": 0}
    )
    for s in studies.values():
        if site and s["site"] != site:
            continue
        g = groups[(s["urgency"], s["modality"])]
        if s["status"] == "reported":
            reported = datetime.fromisoformat(s["reported_at"])
            if not lo <= reported < hi:
                continue
            g["reported"] += 1
            g["within_target"] += reported <= datetime.fromisoformat(s["due_at"])
            acquired = datetime.fromisoformat(s["acquired_at"])
            g["minutes"].append((reported - acquired).total_seconds() / 60)
        else:
            g["waiting"] += 1
            g["breached"] += datetime.fromisoformat(s["due_at"]) < now
    return [
        {
            "urgency": u,
            "modality": m,
            "reported": g["reported"],
            "within_target": g["within_target"],
            "median_minutes": percentile_cont(sorted(g["minutes"]), 0.5),
            "p90_minutes": percentile_cont(sorted(g["minutes"]), 0.9),
            "waiting": g["waiting"],
            "breached_waiting": g["breached"],
        }
        for (u, m), g in groups.items()
        if g["reported"] or g["waiting"]
    ]


def _compare(got: list[dict[str, Any]], expected: list[dict[str, Any]]) -> None:
    by_key = {(r["urgency"], r["modality"]): r for r in got}
    assert set(by_key) == {(r["urgency"], r["modality"]) for r in expected}
    for exp in expected:
        row = by_key[(exp["urgency"], exp["modality"])]
        for field in ("reported", "within_target", "waiting", "breached_waiting"):
            assert row[field] == exp[field], (field, row, exp)
        for field in ("median_minutes", "p90_minutes"):
            if exp[field] is None:
                assert row[field] is None
            else:
                assert row[field] == pytest.approx(exp[field], abs=0.06), (field, row, exp)


def test_turnaround_by_local_day(client: TestClient) -> None:
    studies = _load(client)
    r = client.get(
        "/api/v1/dashboards/turnaround", params={"from": "2026-06-15", "to": "2026-06-15"}
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["from"], body["to"]) == ("2026-06-15", "2026-06-15")
    lo, hi = when("2026-06-14T23:00:00+00:00"), when("2026-06-15T23:00:00+00:00")
    _compare(body["rows"], _expected(studies, lo, hi))
    urgent_cr = next(r for r in body["rows"] if (r["urgency"], r["modality"]) == ("urgent", "CR"))
    assert urgent_cr["reported"] == 1  # t-early, reported 00:30 BST on the 15th
    routine_cr = next(r for r in body["rows"] if (r["urgency"], r["modality"]) == ("routine", "CR"))
    assert routine_cr["reported"] == 5  # not t-late (00:30 BST on the 16th)
    assert [r["urgency"] for r in body["rows"]] == sorted(
        (r["urgency"] for r in body["rows"]),
        key=["stroke", "trauma", "urgent", "cancer", "routine"].index,
    )

    next_day = client.get("/api/v1/dashboards/turnaround", params={"from": "2026-06-16"}).json()
    late = next(r for r in next_day["rows"] if (r["urgency"], r["modality"]) == ("routine", "CR"))
    assert late["reported"] == 1


def test_turnaround_site_filter_and_datetimes(client: TestClient) -> None:
    studies = _load(client)
    r = client.get(
        "/api/v1/dashboards/turnaround",
        params={"from": "2026-06-15", "to": "2026-06-15", "site": "RL4"},
    )
    assert r.status_code == 200, r.text
    lo, hi = when("2026-06-14T23:00:00+00:00"), when("2026-06-15T23:00:00+00:00")
    _compare(r.json()["rows"], _expected(studies, lo, hi, site="RL4"))

    # datetimes are exact instants: [from, to)
    lo, hi = when("2026-06-15T10:00:00+00:00"), when("2026-06-15T11:30:00+00:00")
    r = client.get(
        "/api/v1/dashboards/turnaround", params={"from": lo.isoformat(), "to": hi.isoformat()}
    )
    assert r.status_code == 200, r.text
    _compare(r.json()["rows"], _expected(studies, lo, hi))
    ct = next(r for r in r.json()["rows"] if r["modality"] == "CT")
    assert ct["reported"] == 2 and ct["within_target"] == 2  # 30 and 55 minutes; 90 is 11:30


def test_turnaround_empty_period_still_shows_waiting(client: TestClient) -> None:
    setup_network(client)
    now = datetime.now(UTC)
    ingest(client, [study("only", acquired_at=(now - timedelta(minutes=5)).isoformat())])
    rows = client.get("/api/v1/dashboards/turnaround").json()["rows"]
    assert rows == [
        {
            "urgency": "routine",
            "modality": "CR",
            "reported": 0,
            "within_target": 0,
            "median_minutes": None,
            "p90_minutes": None,
            "waiting": 1,
            "breached_waiting": 0,
        }
    ]
