"""Reporting share, its monthly trend, sourcing (priced) and headroom over HTTP."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, select

from tests.conftest import bearer, mint
from tests.dashboards.helpers import get_study, ingest, report, reportable_codes, when
from tests.sourcing.helpers import services_of
from tests.worklist.helpers import put_reporter, setup_network, study
from worklist.models import OutsourcingOrder, Study

LONDON = ZoneInfo("Europe/London")
STUDY = Study.__table__  # type: ignore[attr-defined]
ORDER = OutsourcingOrder.__table__  # type: ignore[attr-defined]
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


def _put_rate(client: TestClient, kind: str, **body: Any) -> None:
    body.setdefault("effective_from", "2020-01-01T00:00:00+00:00")
    r = client.put(f"/api/v1/rates/{kind}", json=body)
    assert r.status_code == 200, r.text


def test_sourcing_and_its_cost(client: TestClient) -> None:
    """Counts, work units and money by sourcing: insourcing at the network rate, core free
    until a core rate exists, outsourcing at the provider's price when sent."""
    _team(client)
    prices = {"CT": 40.0, "CR": 9.5}
    provider = {"name": "TeleRad", "modalities": ["CT", "CR"], "price": prices}
    assert client.put("/api/v1/providers/tr", json=provider).status_code in (200, 201)
    insourcing_per_wu = 7.5  # radiographers' insourcing rate
    _put_rate(
        client, "insourcing", basis="work_unit", amount=insourcing_per_wu, group="radiographer"
    )
    _put_rate(client, "insourcing", basis="work_unit", amount=99.0, group="radiologist")  # unused
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

    def expected(core_cost_of: Any) -> dict[str | None, dict[str, Any]]:
        """What each site should show, from the studies and the prices the test set."""
        out: dict[str | None, dict[str, Any]] = defaultdict(
            lambda: {"n": Counter(), "wu": Counter(), "cost": Counter(), "unattributed": 0}
        )
        for s in studies.values():
            kind, wu = s["sourcing"], s["work_units"]
            cost = {
                "core": core_cost_of(wu),
                "insourced": insourcing_per_wu * wu,
                "outsourced": prices.get(s["modality"], 0.0),
                None: 0.0,
            }[kind]
            for site in (s["site"], None):
                if kind is None:
                    out[site]["unattributed"] += 1
                    continue
                out[site]["n"][kind] += 1
                out[site]["wu"][kind] += wu
                out[site]["cost"][kind] += cost
        return out

    def check(rows: dict[str | None, dict[str, Any]], exp: dict[str | None, Any]) -> None:
        assert set(rows) == {"RXK", "RL4", "RRK", None}
        for site, row in rows.items():
            for kind in ("core", "insourced", "outsourced"):
                assert row[kind] == exp[site]["n"][kind], (site, kind, row)
                assert row["work_units"][kind] == pytest.approx(exp[site]["wu"][kind])
                assert row["cost"][kind] == pytest.approx(exp[site]["cost"][kind]), (site, kind)
            assert row["unattributed"] == exp[site]["unattributed"], (site, row)

    def sourcing() -> dict[str | None, dict[str, Any]]:
        r = client.get("/api/v1/dashboards/sourcing")
        assert r.status_code == 200, r.text
        assert [row["site"] for row in r.json()["rows"]][-1] is None
        return {row["site"]: row for row in r.json()["rows"]}

    def month_total() -> dict[str, Any]:
        r = client.get("/api/v1/dashboards/sourcing/monthly", params={"months": 1})
        assert r.status_code == 200, r.text
        label = now.astimezone(LONDON).strftime("%Y-%m")
        rows = [row for row in r.json()["rows"] if row["month"] == label]
        assert rows[-1]["site"] is None
        return {row["site"]: row for row in rows}

    # core time is paid in job plans: 0 while there is no core rate
    free = expected(lambda wu: 0.0)
    check(sourcing(), free)
    assert sourcing()[None]["cost"] == {
        "core": 0.0,
        "insourced": pytest.approx(insourcing_per_wu * studies["ins-1"]["work_units"]),
        "outsourced": 49.5,
    }
    monthly = month_total()
    assert monthly[None]["cost"] == sourcing()[None]["cost"]
    assert (monthly[None]["core"], monthly[None]["insourced"], monthly[None]["outsourced"]) == (
        1,
        1,
        2,
    )
    assert "RRK" in monthly and monthly["RRK"]["unattributed"] == 1

    # a core rate per session: the core session had one report, so it carries the whole rate
    _put_rate(client, "core", basis="session", amount=120.0)
    charged = expected(lambda wu: 120.0)
    check(sourcing(), charged)
    assert sourcing()["RXK"]["cost"]["core"] == 120.0
    assert month_total()[None]["cost"] == sourcing()[None]["cost"]

    # a study sent before orders existed keeps the price recorded when it was sent
    with services_of(client).engine.begin() as conn:
        out_2 = select(STUDY.c.id).where(STUDY.c.study_uid == "out-2").scalar_subquery()
        assert conn.execute(delete(ORDER).where(ORDER.c.study_id == out_2)).rowcount == 1
    check(sourcing(), charged)


