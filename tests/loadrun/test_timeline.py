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
from load_tests.run_load import disk_stall_line, worst_seconds_line
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


def test_slow_pulls_are_split_by_the_seconds_the_disk_stalled() -> None:
    """A stall marks the seconds it touched and the one after (answers queued behind it);
    the rest of the run is counted apart, so a tail made by the disk is told from one that
    is not."""
    record = timeline.PullTimeline(limit_ms=50)
    for second, answers in enumerate([(10, 0), (10, 0), (10, 9), (10, 4), (10, 1), (10, 0)]):
        pulls, slow = answers
        for i in range(pulls):
            record.record(t.NEXT_NAME, 80 if i < slow else 5, 1000.0 + second + 0.5)
    data = record.as_json()  # started at 1000.5: second k is [1000.5 + k, 1001.5 + k)
    stall = (1002.6, 1003.2)  # an fsync of 600 ms, in second 2, ending in second 2
    split = timeline.split_by_stalls(data, [stall])
    assert split == {
        "stalled_seconds": 2,  # seconds 2 and 3 (the second after the stall's end)
        "pulls_in_stalls": 20,
        "slow_in_stalls": 13,
        "pulls_elsewhere": 40,
        "slow_elsewhere": 1,
    }
    assert timeline.split_by_stalls(data, [])["slow_elsewhere"] == 14
    # a stall that ended more than a second before the first answer touches no second
    assert timeline.split_by_stalls(data, [(998.0, 999.2)])["stalled_seconds"] == 0
    line = disk_stall_line(split, 50)
    assert line is not None and "13 of their 20" in line and "1 of 40 (2.50%)" in line
    assert disk_stall_line(timeline.split_by_stalls(data, []), 50) is None
