"""The operations snapshot (one JSON document), shared by the backlog endpoint and its stream."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from dashboards import backlog
from dashboards.periods import local_midnight
from dashboards.reading import reading


@dataclass(frozen=True)
class SnapshotParams:
    site: str | None = None
    horizon_minutes: int = 120
    limit: int = 50


def build(engine: Engine, tz_name: str, params: SnapshotParams) -> dict[str, Any]:
    """Every part of the ops page, computed now; waiting counts are as of ``as_of``."""
    now = datetime.now(UTC)
    tz = ZoneInfo(tz_name)
    today = now.astimezone(tz).date()
    horizon = timedelta(minutes=params.horizon_minutes)
    with reading(engine) as conn:
        return {
            "from": today.isoformat(),
            "to": today.isoformat(),
            "as_of": now.isoformat(),
            "timezone": tz_name,
            "horizon_minutes": params.horizon_minutes,
            "rows": backlog.by_bucket(conn, now, params.site),
            "ages": backlog.ages(conn, now, params.site),
            "at_risk": backlog.at_risk(conn, now, params.site, horizon, params.limit),
            "breached": backlog.breached(conn, now, params.site, params.limit),
            "throughput": backlog.throughput(conn, today, tz_name, now, params.site),
            "on_duty": backlog.on_duty(conn, local_midnight(today, tz)),
        }


@dataclass
class SnapshotCache:
    """Reuses a snapshot for a second or two, so many open ops pages cost one query set."""

    max_age: float = 1.5
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _entries: dict[SnapshotParams, tuple[float, dict[str, Any]]] = field(default_factory=dict)

    def get(self, engine: Engine, tz_name: str, params: SnapshotParams) -> dict[str, Any]:
        with self._lock:
            hit = self._entries.get(params)
            if hit is not None and time.monotonic() - hit[0] < self.max_age:
                return hit[1]
        snap = build(engine, tz_name, params)
        with self._lock:
            if len(self._entries) > 64:
                self._entries.clear()
            self._entries[params] = (time.monotonic(), snap)
        return snap
