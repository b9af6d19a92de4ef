"""The background sweeper of a running service predicts breaches and applies the policy."""

from __future__ import annotations

import time

from tests.conftest import LiveService
from tests.worklist.helpers import study


def test_the_running_service_predicts_and_recommends(live_service: LiveService) -> None:
    api = live_service.client
    for code in ("RXK", "RL4"):
        api.put(f"/api/v1/sites/{code}", json={"name": code, "network": "wm"}).raise_for_status()
    api.post("/api/v1/studies", json=[study("80.1"), study("80.2")]).raise_for_status()
    deadline = time.monotonic() + 20
    items: list[dict[str, object]] = []
    while time.monotonic() < deadline and len(items) < 2:
        items = api.get("/api/v1/predictions/breaches").json()["items"]
        time.sleep(0.2)
    assert {i["study_uid"] for i in items} == {"80.1", "80.2"}  # nobody on duty or rostered
    assert all(i["eligible_reporters"] == 0 for i in items)
    while time.monotonic() < deadline:
        if api.get("/api/v1/studies/80.1").json()["outsourcing_recommended"]:
            break
        time.sleep(0.2)
    events = api.get("/api/v1/studies/80.1").json()["events"]
    assert events[-1]["kind"] == "outsourcing-recommended"
