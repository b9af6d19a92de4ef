"""Take the README screenshots (docs/screenshots/*.png) from a demo-like network.

    WORKLIST_TEST_REDIS_URL=redis://127.0.0.1:6379/14 \
        .venv/bin/python -m tests.dashboards.make_screenshots

Serves the app on port 8765 (temporary SQLite, the given Redis database, which it empties),
seeds the demo network through the API, backfills six months of reported studies (the past
can only be written through outside reports, so their core/insourced split is set in SQL),
puts today's work in flight through the real pull/complete API, and photographs the pages in
Debian's Chromium.
"""

from __future__ import annotations

import os
import random
import shutil
import sqlite3
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import redis
import uvicorn
from pydantic import SecretStr

from connectors.simulator import generate_studies
from tests.dashboards.test_browser import ARGS, CHROMIUM
from worklist.app import create_app
from worklist.demo import seed
from worklist.demo.runner import seed_network
from worklist.settings import Settings

OUT = Path(__file__).parents[2] / "docs" / "screenshots"
ADMIN = "screenshots-admin-token"


def _serve(tmp: Path, redis_url: str) -> tuple[str, uvicorn.Server, threading.Thread]:
    settings = Settings(
        data_dir=tmp,
        database_url=f"sqlite:///{tmp / 'demo.db'}",
        redis_url=redis_url,
        admin_token=SecretStr(ADMIN),
        patient_hash_key=SecretStr("screenshots"),
        log_level="WARNING",
    )
    port = 8765
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_config=None)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            if httpx.get(f"{url}/readyz", timeout=0.5).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.2)
    return url, server, thread


def _history(admin: httpx.Client, rng: random.Random, now: datetime) -> list[dict[str, Any]]:
    team = seed.reporters()
    rgs = [r for r, b in team.items() if b["group"] == "radiographer"]
    rads = [r for r, b in team.items() if b["group"] == "radiologist"]
    sites = list(seed.SITES)
    share = {s: 0.22 + 0.34 * i / (len(sites) - 1) for i, s in enumerate(sites)}
    studies = generate_studies(5000, sites, now - timedelta(days=180), seed=11, per_day=27)
    studies = [
        s for s in studies if datetime.fromisoformat(s["acquired_at"]) < now - timedelta(days=1)
    ]
    for i in range(0, len(studies), 500):
        admin.post("/api/v1/studies", json=studies[i : i + 500], timeout=60).raise_for_status()
    outsourced = [s for s in studies if s["modality"] in ("CT", "MR") and rng.random() < 0.25]
    for s in outsourced:
        admin.post(f"/api/v1/studies/{s['study_uid']}/outsource", json={"provider": "teleradco"})
    gone = {s["study_uid"] for s in outsourced}
    reports = []
    for s in studies:
        acquired = datetime.fromisoformat(s["acquired_at"])
        done = min(
            acquired + timedelta(minutes=rng.lognormvariate(5.0, 1.0)), now - timedelta(hours=1)
        )
        xray = s["modality"] in ("CR", "DX")
        month_push = (acquired - (now - timedelta(days=180))).days / 180 * 0.12
        if s["study_uid"] in gone:
            who = "teleradco"
        elif xray and rng.random() < share[s["site"]] + month_push:
            who = rng.choice(rgs)
        else:
            who = rng.choice(rads)
        reports.append(
            {"study_uid": s["study_uid"], "reported_at": done.isoformat(), "reporter": who}
        )
    for i in range(0, len(reports), 500):
        admin.post("/api/v1/reports", json=reports[i : i + 500], timeout=60).raise_for_status()
    return studies


def _label_sourcing(db: Path, rng: random.Random) -> None:
    """History came in as outside reports: give the in-network ones a core/insourced split."""
    with sqlite3.connect(db) as conn:
        ids = [r[0] for r in conn.execute(
            "SELECT id FROM study WHERE status = 'reported' AND sourcing IS NULL"
        )]  # fmt: skip
        conn.executemany(
            "UPDATE study SET sourcing = ? WHERE id = ?",
            [("insourced" if rng.random() < 0.18 else "core", i) for i in ids],
        )