def test_headroom_needs_a_radiographer_on_duty(client: TestClient) -> None:
    """Reportable work others reported counts as headroom only while a radiographer who may
    report it (scope and site) was in a session."""
    _team(client)
    put_reporter(client, "rg1", group="radiographer", sites=["RXK"], scope=RG_SCOPE)
    rg1_sites, rg1_modalities = {"RXK"}, {"CR", "DX"}
    rg1 = mint(client, "reporter", "rg1")
    now = datetime.now(UTC).replace(microsecond=0)
    before = now - timedelta(hours=2)  # nobody on duty yet
    plan = [
        # uid, site, modality, body part, reporter, on duty window?
        ("h1", "RXK", "CR", "CHEST", "rad1", True),
        ("h2", "RXK", "CR", "HAND", "rad2", False),
        ("h3", "RXK", "CR", "HAND", "rg1", True),
        ("h4", "RXK", "CT", "HEAD", "rad1", True),  # not radiographer-reportable
        ("h5", "RXK", "CR", "KNEE", "reg1", True),
        ("h6", "RL4", "CR", "CHEST", "rad2", True),  # rg1 holds no credentials at RL4
        ("h7", "RXK", "DX", "CHEST", "EXT-RAD", True),  # a reporter the balancer does not know
    ]
    ingest(
        client,
        [
            study(
                u,
                site=site,
                modality=m,
                body_part=b,
                acquired_at=(before - timedelta(hours=1)).isoformat(),
            )
            for u, site, m, b, _, _ in plan
        ],
    )
    for uid, _, _, _, who, on_duty in plan:
        if not on_duty:
            report(client, uid, before, who)
    r = client.post("/api/v1/sessions", json={"kind": "core"}, headers=bearer(rg1))
    assert r.status_code == 201, r.text
    for uid, _, _, _, who, on_duty in plan:
        if on_duty:
            report(client, uid, datetime.now(UTC), who)

    reportable = reportable_codes()
    groups = {
        "rad1": "radiologist",
        "rad2": "radiologist",
        "reg1": "registrar",
        "rg1": "radiographer",
    }
    exp: dict[str | None, Counter[str]] = defaultdict(Counter)
    for uid, site, modality, _, who, on_duty in plan:
        s = get_study(client, uid)
        if s["exam_code"] not in reportable:
            continue
        group = groups.get(who, "other")
        could = (
            group != "radiographer" and on_duty and site in rg1_sites and modality in rg1_modalities
        )
        for key in (site, None):
            exp[key]["reportable_reported"] += 1
            exp[key][f"by_{group}"] += 1
            exp[key]["radiologist_work_units"] += s["work_units"] if group == "radiologist" else 0
            exp[key]["radiographer_on_duty"] += could
            exp[key]["headroom_work_units"] += s["work_units"] if could else 0
    assert exp[None]["radiographer_on_duty"] >= 2  # the data really has headroom in it
    assert exp[None]["reportable_reported"] > exp[None]["radiographer_on_duty"]

    params = {
        "from": (before - timedelta(hours=1)).isoformat(),
        "to": (datetime.now(UTC) + timedelta(minutes=1)).isoformat(),
    }
    r = client.get("/api/v1/dashboards/headroom", params=params)
    assert r.status_code == 200, r.text
    rows = r.json()["rows"]
    assert [row["site"] for row in rows] == [*sorted(k for k in exp if k is not None), None]
    for row in rows:
        e = exp[row["site"]]
        n = e["reportable_reported"]
        assert row["reportable_reported"] == n
        for key in ("by_radiologist", "by_registrar", "by_radiographer", "by_other"):
            assert row[key] == e[key], (row["site"], key)
        assert row["radiographer_on_duty"] == e["radiographer_on_duty"], row
        assert row["headroom_work_units"] == pytest.approx(e["headroom_work_units"])
        assert row["radiologist_work_units"] == pytest.approx(e["radiologist_work_units"])
        assert row["headroom_share"] == pytest.approx(e["radiographer_on_duty"] / n, abs=1e-4)
        assert row["radiologist_fraction"] == pytest.approx(e["by_radiologist"] / n, abs=1e-4)
    assert client.get("/api/v1/sourcing/headroom", params=params).status_code == 404
