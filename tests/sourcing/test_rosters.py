"""Rosters: the e-roster CSV (good lines stored, bad lines named with reasons), re-import,
one reporter's day through the API, and the listing."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient

from tests.conftest import bearer, mint
from tests.sourcing.helpers import network, reporter

LONDON = ZoneInfo("Europe/London")
CSV = """Reporter_ID,Name,Date,Start,End,Kind,Rate,Rate_Basis,Reference
rad1,Dr One,2026-07-01,08:00,12:00,core,,,SH-1
rad1,Dr One,2026-07-01,13:00,17:00,insourced,£400,session,SH-2
rg1,R Graph,2026-07-01,22:00,06:00,insourced,12.5,work_unit,SH-3
nobody,X,2026-07-01,08:00,12:00,core,,,SH-4
rad1,Dr One,2026-07-01,11:00,14:00,core,,,SH-5
rad1,Dr One,2026-07-02,08:00,12:00,locum,,,SH-6
rad1,Dr One,2026-07-32,08:00,12:00,core,,,SH-7
rad1,Dr One,2026-07-03,8am,12:00,core,,,SH-8
rad1,Dr One,2026-07-03,08:00,12:00,core,lots,,SH-9
rad1,Dr One,2026-07-04,08:00,12:00,core,-5,,SH-10
rad1,Dr One,2026-07-04,13:00,17:00,core,,hourly,SH-11
rg1,R Graph,2026-07-05,,12:00,core,,,SH-12
"""


def test_csv_import_stores_good_lines_and_names_bad_ones(client: TestClient) -> None:
    network(client)
    reporter(client, "rad1")
    reporter(client, "rg1", group="radiographer")
    ops = bearer(mint(client, "ops"))
    headers = {**ops, "Content-Type": "text/csv"}
    r = client.post("/api/v1/rosters/import", content=CSV, headers=headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["created"], body["updated"]) == (3, 0)
    errors = {x["line"]: x["error"] for x in body["rejected"]}
    assert sorted(errors) == list(range(5, 14))
    assert "not a registered reporter" in errors[5]
    assert "overlaps" in errors[6]
    assert errors[7].startswith("kind:")
    assert errors[8].startswith("date:")
    assert errors[9].startswith("start:")
    assert errors[10].startswith("rate:") and "number" in errors[10]
    assert errors[11].startswith("rate:") and "negative" in errors[11]
    assert errors[12].startswith("rate_basis:")
    assert errors[13] == "start: missing"

    listed = client.get("/api/v1/rosters?from=2026-07-01&to=2026-07-02", headers=ops).json()
    got = {(e["reporter_id"], e["reference"]): e for e in listed["items"]}
    assert set(got) == {("rad1", "SH-1"), ("rad1", "SH-2"), ("rg1", "SH-3")}
    night = got[("rg1", "SH-3")]
    # local BST wall-clock times; the night shift ends the next morning
    assert datetime.fromisoformat(night["start"]) == datetime(2026, 7, 1, 22, tzinfo=LONDON)
    assert datetime.fromisoformat(night["end"]) == datetime(2026, 7, 2, 6, tzinfo=LONDON)
    assert night["rate"] == 12.5 and night["rate_basis"] == "work_unit"
    assert got[("rad1", "SH-2")]["rate"] == 400.0 and got[("rad1", "SH-2")]["kind"] == "insourced"

    again = client.post(
        "/api/v1/rosters/import",
        content="reporter_id,date,start,end,kind,rate\nrad1,2026-07-01,08:00,12:30,core,\n",
        headers=headers,
    ).json()
    assert (again["created"], again["updated"], again["rejected"]) == (0, 1, [])
    items = client.get("/api/v1/rosters?from=2026-07-01&to=2026-07-01&reporter=rad1").json()
    assert len(items["items"]) == 2
    assert items["items"][0]["end"].startswith("2026-07-01T11:30")  # 12:30 BST

    missing = client.post(
        "/api/v1/rosters/import", content="reporter,date\nrad1,2026-07-01\n", headers=headers
    ).json()
    assert missing["created"] == 0 and "header" in missing["rejected"][0]["error"]
    lead = bearer(mint(client, "lead"))
    assert client.post("/api/v1/rosters/import", content=CSV, headers=lead).status_code == 403


def test_put_one_reporters_day_replaces_it(client: TestClient) -> None:
    network(client)
    reporter(client, "rad1")
    day = "2026-12-01"
    sessions: list[dict[str, Any]] = [
        {"start": "2026-12-01T08:00:00+00:00", "end": "2026-12-01T12:00:00+00:00", "kind": "core"},
        {
            "start": "2026-12-01T13:00:00+00:00",
            "end": "2026-12-01T17:00:00+00:00",
            "kind": "insourced",
            "rate": 350.0,
        },
    ]
    r = client.put(f"/api/v1/rosters/rad1/{day}", json={"sessions": sessions})
    assert r.status_code == 200, r.text
    assert [s["kind"] for s in r.json()] == ["core", "insourced"]
    r = client.put(f"/api/v1/rosters/rad1/{day}", json={"sessions": sessions[1:]})
    assert [s["kind"] for s in r.json()] == ["insourced"]
    overlap = [
        sessions[1],
        {**sessions[1], "start": "2026-12-01T16:00:00+00:00", "end": "2026-12-01T18:00:00+00:00"},
    ]
    bad = client.put(f"/api/v1/rosters/rad1/{day}", json={"sessions": overlap})
    assert bad.status_code == 422 and "overlaps" in bad.text
    other_day = client.put(
        f"/api/v1/rosters/rad1/{day}",
        json={
            "sessions": [
                {
                    "start": "2026-12-02T08:00:00+00:00",
                    "end": "2026-12-02T12:00:00+00:00",
                    "kind": "core",
                }
            ]
        },
    )
    assert other_day.status_code == 422
    unknown = client.put(f"/api/v1/rosters/ghost/{day}", json={"sessions": sessions[:1]})
    assert unknown.status_code == 422
    kept = client.get(f"/api/v1/rosters?from={day}&to={day}").json()["items"]
    assert [s["kind"] for s in kept] == ["insourced"]  # the refused PUTs changed nothing
    assert client.put(f"/api/v1/rosters/rad1/{day}", json={"sessions": []}).json() == []