def _today(url: str, admin: httpx.Client, rng: random.Random, now: datetime) -> str:
    sites = list(seed.SITES)
    today = generate_studies(420, sites, now - timedelta(hours=9), seed=12, per_day=1100)
    today = [s for s in today if datetime.fromisoformat(s["acquired_at"]) < now]
    admin.post("/api/v1/studies", json=today, timeout=60).raise_for_status()
    early = [
        s for s in today if datetime.fromisoformat(s["acquired_at"]) < now - timedelta(hours=2)
    ]
    rng.shuffle(early)
    reports = []
    for s in early[: len(early) * 2 // 3]:
        acquired = datetime.fromisoformat(s["acquired_at"])
        done = min(acquired + timedelta(minutes=rng.uniform(20, 150)), now - timedelta(minutes=5))
        reports.append(
            {"study_uid": s["study_uid"], "reported_at": done.isoformat(), "reporter": "rad001"}
        )
    admin.post("/api/v1/reports", json=reports, timeout=60).raise_for_status()
    working = ["rad002", "rad005", "rad009", "rg001", "rg003", "rg008", "reg002", "rad014"]
    for i, rid in enumerate(working):
        token = admin.post("/api/v1/tokens", json={"role": "reporter", "reporter_id": rid}).json()[
            "token"
        ]
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}) as me:
            me.post("/api/v1/sessions", json={"kind": "insourced" if i % 3 == 0 else "core"})
            for _ in range(rng.randint(1, 4)):
                got = me.post("/api/v1/worklist/next")
                if got.status_code == 200:
                    me.post(f"/api/v1/assignments/{got.json()['assignment_id']}/complete")
            me.post("/api/v1/worklist/next")
    token = admin.post("/api/v1/tokens", json={"role": "reporter", "reporter_id": "rad003"}).json()[
        "token"
    ]
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}) as me:
        me.post("/api/v1/sessions", json={"kind": "core"})
        for _ in range(3):
            got = me.post("/api/v1/worklist/next").json()
            me.post(f"/api/v1/assignments/{got['assignment_id']}/complete")
        me.post("/api/v1/worklist/next")
    return str(token)


def main() -> int:
    from playwright.sync_api import sync_playwright

    redis_url = os.environ.get("WORKLIST_TEST_REDIS_URL", "redis://127.0.0.1:6379/14")
    redis.Redis.from_url(redis_url).flushdb()
    tmp = Path(tempfile.mkdtemp(prefix="wl-shots-"))
    url, server, thread = _serve(tmp, redis_url)
    rng = random.Random(5)
    now = datetime.now(UTC)
    try:
        auth = {"Authorization": f"Bearer {ADMIN}"}
        with httpx.Client(base_url=url, headers=auth, timeout=60) as admin:
            seed_network(admin)
            _history(admin, rng, now)
            _label_sourcing(tmp / "demo.db", rng)
            reporter = _today(url, admin, rng, now)
            ops = admin.post("/api/v1/tokens", json={"role": "ops"}).json()["token"]
            lead = admin.post("/api/v1/tokens", json={"role": "lead"}).json()["token"]
        OUT.mkdir(parents=True, exist_ok=True)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
            for name, token, ready in (
                ("reporter", reporter, "#case-title"),
                ("ops", ops, "#risk-rows tr"),
                ("lead", lead, "#share-rows tr"),
            ):
                page = browser.new_page(viewport={"width": 1280, "height": 1000})
                page.goto(f"{url}/{name}")
                page.get_by_label("Access token").fill(token)
                page.get_by_role("button", name="Sign in").click()
                page.locator(ready).first.wait_for()
                page.wait_for_timeout(1500)
                page.screenshot(path=str(OUT / f"{name}.png"))
                page.close()
            browser.close()
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"wrote {', '.join(str(p) for p in sorted(OUT.glob('*.png')))}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
