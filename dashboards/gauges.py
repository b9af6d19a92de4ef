"""SQL read at scrape time for gauges that describe the database, not this process."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import Engine, func, select

from worklist.models import Study

STUDY = Study.__table__  # type: ignore[attr-defined]


def breached_waiting_rows(engine: Engine) -> Callable[[], list[tuple[str, str, str, int]]]:
    """(site, modality, urgency, count) of queued studies past due; uses ix_study_status_due."""

    def rows() -> list[tuple[str, str, str, int]]:
        s = STUDY.c
        query = (
            select(s.site, s.modality, s.urgency, func.count())
            .where(s.status.in_(("unreported", "claimed")), s.due_at < datetime.now(UTC))
            .group_by(s.site, s.modality, s.urgency)
        )
        with engine.connect() as conn:
            return [(a, b, c, int(n)) for a, b, c, n in conn.execute(query)]

    return rows
