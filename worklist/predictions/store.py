"""Keep the stored predictions in step with a fresh pass, writing only what moved.

A pass predicts every waiting study, but between two passes most predictions barely move. On
SQLite every write takes the database's one write lock, and a reporter's claim waits behind
it, so rewriting a 40,000-study backlog each minute put seconds of lock time in the claim
path. A row is rewritten only when a reader would see a different answer: the breach flag,
the pool size, whether a start is known, or a start or finish moved by more than the
tolerance (``prediction_tolerance_minutes``, widened to ``prediction_tolerance_share`` of
the time still to go, so a start days away is not rewritten for a few minutes' drift).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, delete, insert, select

from worklist.db import BACKGROUND_WRITE_ROWS
from worklist.models import BreachPrediction, PredictionPass
from worklist.pacing import paced_chunks

TABLE: Any = BreachPrediction.__table__  # type: ignore[attr-defined]
PASS: Any = PredictionPass.__table__  # type: ignore[attr-defined]
WRITE_CHUNK = BACKGROUND_WRITE_ROWS  # rows per transaction (a module name the tests can lower)


@dataclass(frozen=True)
class Tolerance:
    """How far a predicted time may drift before its row is rewritten."""

    minimum: timedelta
    share: float

    def moved(self, old: datetime | None, new: datetime | None, now: datetime) -> bool:
        if old is None or new is None:
            return (old is None) != (new is None)
        allowed = max(self.minimum, (old - now) * self.share)
        return abs(new - old) > allowed


@dataclass(frozen=True)
class Written:
    rows_written: int
    rows_removed: int


def _changed(old: Mapping[Any, Any] | None, new: Mapping[str, Any], tol: Tolerance) -> bool:
    if old is None:
        return True
    now = new["computed_at"]
    return (
        bool(old["predicted_breach"]) != new["predicted_breach"]
        or old["eligible_reporters"] != new["eligible_reporters"]
        or tol.moved(old["predicted_start"], new["predicted_start"], now)
        or tol.moved(old["predicted_finish"], new["predicted_finish"], now)
    )


def _in_chunks(engine: Engine, ids: Sequence[int], rows: Sequence[Mapping[str, Any]]) -> None:
    """Delete ``ids`` and insert ``rows`` (same study ids, or none), a chunk per transaction:
    readers always see at most one row per study."""
    by_id = {r["study_id"]: r for r in rows}
    for chunk in paced_chunks(ids, WRITE_CHUNK):
        with engine.begin() as conn:
            conn.execute(delete(TABLE).where(TABLE.c.study_id.in_(chunk)))
            fresh = [by_id[sid] for sid in chunk if sid in by_id]
            if fresh:
                conn.execute(insert(TABLE), fresh)


def replace_changed(
    engine: Engine, network: str, values: Sequence[Mapping[str, Any]], tol: Tolerance
) -> Written:
    """Bring the network's stored predictions to ``values``: rewrite rows that moved
    materially, add new studies, drop studies no longer waiting."""
    with engine.connect() as conn:
        stored = {
            row.study_id: row._mapping
            for row in conn.execute(
                select(
                    TABLE.c.study_id,
                    TABLE.c.predicted_breach,
                    TABLE.c.eligible_reporters,
                    TABLE.c.predicted_start,
                    TABLE.c.predicted_finish,
                ).where(TABLE.c.network == network)
            )
        }
    changed = [v for v in values if _changed(stored.get(v["study_id"]), v, tol)]
    _in_chunks(engine, [v["study_id"] for v in changed], changed)
    gone = sorted(stored.keys() - {v["study_id"] for v in values})
    _in_chunks(engine, gone, [])
    return Written(len(changed), len(gone))


def record_pass(engine: Engine, network: str, row: Mapping[str, Any]) -> None:
    """Upsert the network's last-pass row."""
    with engine.begin() as conn:
        conn.execute(delete(PASS).where(PASS.c.network == network))
        conn.execute(insert(PASS), [{"network": network, **row}])
