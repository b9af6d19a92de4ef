"""The load run's per-second record of slow pulls.

Locust itself is not imported here: it monkey-patches the whole process with gevent on import
(and is only installed by ``make load``). ``_Events`` has the two hooks ``install`` uses, with
Locust's ``add_listener`` / ``fire(**kwargs)`` calling convention.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from load_tests import thresholds as t
from load_tests.run_load import worst_seconds_line
from load_tests.scenarios import timeline


class _Hook:
    def __init__(self) -> None:
        self.listeners: list[Callable[..., None]] = []

    def add_listener(self, listener: Callable[..., None]) -> None:
        self.listeners.append(listener)

    def fire(self, **kwargs: Any) -> None:
        for listener in self.listeners:
            listener(**kwargs)


class _Events:
    def __init__(self) -> None:
        self.request = _Hook()
        self.quitting = _Hook()


def test_slow_pulls_are_counted_by_second_and_other_requests_ignored() -> None:
    record = timeline.PullTimeline(limit_ms=50)
    record.record(t.NEXT_NAME, 10, now=100.0)
    record.record(t.NEXT_NAME, 80, now=100.5)
    record.record("POST /api/v1/assignments/{id}/complete", 900, now=100.6)
    record.record(t.NEXT_NAME, 51, now=102.2)
    record.record(t.NEXT_NAME, 60, now=102.9)
    data = record.as_json()
    assert data["pulls"] == {"0": 2, "2": 2}
    assert data["slow"] == {"0": 1, "2": 2}
    assert timeline.worst_seconds(data) == [(2, 2, 2), (0, 1, 2)]


def test_the_summary_names_the_worst_seconds_or_says_there_were_none() -> None:
    assert worst_seconds_line(None).startswith("pulls by second: none recorded")
    quiet = {"limit_ms": 50.0, "pulls": {"0": 3}, "slow": {}}
    assert worst_seconds_line(quiet) == "pulls over 50 ms: none"
    busy = {"limit_ms": 50.0, "pulls": {"0": 40, "7": 90}, "slow": {"0": 12, "7": 3}}
    assert worst_seconds_line(busy) == (
        "pulls over 50 ms: 15; worst seconds of the load: s0: 12 of 40, s7: 3 of 90"
    )


def test_locust_events_feed_the_file_the_runner_reads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "timeline.json"
    monkeypatch.setenv(timeline.ENV, str(out))
    events = _Events()
    timeline.install(events)
    limit = t.P99_MS[t.NEXT_NAME]
    events.request.fire(request_type="POST", name=t.NEXT_NAME, response_time=limit + 1,
                        response_length=0, exception=None, context={})  # fmt: skip
    events.request.fire(request_type="POST", name=t.NEXT_NAME, response_time=1.0,
                        response_length=0, exception=None, context={})  # fmt: skip
    events.quitting.fire(environment=None)
    data = json.loads(out.read_text())
    assert sum(data["pulls"].values()) == 2
    assert sum(data["slow"].values()) == 1


def test_nothing_is_hooked_without_the_runner_asking(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(timeline.ENV, raising=False)
    events = _Events()
    timeline.install(events)
    assert not events.request.listeners and not events.quitting.listeners
