"""The three pages in headless Chromium (Debian's), driving the real running service."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import LiveService
from tests.dashboards.helpers import reportable_codes
from tests.worklist.helpers import study

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).parents[2] / "test-artifacts"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        if os.environ.get("WORKLIST_TEST_REQUIRE_ALL") == "1":
            pytest.fail("/usr/bin/chromium is required (WORKLIST_TEST_REQUIRE_ALL=1)")
        pytest.skip("/usr/bin/chromium is absent: apt-get install chromium to run browser tests")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    try:
        yield pg
    finally:
        context.close()
    assert errors == [], errors


def shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def sign_in(page: Any, url: str, token: str) -> None:
    page.goto(url)
    page.get_by_label("Access token").fill(token)
    page.get_by_role("button", name="Sign in").click()
    page.locator("#app").wait_for(state="visible")


def seed(live: LiveService) -> None:
    c = live.client
    for code in ("RXK", "RL4"):
        c.put(
            f"/api/v1/sites/{code}", json={"name": f"Site {code}", "network": "wm"}
        ).raise_for_status()
    for rid, group in (("rad1", "radiologist"), ("rg1", "radiographer"), ("rg2", "radiographer")):
        scope = [{"modalities": ["CR", "DX"]}] if group == "radiographer" else []
        body = {"name": f"Reporter {rid}", "group": group, "home_site": "RXK",
                "sites": ["RXK", "RL4"], "scope": scope}  # fmt: skip
        c.put(f"/api/v1/reporters/{rid}", json=body).raise_for_status()
    provider = {"name": "TeleRad Co", "modalities": ["CT", "CR"], "price": {"CT": 40.0, "CR": 9.0}}
    c.put("/api/v1/providers/teleradco", json=provider).raise_for_status()


def post_studies(live: LiveService, items: list[dict[str, Any]]) -> None:
    r = live.client.post("/api/v1/studies", json=items)
    r.raise_for_status()
    assert r.json()["rejected"] == [], r.text


def test_reporter_pulls_completes_and_hands_back(live_service: LiveService, page: Any) -> None:
    seed(live_service)
    now = datetime.now(UTC)
    post_studies(live_service, [
        study("b-1", modality="CT", body_part="HEAD", description="CT Head",
              acquired_at=(now - timedelta(hours=2)).isoformat()),
        study("b-2", modality="CT", body_part="CHEST", description="CT Chest",
              acquired_at=(now - timedelta(hours=1)).isoformat()),
    ])  # fmt: skip
    sign_in(page, f"{live_service.url}/reporter", live_service.token("reporter", "rad1"))
    page.get_by_role("button", name="Start core session").click()
    page.get_by_text("In a core session since").wait_for()
    page.get_by_role("button", name="Next case").click()
    page.locator("#case-title").wait_for(state="visible")
    first = page.locator("#case-title").inner_text()
    assert page.locator("#case-reasons li").first.inner_text().startswith("It was the most urgent")
    shot(page, "reporter-case")
    page.get_by_role("button", name="Report complete").click()
    page.locator("#tally-cases", has_text="1").wait_for()
    assert page.locator("#case").is_hidden()

    page.get_by_role("button", name="Next case").click()
    page.locator("#case-title").wait_for(state="visible")
    second = page.locator("#case-title").inner_text()
    assert {first, second} == {"CT Head", "CT Chest"}
    page.get_by_label("Hand back because").select_option("Needs prior imaging")
    page.get_by_role("button", name="Hand back").click()
    page.locator("#tally-released", has_text="1").wait_for()
    assert page.locator("#case").is_hidden()
    shot(page, "reporter-after")

    statuses = {
        uid: live_service.client.get(f"/api/v1/studies/{uid}").json() for uid in ("b-1", "b-2")
    }
    reported = [s for s in statuses.values() if s["status"] == "reported"]
    assert len(reported) == 1 and reported[0]["description"] == first
    handed = next(s for s in statuses.values() if s["status"] == "unreported")
    assert any(e["kind"] == "released" and e["detail"]["reason"] == "Needs prior imaging"
               for e in handed["events"])  # fmt: skip


def test_pushed_hot_case_appears_at_once(live_service: LiveService, page: Any) -> None:
    seed(live_service)
    sign_in(page, f"{live_service.url}/reporter", live_service.token("reporter", "rad1"))
    page.get_by_role("button", name="Start core session").click()
    page.get_by_text("In a core session since").wait_for()
    post_studies(live_service, [
        study("hot-1", modality="CT", body_part="HEAD", description="CT Head stroke",
              urgency="stroke", patient_source="ed", acquired_at=datetime.now(UTC).isoformat()),
    ])  # fmt: skip
    alert = page.locator("#hot-alert")
    alert.wait_for(state="visible", timeout=10_000)
    assert "Hot case pushed to you" in alert.inner_text()
    assert page.locator("#case-title").inner_text() == "CT Head stroke"
    assert "pushed straight to you" in page.locator("#case-reasons").inner_text()


def test_ops_page_updates_live_and_outsources(live_service: LiveService, page: Any) -> None:
    seed(live_service)
    now = datetime.now(UTC)
    post_studies(live_service, [study("o-1", acquired_at=(now - timedelta(hours=1)).isoformat())])
    sign_in(page, f"{live_service.url}/ops", live_service.token("ops"))
    page.locator("#t-waiting", has_text="1").wait_for()
    page.locator("#stream-state", has_text="live").wait_for()

    post_studies(live_service, [
        study("o-2", site="RL4", modality="CT", body_part="HEAD", description="CT Head",
              urgency="urgent", patient_source="ed",
              acquired_at=(now - timedelta(minutes=30)).isoformat()),
    ])  # fmt: skip
    page.locator("#t-waiting", has_text="2").wait_for(timeout=10_000)  # no reload: pushed
    row = page.locator("#risk-rows tr", has_text="CT Head")
    row.wait_for()
    assert "RL4" in row.inner_text()
    shot(page, "ops-live")

    row.get_by_role("button", name=re.compile("Outsource")).click()
    page.get_by_label("Provider").select_option("teleradco")
    page.get_by_role("button", name="Send to provider").click()
    page.locator("#t-outsourced", has_text="1").wait_for(timeout=10_000)
    body = live_service.client.get("/api/v1/studies/o-2").json()
    assert body["status"] == "outsourced" and body["assignee"] == "teleradco"
    metrics = httpx.get(f"{live_service.url}/metrics").text
    assert 'worklist_outsourced_total{modality="CT",provider="teleradco",site="RL4"} 1.0' in metrics


def test_lead_page_shows_the_share(live_service: LiveService, page: Any) -> None:
    seed(live_service)
    now = datetime.now(UTC).replace(microsecond=0)
    plan = [("l1", "RXK", "rg1"), ("l2", "RXK", "rad1"), ("l3", "RXK", "rg2"),
            ("l4", "RL4", "rad1"), ("l5", "RL4", "rad1"), ("l6", "RL4", "rg1"),
            ("l7", "RL4", "rad1")]  # fmt: skip
    post_studies(live_service, [
        study(uid, site=site, acquired_at=(now - timedelta(minutes=50)).isoformat())
        for uid, site, _ in plan
    ])  # fmt: skip
    rg2 = {"Authorization": f"Bearer {live_service.token('reporter', 'rg2')}"}
    live_service.client.post("/api/v1/sessions", json={"kind": "core"}, headers=rg2)
    for uid, _, who in plan:  # reported while rg2 (CR/DX at both sites) is on duty
        r = live_service.client.post(
            f"/api/v1/studies/{uid}/report",
            json={"reported_at": datetime.now(UTC).isoformat(), "reporter": who},
        )
        r.raise_for_status()
    reportable = reportable_codes()
    assert all(
        live_service.client.get(f"/api/v1/studies/{uid}").json()["exam_code"] in reportable
        for uid, _, _ in plan
    )
    headroom = {site: sum(w == "rad1" for _, s, w in plan if s == site) for site in ("RXK", "RL4")}
    expected = {}
    for site in ("RXK", "RL4"):
        mine = [who for uid, s, who in plan if s == site]
        expected[site] = sum(w.startswith("rg") for w in mine) / len(mine)
    network = sum(w.startswith("rg") for _, _, w in plan) / len(plan)

    sign_in(page, f"{live_service.url}/lead", live_service.token("lead"))
    page.locator("#share-rows tr", has_text="RXK").wait_for()
    for site, share in expected.items():
        text = page.locator("#share-rows tr", has_text=site).inner_text()
        assert f"{share * 100:.1f}%" in text, (site, text)
    assert (
        f"{network * 100:.1f}%" in page.locator("#share-rows tr", has_text="Network").inner_text()
    )
    assert "below 40%" in page.locator("#share-rows tr", has_text="RL4").inner_text()
    assert "meets 50%" in page.locator("#share-rows tr", has_text="RXK").inner_text()
    assert page.locator("#share-chart svg[role=img]").count() == 1
    page.locator("#head-rows tr", has_text="RL4").wait_for()
    for site, n in [*headroom.items(), ("Network", sum(headroom.values()))]:
        cells = page.locator("#head-rows tr", has_text=site).locator("td")
        assert cells.nth(5).inner_text() == str(n), site  # others' reports, radiographer on duty
    network_sourcing = page.locator("#src-rows tr", has_text="Network").inner_text()
    assert network_sourcing.count("£0.00") == 3, network_sourcing  # priced, not a dash
    shot(page, "lead")


def test_pages_load_nothing_from_the_internet(live_service: LiveService, page: Any) -> None:
    outside: list[str] = []
    page.on(
        "request",
        lambda r: outside.append(r.url) if not r.url.startswith(live_service.url) else None,
    )
    for name in ("reporter", "ops", "lead"):
        page.goto(f"{live_service.url}/{name}")
        page.get_by_label("Access token").wait_for()
        page.keyboard.press("Tab")  # the skip link is first in keyboard order
        assert page.evaluate("document.activeElement.className") == "skip"
    assert outside == []
