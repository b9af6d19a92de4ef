"""A simulated week through the API: known sessions, rosters, rates and provider prices.

Each day runs on the real clock through the HTTP API (sessions, pulls, completions,
outsourcing, reports back), then that day's records are moved to 10:00 on its day of the
week. The test keeps its own ledger of what each report should cost, from the scenario's
rules, and compares the sourcing rows, the radiographer share and the headroom with it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from tests.conftest import bearer, mint
from tests.sourcing.helpers import (
    end_session,
    network,
    provider,
    pull_and_complete,
    reporter,
    session,
    shift,
)
from tests.worklist.helpers import study

LONDON = ZoneInfo("Europe/London")
CT_HEAD = {"modality": "CT", "body_part": "HEAD"}
CT_CAP = {"modality": "CT", "body_part": "CAP", "exam_code": "CTCAP"}
CR = {"modality": "CR", "body_part": "CHEST"}
RADIOLOGIST_RATE = {10.0: 0, 12.0: 5}  # per work unit, from day (the rate changes on day 5)
RADIOGRAPHER_SESSION = 300.0  # per insourced session, radiographers' group rate
ROSTERED_SESSION = 200.0  # regD's rostered session carries its own rate


@dataclass
class Report:
    day: int
    site: str
    sourcing: str
    wu: float
    cost: float
    reporter_group: str | None
    plain_film: bool


class Week:
    """Drives the days and keeps the ledger."""

    def __init__(self, client: TestClient, start: date) -> None:
        self.client = client
        self.start = start
        self.ledger: list[Report] = []
        self.n = 0
        self.ops = bearer(mint(client, "ops"))
        self.feed = bearer(mint(client, "feed"))

    def at(self, day: int, clock: time = time(10)) -> datetime:
        return datetime.combine(self.start + timedelta(days=day), clock, tzinfo=LONDON)

    def ingest(self, site: str, kind: dict[str, Any], count: int) -> list[str]:
        uids = []
        for _ in range(count):
            self.n += 1
            uids.append(f"60.{self.n}")
        items = [study(u, site=site, patient_source="outpatient", **kind) for u in uids]
        assert self.client.post("/api/v1/studies", json=items).json()["created"] == count
        return uids

    def wu(self, uid: str) -> float:
        return float(self.client.get(f"/api/v1/studies/{uid}").json()["work_units"])

    def site(self, uid: str) -> str:
        return str(self.client.get(f"/api/v1/studies/{uid}").json()["site"])

    def record(
        self, day: int, uids: list[str], sourcing: str, group: str | None, cost_of: Any
    ) -> None:
        total = sum(self.wu(u) for u in uids)
        for u in uids:
            detail = self.client.get(f"/api/v1/studies/{u}").json()
            assert detail["status"] == "reported" and detail["sourcing"] == sourcing, u
            self.ledger.append(
                Report(
                    day,
                    detail["site"],
                    sourcing,
                    self.wu(u),
                    cost_of(self.wu(u), total),
                    group,
                    detail["modality"] in ("CR", "DX"),
                )
            )

    def outsource_and_return(self, uids: list[str]) -> None:
        for u in uids:
            r = self.client.post(
                f"/api/v1/studies/{u}/outsource", json={"provider": "tele"}, headers=self.ops
            )
            assert r.status_code == 200, r.text
        back = [{"study_uid": u, "reported_at": datetime.now(UTC).isoformat()} for u in uids]
        assert self.client.post("/api/v1/reports", json=back, headers=self.feed).is_success

    def move(self, day: int, uids: list[str], began: datetime) -> None:
        shift(self.client, uids, self.at(day) - began)


def radiologist_wu_rate(day: int) -> float:
    return max(rate for rate, since in RADIOLOGIST_RATE.items() if day >= since)


@pytest.fixture
def week(client: TestClient) -> Week:
    network(client)
    provider(client, "tele", price={"CT": 40.0, "CR": 8.0}, tat_hours=72)
    start = datetime.now(LONDON).date() - timedelta(days=14)
    w = Week(client, start)
    long_ago = w.at(-30).isoformat()
    assert client.put(
        "/api/v1/rates/insourcing",
        json={"basis": "work_unit", "amount": 10.0, "effective_from": long_ago},
    ).is_success
    assert client.put(
        "/api/v1/rates/insourcing",
        json={"basis": "work_unit", "amount": 12.0, "effective_from": w.at(5, time(0)).isoformat()},
    ).is_success
    assert client.put(
        "/api/v1/rates/insourcing",
        json={
            "basis": "session",
            "amount": RADIOGRAPHER_SESSION,
            "group": "radiographer",
            "effective_from": long_ago,
        },
    ).is_success
    roster = (
        "reporter_id,date,start,end,kind,rate,rate_basis\n"
        f"regD,{start + timedelta(days=2)},09:00,13:00,insourced,{ROSTERED_SESSION},session\n"
    )
    reporter(client, "regD", group="registrar")
    imported = client.post(
        "/api/v1/rosters/import", content=roster, headers={**w.ops, "Content-Type": "text/csv"}
    ).json()
    assert imported["created"] == 1, imported
    return w


def test_a_week_of_sourcing_costs_shares_and_headroom(client: TestClient, week: Week) -> None:
    w = week
    rad_a = reporter(client, "radA")
    rad_b = reporter(client, "radB", home_site="RL4")
    rg_c = reporter(
        client, "rgC", group="radiographer", scope=[{"modalities": ["CR", "DX"], "min_age": 16}]
    )
    reg_d = bearer(mint(client, "reporter", "regD"))
    free = lambda wu, total: 0.0  # noqa: E731  (core time is paid in job plans)

    # day 0: core sessions
    began = datetime.now(UTC)
    a = w.ingest("RXK", CT_CAP, 3)
    b = w.ingest("RL4", CR, 4)
    session(client, rad_a, "core")
    assert sorted(pull_and_complete(client, rad_a, 3)) == sorted(a)
    end_session(client, rad_a)
    session(client, rg_c, "core")
    assert sorted(pull_and_complete(client, rg_c, 4)) == sorted(b)
    end_session(client, rg_c)
    w.move(0, a + b, began)
    w.record(0, a, "core", "radiologist", free)
    w.record(0, b, "core", "radiographer", free)

    # day 1: insourcing -- a radiographer paid per session, a radiologist per work unit
    began = datetime.now(UTC)
    a = w.ingest("RXK", CR, 5)
    session(client, rg_c, "insourced")
    assert len(pull_and_complete(client, rg_c, 5)) == 5
    end_session(client, rg_c)
    b = w.ingest("RL4", CT_HEAD, 2)
    session(client, rad_a, "insourced")
    assert len(pull_and_complete(client, rad_a, 2)) == 2
    end_session(client, rad_a)
    w.move(1, a + b, began)
    w.record(1, a, "insourced", "radiographer", lambda wu, t: RADIOGRAPHER_SESSION * wu / t)
    w.record(1, b, "insourced", "radiologist", lambda wu, t: radiologist_wu_rate(1) * wu)

    # day 2: the registrar's rostered insourced session, its own rate split by work units
    began = datetime.now(UTC)
    a = w.ingest("RXK", CT_HEAD, 2) + w.ingest("RL4", CR, 2)
    session(client, reg_d, "insourced")
    assert len(pull_and_complete(client, reg_d, 4)) == 4
    end_session(client, reg_d)
    w.move(2, a, began)
    w.record(2, a, "insourced", "registrar", lambda wu, t: ROSTERED_SESSION * wu / t)

    # day 3: outsourcing at 40; afterwards the provider's CT price goes up to 45
    began = datetime.now(UTC)
    a = w.ingest("RXK", CT_HEAD, 2)
    w.outsource_and_return(a)
    w.move(3, a, began)
    w.record(3, a, "outsourced", None, lambda wu, t: 40.0)
    provider(client, "tele", price={"CT": 45.0, "CR": 8.0}, tat_hours=72)

    # day 4: outsourcing at the new price; core plain film with no radiographer on duty
    began = datetime.now(UTC)
    a = w.ingest("RL4", CT_HEAD, 2)
    w.outsource_and_return(a)
    b = w.ingest("RL4", CR, 2)
    session(client, rad_b, "core")
    assert len(pull_and_complete(client, rad_b, 2)) == 2
    end_session(client, rad_b)
    w.move(4, a + b, began)
    w.record(4, a, "outsourced", None, lambda wu, t: 45.0)
    w.record(4, b, "core", "radiologist", free)

    # day 5: the radiologists' insourcing rate changed at midnight
    began = datetime.now(UTC)
    a = w.ingest("RXK", CT_CAP, 1)
    session(client, rad_a, "insourced")
    assert pull_and_complete(client, rad_a, 1) == a
    end_session(client, rad_a)
    w.move(5, a, began)
    w.record(5, a, "insourced", "radiologist", lambda wu, t: radiologist_wu_rate(5) * wu)

    # day 6: a radiologist reports a chest X-ray while a radiographer is on duty (headroom)
    began = datetime.now(UTC)
    a = w.ingest("RXK", CR, 4)
    session(client, rg_c, "core")
    by_rg = pull_and_complete(client, rg_c, 3)
    session(client, rad_a, "core")
    by_rad = pull_and_complete(client, rad_a, 1)
    assert len(by_rg) == 3 and len(by_rad) == 1
    end_session(client, rg_c)
    end_session(client, rad_a)
    w.move(6, a, began)
    w.record(6, by_rg, "core", "radiographer", free)
    w.record(6, by_rad, "core", "radiologist", free)

    # --- the sourcing rows for the week, against the ledger -----------------------------
    lead = bearer(mint(client, "lead"))
    first, last = w.start.isoformat(), (w.start + timedelta(days=6)).isoformat()
    answer = client.get(f"/api/v1/dashboards/sourcing?from={first}&to={last}", headers=lead)
    assert answer.status_code == 200, answer.text
    assert (answer.json()["from"], answer.json()["to"]) == (first, last)
    rows = {r["site"]: r for r in answer.json()["rows"]}
    assert set(rows) == {"RXK", "RL4", "RRK", None}
    expected: dict[str | None, dict[str, Any]] = defaultdict(
        lambda: {"n": defaultdict(int), "wu": defaultdict(float), "cost": defaultdict(float)}
    )
    for rep in w.ledger:
        for key in (rep.site, None):
            expected[key]["n"][rep.sourcing] += 1
            expected[key]["wu"][rep.sourcing] += rep.wu
            expected[key]["cost"][rep.sourcing] += rep.cost
    for site, row in rows.items():
        exp = expected[site]
        for kind in ("core", "insourced", "outsourced"):
            assert row[kind] == exp["n"][kind], (site, kind)
            assert row["work_units"][kind] == pytest.approx(exp["wu"][kind]), (site, kind)
            assert row["cost"][kind] == pytest.approx(exp["cost"][kind], abs=0.01), (site, kind)
    total = rows[None]
    assert total["cost"]["insourced"] == pytest.approx(300 + 60 + 200 + 72)
    assert total["cost"]["outsourced"] == pytest.approx(2 * 40 + 2 * 45)
    assert total["cost"]["core"] == 0.0
    shares = {
        k: total[k] / sum(total[x] for x in ("core", "insourced", "outsourced"))
        for k in ("core", "insourced", "outsourced")
    }
    assert shares["outsourced"] == pytest.approx(4 / len(w.ledger))

    # one day on its own: day 3's outsourcing kept its price after the change
    day3 = (w.start + timedelta(days=3)).isoformat()
    only = client.get(f"/api/v1/dashboards/sourcing?from={day3}&to={day3}").json()["rows"][-1]
    assert only["outsourced"] == 2 and only["cost"]["outsourced"] == 80.0
    assert only["core"] == only["insourced"] == 0

    # --- radiographer share of plain film (API.md's dashboard), against the ledger -------
    share = client.get(f"/api/v1/dashboards/reporting-share?from={first}&to={last}").json()
    by_site = {r["site"]: r for r in share["rows"]}
    for site in ("RXK", "RL4", None):
        films = [r for r in w.ledger if r.plain_film and site in (None, r.site)]
        mine = [r for r in films if r.reporter_group == "radiographer"]
        assert by_site[site]["reported"] == len(films)
        assert by_site[site]["by_radiographer"] == len(mine)
        assert by_site[site]["share"] == pytest.approx(len(mine) / len(films), abs=1e-3)

    # --- headroom: only day 6's chest X-ray had a radiographer on duty --------------------
    room = client.get(f"/api/v1/dashboards/headroom?from={first}&to={last}", headers=lead).json()
    net = room["rows"][-1]
    films = [r for r in w.ledger if r.plain_film]
    assert net["site"] is None and net["reportable_reported"] == len(films)
    assert net["by_radiographer"] == sum(r.reporter_group == "radiographer" for r in films)
    assert net["radiographer_on_duty"] == 1 and net["headroom_work_units"] == 1.0
    rxk = next(r for r in room["rows"] if r["site"] == "RXK")
    assert rxk["radiographer_on_duty"] == 1
    assert net["by_radiographer"] + net["by_radiologist"] + net["by_registrar"] == len(films)
    assert net["headroom_share"] == pytest.approx(1 / len(films), abs=1e-4)

    # --- the same rows by local month (the lead page's trend), against the ledger ---------
    monthly = client.get("/api/v1/dashboards/sourcing/monthly?months=2", headers=lead).json()
    by_month: dict[tuple[str, str | None], dict[str, Any]] = defaultdict(
        lambda: {"n": defaultdict(int), "cost": defaultdict(float)}
    )
    for rep in w.ledger:
        label = (w.start + timedelta(days=rep.day)).strftime("%Y-%m")
        for key in ((label, rep.site), (label, None)):
            by_month[key]["n"][rep.sourcing] += 1
            by_month[key]["cost"][rep.sourcing] += rep.cost
    got = {(r["month"], r["site"]): r for r in monthly["rows"]}
    for key, exp in by_month.items():
        for kind in ("core", "insourced", "outsourced"):
            assert got[key][kind] == exp["n"][kind], (key, kind)
            assert got[key]["cost"][kind] == pytest.approx(exp["cost"][kind], abs=0.01), key
    assert sum(r["cost"]["insourced"] for r in monthly["rows"] if r["site"] is None) == (
        pytest.approx(total["cost"]["insourced"])
    )

    rg = bearer(mint(client, "reporter", "rgC"))
    assert client.get("/api/v1/dashboards/sourcing", headers=rg).status_code == 403
    assert client.get("/api/v1/sourcing/costs", headers=lead).status_code == 404
