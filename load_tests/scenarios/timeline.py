"""Seconds of the run with the most slow pulls, so a missed p99 says when it happened.

A Locust request listener counts every ``POST /api/v1/worklist/next``, and those over the p99
threshold, by the second (since the first pull's answer) in which its answer came; on
quitting it writes them, with that first answer's wall-clock time (so the runner can line
them up with what each process used the CPU for), to the JSON file named by
``WORKLIST_LOAD_TIMELINE`` (set by ``run_load``). Nothing is counted when the variable is
unset.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections import Counter
from pathlib import Path
from typing import Any

from load_tests import thresholds as t

ENV = "WORKLIST_LOAD_TIMELINE"


class PullTimeline:
    """Per-second counts of pulls and of pulls over ``limit_ms``."""

    def __init__(self, limit_ms: float) -> None:
        self.limit_ms = limit_ms
        self.started: float | None = None
        self.pulls: Counter[int] = Counter()
        self.slow: Counter[int] = Counter()

    def record(self, name: str, response_ms: float, now: float) -> None:
        """Count one answer; ``now`` is the wall-clock time (``time.time()``) it came."""
        if name != t.NEXT_NAME:
            return
        if self.started is None:
            self.started = now
        second = int(now - self.started)
        self.pulls[second] += 1
        if response_ms > self.limit_ms:
            self.slow[second] += 1

    def as_json(self) -> dict[str, Any]:
        return {
            "limit_ms": self.limit_ms,
            "started": self.started,
            "pulls": {str(k): v for k, v in sorted(self.pulls.items())},
            "slow": {str(k): v for k, v in sorted(self.slow.items())},
        }


def worst_seconds(data: dict[str, Any], n: int = 5) -> list[tuple[int, int, int]]:
    """(second, slow pulls, pulls) for the ``n`` seconds with the most slow pulls."""
    slow = {int(k): v for k, v in data["slow"].items()}
    pulls = {int(k): v for k, v in data["pulls"].items()}
    top = sorted(slow.items(), key=lambda kv: (-kv[1], kv[0]))[:n]
    return [(second, count, pulls.get(second, 0)) for second, count in top]


def split_by_stalls(
    data: dict[str, Any], stalls: list[tuple[float, float]], after_s: float = 1.0
) -> dict[str, int]:
    """Pulls and slow pulls in the seconds a stall (wall-clock start, end) touched, or the
    ``after_s`` after it (answers queued behind it come then), and in the rest of the run."""
    started = data.get("started")
    stalled: set[int] = set()
    if started is not None:
        for begin, end in stalls:
            first = math.floor(begin - started)
            last = math.floor(end + after_s - started)
            stalled.update(range(max(first, 0), last + 1))  # empty when it ended before
    pulls = {int(k): v for k, v in data["pulls"].items()}
    slow = {int(k): v for k, v in data["slow"].items()}
    return {
        "stalled_seconds": len(stalled & set(pulls)),
        "pulls_in_stalls": sum(v for k, v in pulls.items() if k in stalled),
        "slow_in_stalls": sum(v for k, v in slow.items() if k in stalled),
        "pulls_elsewhere": sum(v for k, v in pulls.items() if k not in stalled),
        "slow_elsewhere": sum(v for k, v in slow.items() if k not in stalled),
    }


def install(events: Any) -> None:
    """Hook the timeline into Locust's events when the runner asked for one."""
    path = os.environ.get(ENV)
    if not path:
        return
    timeline = PullTimeline(t.P99_MS[t.NEXT_NAME])

    def on_request(name: str, response_time: float, **_: Any) -> None:
        timeline.record(name, response_time, time.time())

    def on_quitting(**_: Any) -> None:
        Path(path).write_text(json.dumps(timeline.as_json()))

    events.request.add_listener(on_request)
    events.quitting.add_listener(on_quitting)
