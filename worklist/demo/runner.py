"""`worklist demo`: serve the seeded network, feed it studies, and let simulated reporters work.

Everything goes through the real HTTP API, exactly as a PACS feed and reporters would.
"""

from __future__ import annotations

import random
import secrets
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from pydantic import SecretStr

from worklist.app import create_app
from worklist.demo import seed
from worklist.embedded import serve_in_thread
from worklist.settings import Settings
from worklist.stopping import stop_event

RELEASE_REASONS = ["outside my competence", "needs prior imaging", "end of session"]


def seed_network(client: httpx.Client) -> None:
    """Idempotent: PUTs sites, reporters and providers through the API."""
    for code, name in seed.SITES.items():
        client.put(
            f"/api/v1/sites/{code}", json={"name": name, "network": seed.NETWORK}
        ).raise_for_status()
    for rid, body in seed.reporters().items():
        client.put(f"/api/v1/reporters/{rid}", json=body).raise_for_status()
    for pid, body in seed.PROVIDERS.items():
        client.put(f"/api/v1/providers/{pid}", json=body).raise_for_status()


def _mint(client: httpx.Client, role: str, reporter: str | None = None) -> str:
    body: dict[str, Any] = {"role": role, "label": "demo"}
    if reporter:
        body["reporter_id"] = reporter
    response = client.post("/api/v1/tokens", json=body)
    response.raise_for_status()
    token: str = response.json()["token"]
    return token


def _feed(base: str, token: str, rate: float, stop: threading.Event) -> None:
    from connectors.simulator import generate_studies

    sites = list(seed.SITES)
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}) as client:
        backlog = generate_studies(400, sites, datetime.now(UTC) - timedelta(hours=6), seed=1)
        client.post("/api/v1/studies", json=backlog, timeout=30)
        batch_seed = 2
        while not stop.wait(5.0):
            count = max(1, int(rate * 5))
            studies = generate_studies(
                count, sites, datetime.now(UTC) - timedelta(minutes=5), seed=batch_seed
            )
            batch_seed += 1
            try:
                client.post("/api/v1/studies", json=studies, timeout=30)
            except httpx.HTTPError:
                continue


def _reporter(base: str, token: str, kind: str, stop: threading.Event, rng: random.Random) -> None:
    """Pull, read for a while, then complete (or now and then hand back)."""
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}) as client:
        client.post("/api/v1/sessions", json={"kind": kind})
        while not stop.is_set():
            response = client.post("/api/v1/worklist/next")
            if response.status_code != 200:
                stop.wait(3.0)
                continue
            assignment = response.json()["assignment_id"]
            stop.wait(rng.uniform(2.0, 8.0))
            if rng.random() < 0.05:
                reason = rng.choice(RELEASE_REASONS)
                client.post(f"/api/v1/assignments/{assignment}/release", json={"reason": reason})
            else:
                client.post(f"/api/v1/assignments/{assignment}/complete")
        client.delete("/api/v1/sessions/current")


def _start_team(
    base: str, admin: httpx.Client, reporters: int, rate: float, stop: threading.Event
) -> tuple[dict[str, str], int, str, str]:
    """Mint tokens, start the feed and the simulated reporters; returns what to print."""
    tokens = {role: _mint(admin, role) for role in ("feed", "ops", "lead")}
    team = list(seed.reporters())
    working = random.Random(3).sample(team, k=min(reporters, len(team)))
    spare = next(r for r in team if r not in working)
    workers = [threading.Thread(target=_feed, args=(base, tokens["feed"], rate, stop), daemon=True)]
    for i, rid in enumerate(working):
        kind = "insourced" if i % 4 == 0 else "core"
        args = (base, _mint(admin, "reporter", rid), kind, stop, random.Random(i))
        workers.append(threading.Thread(target=_reporter, args=args, daemon=True))
    for worker in workers:
        worker.start()
    return tokens, len(team), spare, _mint(admin, "reporter", spare)


def run_demo(host: str, port: int, rate: float, reporters: int) -> int:
    """Serve the demo network until Ctrl-C or SIGTERM, printing where to look and the tokens
    to use. Either signal stops it cleanly: the embedded redis-server runs daemonized, and
    SIGTERM's default action would end this process and leave that server running."""
    admin_token = "wl_demo_admin_" + secrets.token_urlsafe(12)
    settings = Settings(admin_token=SecretStr(admin_token))
    stop = stop_event()
    headers = {"Authorization": f"Bearer {admin_token}"}
    with serve_in_thread(create_app(settings), host, port) as base:
        with httpx.Client(base_url=base, headers=headers, timeout=30) as admin:
            seed_network(admin)
            tokens, team_size, spare, spare_token = _start_team(base, admin, reporters, rate, stop)
        print(
            f"""
Worklist balancer demo is running at {base}
  network '{seed.NETWORK}': {len(seed.SITES)} sites, {team_size} reporters, \
{len(seed.PROVIDERS)} providers
  {min(reporters, team_size)} simulated reporters pull and complete cases; \
a feed adds ~{rate}/s studies

  Pages (sign in with a token below):
    Reporter:      {base}/reporter
    Operations:    {base}/ops
    Network lead:  {base}/lead
  API docs:        {base}/docs
  Metrics:         {base}/metrics
  Admin token:     {admin_token}
  Ops token:       {tokens["ops"]}
  Lead token:      {tokens["lead"]}
  Feed token:      {tokens["feed"]}
  Reporter token:  {spare_token}
                   (reporter {spare}, not simulated: pull cases yourself)

Try:
  curl -H 'Authorization: Bearer {admin_token}' {base}/api/v1/sites
  curl -H 'Authorization: Bearer {tokens["ops"]}' '{base}/api/v1/studies?status=claimed&limit=5'
  curl -X POST -H 'Authorization: Bearer {spare_token}' \\
       -H 'Content-Type: application/json' -d '{{"kind":"core"}}' {base}/api/v1/sessions
  curl -X POST -H 'Authorization: Bearer {spare_token}' {base}/api/v1/worklist/next

Ctrl-C stops it. Data lives in {settings.data_dir.resolve()}.""",
            flush=True,
        )
        stop.wait()
    return 0
