"""Grafana provisioning and dashboards: every panel's query names a metric the service exports."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import LiveService, bearer
from tests.worklist.helpers import study

GRAFANA = Path(__file__).parents[2] / "dashboards" / "grafana"
METRIC = re.compile(r"\bworklist_[a-z0-9_]+")
PROMQL_WORDS = {"worklist_"}


def _dashboards() -> list[Path]:
    found = sorted((GRAFANA / "dashboards").glob("*.json"))
    assert found, "no Grafana dashboards"
    return found


def _queries(board: dict[str, Any]) -> list[str]:
    exprs = [t["expr"] for p in board["panels"] for t in p.get("targets", [])]
    for var in board.get("templating", {}).get("list", []):
        query = var.get("query")
        exprs.append(query["query"] if isinstance(query, dict) else str(query or ""))
    return exprs


def _traffic(live: LiveService) -> None:
    """Something for every metric family: ingest, a reject, claims, completions, a hand-back,
    an outsourced study with a price, and a study waiting past its due time."""
    c = live.client
    c.put("/api/v1/sites/RXK", json={"name": "S", "network": "wm"}).raise_for_status()
    reporter = {"name": "R", "group": "radiologist", "home_site": "RXK", "sites": ["RXK"]}
    c.put("/api/v1/reporters/rad1", json=reporter).raise_for_status()
    provider = {"name": "P", "modalities": ["CT"], "price": {"CT": 40.0}}
    c.put("/api/v1/providers/p1", json=provider).raise_for_status()
    old = (datetime.now(UTC) - timedelta(days=9)).isoformat()
    items = [study(f"g{i}", acquired_at=old) for i in range(3)]
    items += [study("g-ct", modality="CT", body_part="HEAD", acquired_at=old), {"site": "NOPE"}]
    r = c.post("/api/v1/studies", json=items)
    r.raise_for_status()
    assert len(r.json()["rejected"]) == 1
    c.post("/api/v1/studies/g-ct/outsource", json={"provider": "p1"}).raise_for_status()
    me = bearer(live.token("reporter", "rad1"))
    with httpx.Client(base_url=live.url, headers=me) as rc:
        assert rc.post("/api/v1/sessions", json={"kind": "core"}).status_code == 201
        first = rc.post("/api/v1/worklist/next").json()
        rc.post(f"/api/v1/assignments/{first['assignment_id']}/complete").raise_for_status()
        second = rc.post("/api/v1/worklist/next").json()
        rc.post(
            f"/api/v1/assignments/{second['assignment_id']}/release", json={"reason": "priors"}
        ).raise_for_status()


def test_provisioning_files() -> None:
    ds = yaml.safe_load((GRAFANA / "provisioning" / "datasources" / "prometheus.yml").read_text())
    (source,) = ds["datasources"]
    assert (source["type"], source["url"], source["uid"]) == (
        "prometheus",
        "http://prometheus:9090",
        "prometheus",
    )
    providers = yaml.safe_load(
        (GRAFANA / "provisioning" / "dashboards" / "worklist.yml").read_text()
    )
    assert providers["providers"][0]["options"]["path"] == "/var/lib/grafana/dashboards"
    for path in _dashboards():
        board = json.loads(path.read_text())
        assert board["uid"] and board["title"] and board["panels"]
        for p in board["panels"]:
            assert p["datasource"]["uid"] == "prometheus", (path.name, p["title"])
            assert p["targets"], (path.name, p["title"])


@pytest.mark.parametrize("path", _dashboards(), ids=lambda p: p.stem)
def test_every_panel_queries_an_exported_metric(live_service: LiveService, path: Path) -> None:
    _traffic(live_service)
    text = httpx.get(f"{live_service.url}/metrics").text
    exported = {s.name for fam in text_string_to_metric_families(text) for s in fam.samples}
    board = json.loads(path.read_text())
    for expr in _queries(board):
        names = set(METRIC.findall(expr))
        assert names, f"{path.name}: query names no worklist metric: {expr}"
        missing = names - exported
        assert not missing, f"{path.name}: {sorted(missing)} not exported (query {expr!r})"
    breached = [s for fam in text_string_to_metric_families(text) for s in fam.samples
                if s.name == "worklist_breached_waiting"]  # fmt: skip
    assert breached and all("site" in s.labels for s in breached)
    assert not any("study" in k or "uid" in k for s in breached for k in s.labels)
