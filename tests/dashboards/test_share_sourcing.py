"""Reporting share, its monthly trend, sourcing (with outsourcing cost) and headroom over HTTP."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient

from tests.conftest import bearer, mint
from tests.dashboards.helpers import get_study, ingest, report, reportable_codes, when
from tests.worklist.helpers import put_reporter, setup_network, study

LONDON = ZoneInfo("Europe/London")
RG_SCOPE = [{"modalities": ["CR", "DX"]}]


def _team(client: TestClient) -> None:
    setup_network(client)
    put_reporter(client, "rad1")
    put_reporter(client, "rad2")
    put_reporter(client, "rg1", group="radiographer", scope=RG_SCOPE)
    put_reporter(client, "rg2", group="radiographer", home_site="RL4", scope=RG_SCOPE)
    put_reporter(client, "reg1", group="registrar")


def _expected_share(
    reports: list[tuple[str, str, str]], groups: dict[str, str], sites: list[str]
) -> list[dict[str, Any]]:
    counts: dict[str, list[int]] = {s: [0, 0] for s in sites}
    for site, modality, reporter in reports:
        if modality not in ("CR", "DX"):
            continue
        counts[site][0] += 1
        counts[site][1] += groups.get(reporter) == "radiographer"
    total = [sum(c[0] for c in counts.values()), sum(c[1] for c in counts.values())]
    rows: list[tuple[str | None, int, int]] = [(s, counts[s][0], counts[s][1]) for s in sites]
    rows.append((None, total[0], total[1]))
    return [
        {"site": s, "reported": n, "by_radiographer": rg, "share": (rg / n if n else None)}
        for s, n, rg in rows
    ]


def test_reporting_share_by_site(client: TestClient) -> None:
    _team(client)
    groups = {"rad1": "radiologist", "rad2": "radiologist", "rg1": "radiographer",
              "rg2": "radiographer", "reg1": "registrar"}  # fmt: skip
    plan = [
        # site, modality, reporter, reported at (UTC)
        ("RXK", "CR", "rg1", "2026-03-10T09:00:00+00:00"),
        ("RXK", "DX", "rg1", "2026-03-10T10:00:00+00:00"),
        ("RXK", "CR", "rad1", "2026-03-10T11:00:00+00:00"),
        ("RXK", "CR", "EXT-RAD", "2026-03-10T12:00:00+00:00"),  # not a known reporter
        ("RL4", "DX", "rg2", "2026-03-10T13:00:00+00:00"),
        ("RL4", "CR", "reg1", "2026-03-10T14:00:00+00:00"),
        ("RL4", "CT", "rg2", "2026-03-10T15:00:00+00:00"),  # not plain X-ray
        ("RL4", "US", "rad2", "2026-03-10T16:00:00+00:00"),  # not plain X-ray
        ("RXK", "CR", "rg1", "2026-03-11T09:00:00+00:00"),  # outside the period
    ]
    ingest(
        client,
        [
            study(f"s{i}", site=site, modality=mod, acquired_at="2026-03-10T08:00:00+00:00")
            for i, (site, mod, _, _) in enumerate(plan)
        ],
    )
    ingest(client, [study("waiting-cr", acquired_at="2026-03-10T08:00:00+00:00")])
    for i, (_, _, reporter, at) in enumerate(plan):
        report(client, f"s{i}", when(at), reporter)

    r = client.get(
        "/api/v1/dashboards/reporting-share", params={"from": "2026-03-10", "to": "2026-03-10"}
    )
    assert r.status_code == 200, r.text
    body = r.json()
    in_period = [(s, m, who) for s, m, who, at in plan if at.startswith("2026-03-10")]
    expected = _expected_share(in_period, groups, ["RL4", "RRK", "RXK"])
    assert body["from"] == "2026-03-10" and body["to"] == "2026-03-10"
    assert len(body["rows"]) == len(expected)
    for got, exp in zip(body["rows"], expected, strict=True):
        assert got["site"] == exp["site"]
        assert (got["reported"], got["by_radiographer"]) == (
            exp["reported"],
            exp["by_radiographer"],
        )
        if exp["share"] is None:
            assert got["share"] is None
        else:
            assert abs(got["share"] - exp["share"]) < 1e-3
    assert body["rows"][-1] == {"site": None, "reported": 6, "by_radiographer": 3, "share": 0.5}
    assert next(r for r in body["rows"] if r["site"] == "RRK")["share"] is None


def test_reporting_share_monthly_trend(client: TestClient) -> None:
    _team(client)
    now = datetime.now(UTC).replace(microsecond=0)
    this_month = now.astimezone(LONDON).replace(day=1, hour=12, minute=0, second=0)
    last_month = (this_month - timedelta(days=1)).replace(day=2)
    plan = [
        ("m1", "RXK", "rg1", this_month),
        ("m2", "RXK", "rad1", this_month),
        ("m3", "RL4", "rg2", this_month),
        ("m4", "RXK", "rad1", last_month),
        ("m5", "RXK", "rad1", last_month),
        ("m6", "RXK", "rg1", last_month),
    ]
    acquired = (last_month - timedelta(hours=2)).astimezone(UTC).isoformat()
    ingest(client, [study(uid, site=site, acquired_at=acquired) for uid, site, _, _ in plan])
    for uid, _, who, at in plan:
        report(client, uid, min(at.astimezone(UTC), now), who)

    r = client.get("/api/v1/dashboards/reporting-share/monthly", params={"months": 2})
    assert r.status_code == 200, r.text
    body = r.json()
    expected: dict[tuple[str, str | None], list[int]] = defaultdict(lambda: [0, 0])
    for _, site, who, at in plan:
        label = at.strftime("%Y-%m")
        for key in ((label, site), (label, None)):
            expected[key][0] += 1
            expected[key][1] += who.startswith("rg")
    got = {
        (row["month"], row["site"]): [row["reported"], row["by_radiographer"]]
        for row in body["rows"]
    }
    assert got == dict(expected)
    assert body["from"] == last_month.replace(day=1).date().isoformat()
    totals = [row for row in body["rows"] if row["site"] is None]
    assert [t["month"] for t in totals] == [
        last_month.strftime("%Y-%m"),
        this_month.strftime("%Y-%m"),
    ]
    assert totals[0]["share"] == round(1 / 3, 4)
    assert client.get("/api/v1/dashboards/reporting-share/monthly?months=0").status_code == 422


def _pull(client: TestClient, token: str, kind: str) -> dict[str, Any]:
    assert (
        client.post("/api/v1/sessions", json={"kind": kind}, headers=bearer(token)).status_code
        == 201
    )
    r = client.post("/api/v1/worklist/next", headers=bearer(token))
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def test_sourcing_and_outsourcing_cost(client: TestClient) -> None:
    _team(client)
    provider = {"name": "TeleRad", "modalities": ["CT", "CR"], "price": {"CT": 40.0, "CR": 9.5}}
    assert client.put("/api/v1/providers/tr", json=provider).status_code in (200, 201)
    now = datetime.now(UTC).replace(microsecond=0)
    recent = (now - timedelta(minutes=30)).isoformat()
    ingest(client, [
        study("core-1", site="RXK", modality="CT", body_part="HEAD", acquired_at=recent),
        study("ins-1", site="RL4", modality="CR", acquired_at=recent),
        study("out-1", site="RXK", modality="CT", body_part="CHEST", acquired_at=recent),
        study("out-2", site="RL4", modality="CR", acquired_at=recent),
        study("ext-1", site="RRK", modality="CR", acquired_at=recent),
    ])  # fmt: skip
    for uid in ("out-1", "out-2"):
        r = client.post(f"/api/v1/studies/{uid}/outsource", json={"provider": "tr"})
        assert r.status_code == 200, r.text
    put_reporter(client, "rad1", sites=["RXK"], scope=[{"modalities": ["CT"]}])
    put_reporter(
        client, "rg2", group="radiographer", home_site="RL4", sites=["RL4"], scope=RG_SCOPE
    )
    core = _pull(client, mint(client, "reporter", "rad1"), "core")
    rg_token = mint(client, "reporter", "rg2")
    ins = _pull(client, rg_token, "insourced")
    assert {core["study"]["study_uid"], ins["study"]["study_uid"]} == {"core-1", "ins-1"}
    rad1 = mint(client, "reporter", "rad1")
    for token, claim in ((rad1, core), (rg_token, ins)):
        r = client.post(
            f"/api/v1/assignments/{claim['assignment_id']}/complete", headers=bearer(token)
        )
        assert r.status_code == 200, r.text
    for uid in ("out-1", "out-2", "ext-1"):
        report(client, uid, now, None)

    studies = {
        uid: get_study(client, uid) for uid in ("core-1", "ins-1", "out-1", "out-2", "ext-1")
    }
    r = client.get("/api/v1/dashboards/sourcing")
    assert r.status_code == 200, r.text
    rows = {row["site"]: row for row in r.json()["rows"]}
    expected: dict[str | None, dict[str, Any]] = defaultdict(
        lambda: {"n": Counter(), "wu": Counter(), "cost": 0.0}
    )
    for s in studies.values():
        price = next((e["detail"]["price"] for e in s["events"] if e["kind"] == "outsourced"), None)
        for site in (s["site"], None):
            if s["sourcing"]:
                expected[site]["n"][s["sourcing"]] += 1
                expected[site]["wu"][s["sourcing"]] += s["work_units"]
            expected[site]["cost"] += price or 0.0
    for site, exp in expected.items():
        row = rows[site]
        for kind in ("core", "insourced", "outsourced"):
            assert row[kind] == exp["n"][kind], (site, kind, row)
            assert row["work_units"][kind] == exp["wu"][kind], (site, kind, row)
        assert row["cost"]["outsourced"] == exp["cost"]
        assert row["cost"]["core"] is None and row["cost"]["insourced"] is None
    assert rows[None]["cost"]["outsourced"] == 49.5
    assert rows["RRK"]["unattributed"] == 1

    monthly = client.get("/api/v1/dashboards/sourcing/monthly", params={"months": 1}).json()
    label = now.astimezone(LONDON).strftime("%Y-%m")
    total = next(row for row in monthly["rows"] if row["site"] is None and row["month"] == label)
    assert (total["core"], total["insourced"], total["outsourced"]) == (1, 1, 2)
    assert total["cost"]["outsourced"] == 49.5


def test_headroom(client: TestClient) -> None:
    _team(client)
    plan = [
        ("h1", "CR", "CHEST", "rad1"),
        ("h2", "CR", "HAND", "rad2"),
        ("h3", "CR", "HAND", "rg1"),
        ("h4", "CT", "HEAD", "rad1"),
        ("h5", "CR", "KNEE", "reg1"),
    ]
    ingest(
        client,
        [
            study(u, modality=m, body_part=b, acquired_at="2026-02-02T08:00:00+00:00")
            for u, m, b, _ in plan
        ],
    )
    for uid, _, _, who in plan:
        report(client, uid, when("2026-02-02T12:00:00+00:00"), who)
    reportable = reportable_codes()
    exp: Counter[str] = Counter()
    wu = 0.0
    for uid, _, _, who in plan:
        s = get_study(client, uid)
        if s["exam_code"] in reportable:
            exp["all"] += 1
            exp[who[:3].rstrip("0123456789")] += 1
            wu += s["work_units"] if who.startswith("rad") else 0
    r = client.get("/api/v1/dashboards/headroom", params={"from": "2026-02-02", "to": "2026-02-02"})
    assert r.status_code == 200, r.text
    total = r.json()["rows"][-1]
    assert total["site"] is None
    assert total["reportable_reported"] == exp["all"]
    assert total["by_radiologist"] == exp["rad"]
    assert total["by_radiographer"] == exp["rg"]
    assert total["by_registrar"] == exp["reg"]
    assert total["radiologist_work_units"] == wu
    assert exp["rad"] >= 1  # the data really has headroom in it
