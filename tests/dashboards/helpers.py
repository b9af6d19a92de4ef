"""Builders and independent reference computations for the dashboard tests."""

from __future__ import annotations

import csv
import statistics
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

CATALOGUE = Path(__file__).parents[2] / "worklist" / "data" / "exam_catalogue.csv"


def ingest(client: TestClient, items: list[dict[str, Any]]) -> None:
    r = client.post("/api/v1/studies", json=items)
    assert r.status_code == 200, r.text
    assert r.json()["rejected"] == [], r.json()


def report(client: TestClient, uid: str, at: datetime, reporter: str | None) -> None:
    r = client.post(
        f"/api/v1/studies/{uid}/report", json={"reported_at": at.isoformat(), "reporter": reporter}
    )
    assert r.status_code == 200, r.text


def get_study(client: TestClient, uid: str) -> dict[str, Any]:
    r = client.get(f"/api/v1/studies/{uid}")
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def when(text: str) -> datetime:
    return datetime.fromisoformat(text)


def percentile_cont(values: list[float], p: float) -> float | None:
    """PostgreSQL's percentile_cont, by way of the standard library."""
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    if p == 0.5:
        return statistics.median(values)
    return statistics.quantiles(values, n=100, method="inclusive")[round(p * 100) - 1]


def reportable_codes() -> set[str]:
    with CATALOGUE.open() as f:
        return {
            row["code"] for row in csv.DictReader(f) if row["radiographer_reportable"] == "true"
        }
