"""Stored predictions are rewritten only when a reader would see a different answer: a pass
over an unchanged backlog writes nothing (on SQLite every write takes the lock claims wait
on), a real change rewrites exactly the rows it moved, and every pass is recorded."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from tests.conftest import bearer, mint
from tests.sourcing.helpers import network, pull_and_complete, reporter, services_of, session
from tests.worklist.helpers import study
from worklist.predictions.store import Tolerance, _changed
from worklist.sourcing.sweep import sourcing_pass

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
TOL = Tolerance(timedelta(minutes=5), 0.1)


def _row(start_h: float | None, breach: bool = False, eligible: int = 3) -> dict[str, Any]:
    at = None if start_h is None else NOW + timedelta(hours=start_h)
    return {
        "computed_at": NOW,
        "predicted_breach": breach,
        "eligible_reporters": eligible,
        "predicted_start": at,
        "predicted_finish": None if at is None else at + timedelta(minutes=20),
    }


def test_the_tolerance_grows_with_the_time_still_to_go() -> None:
    assert not TOL.moved(NOW + timedelta(hours=1), NOW + timedelta(hours=1, minutes=5), NOW)
    assert TOL.moved(NOW + timedelta(hours=1), NOW + timedelta(hours=1, minutes=7), NOW)
    # two days away: 10 % is 4.8 hours, so an hour's drift is not worth a write
    assert not TOL.moved(NOW + timedelta(days=2), NOW + timedelta(days=2, hours=1), NOW)
    assert TOL.moved(NOW + timedelta(days=2), NOW + timedelta(days=2, hours=5), NOW)
    assert TOL.moved(None, NOW, NOW) and TOL.moved(NOW, None, NOW)
    assert not TOL.moved(None, None, NOW)


def test_a_row_changes_when_a_reader_would_see_another_answer() -> None:
    assert _changed(None, _row(1.0), TOL)  # a new study
    assert not _changed(_row(1.0), _row(1.05), TOL)
    assert _changed(_row(1.0), _row(1.0, breach=True), TOL)
    assert _changed(_row(1.0), _row(1.0, eligible=4), TOL)
    assert _changed(_row(1.0), _row(None), TOL)
    assert _changed(_row(1.0), _row(2.0), TOL)


def _last_pass(client: TestClient) -> dict[str, Any]:
    ops = bearer(mint(client, "ops"))
    url = "/api/v1/predictions/breaches?only_breaching=false&limit=100"
    body = client.get(url, headers=ops).json()
    assert body["computed_at"] == body["last_pass"]["computed_at"]
    last: dict[str, Any] = body["last_pass"]
    last["items"] = {i["study_uid"]: i for i in body["items"]}
    return last


def test_an_unchanged_backlog_is_not_rewritten_and_a_change_is(client: TestClient) -> None:
    network(client)
    rad = reporter(client, "rad1")
    session(client, rad, "core")
    now = datetime.now(UTC)
    client.post(
        "/api/v1/studies",
        json=[
            study(
                f"42.{i}",
                modality="CT",
                body_part="CAP",
                exam_code="CTCAP",
                patient_source="inpatient",
                acquired_at=(now - timedelta(minutes=30 - i)).isoformat(),
            )
            for i in range(6)
        ],
    ).raise_for_status()
    services = services_of(client)

    sourcing_pass(services, now, force=True)
    first = _last_pass(client)
    assert (first["studies"], first["rows_written"], first["rows_removed"]) == (6, 6, 0)
    assert first["seconds"] >= 0

    # a minute later nothing has happened: every prediction is within the tolerance
    sourcing_pass(services, now + timedelta(minutes=1), force=True)
    second = _last_pass(client)
    assert (second["studies"], second["rows_written"], second["rows_removed"]) == (6, 0, 0)
    assert datetime.fromisoformat(second["computed_at"]) > datetime.fromisoformat(
        first["computed_at"]
    )
    assert second["items"] == first["items"]  # the stored rows are the first pass's

    # the reporter takes and reports the first case: it drops out, and each study behind it
    # starts one case (30 minutes of one reader) earlier, beyond the 5-minute tolerance
    reported = pull_and_complete(client, rad, 1)
    sourcing_pass(services, now + timedelta(minutes=2), force=True)
    third = _last_pass(client)
    assert third["rows_removed"] == 1 and third["studies"] == 5
    assert third["rows_written"] == 5
    assert reported[0] not in third["items"] and len(third["items"]) == 5
