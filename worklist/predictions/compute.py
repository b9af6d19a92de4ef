"""Feed the breach model from SQL and store its answers (the sweeper runs this, not requests).

Capacity: everyone on duty now, until the end of the rostered session covering now (else for
``on_duty_default_hours``), plus every rostered session in the horizon; overlapping windows of
one reporter are merged. Every reporter reads ``reporter_work_units_per_hour``. Eligibility is
the allocator's own (scope, site credentials, required subspecialty at the study's stage).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from sqlalchemy import delete, insert
from sqlmodel import Session, col, select

from allocator.eligibility import BucketMeta, bucket_for, entry_id, may_report_bucket
from worklist.models import BreachPrediction, Reporter, ReporterSession, RosterEntry, Study
from worklist.predictions.model import Predicted, Waiting, predict
from worklist.predictions.model import Reporter as Capacity
from worklist.reference.profiles import profile_of
from worklist.services import Services
from worklist.studies.queueing import to_queued

STORE_CHUNK = 1000  # predictions written per transaction


def _merge(windows: list[tuple[float, float]]) -> tuple[tuple[float, float], ...]:
    merged: list[tuple[float, float]] = []
    for a, b in sorted(windows):
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    return tuple(merged)


def capacities(
    db: Session, services: Services, network: str, now: datetime
) -> dict[str, list[tuple[float, float]]]:
    """Availability windows (seconds from now) per reporter id."""
    settings = services.settings
    horizon = now + timedelta(hours=settings.prediction_horizon_hours)
    windows: dict[str, list[tuple[float, float]]] = defaultdict(list)
    roster = db.exec(
        select(RosterEntry).where(
            RosterEntry.network == network,
            col(RosterEntry.start) < horizon,
            col(RosterEntry.end) > now,
        )
    ).all()
    covering: dict[str, datetime] = {}
    for e in roster:
        windows[e.reporter_id].append(
            ((e.start - now).total_seconds(), (e.end - now).total_seconds())
        )
        if e.start <= now < e.end:
            covering[e.reporter_id] = max(covering.get(e.reporter_id, now), e.end)
    on_duty = db.exec(
        select(ReporterSession.reporter_id)
        .join(Reporter, col(Reporter.id) == col(ReporterSession.reporter_id))
        .where(Reporter.network == network, col(ReporterSession.ended_at).is_(None))
    ).all()
    default_end = now + timedelta(hours=settings.on_duty_default_hours)
    for rid in on_duty:
        windows[rid].append((0.0, (covering.get(rid, default_end) - now).total_seconds()))
    return windows


def compute_network(services: Services, network: str, now: datetime) -> list[Predicted]:
    """Predict every waiting study of a network and replace its stored predictions."""
    settings = services.settings
    horizon_s = settings.prediction_horizon_hours * 3600
    with Session(services.engine) as db:
        windows = capacities(db, services, network, now)
        reporters = db.exec(
            select(Reporter).where(Reporter.network == network, col(Reporter.active).is_(True))
        ).all()
        profiles = {r.id: profile_of(r) for r in reporters if r.id in windows}
        studies = db.exec(
            select(Study).where(Study.network == network, Study.status == "unreported")
        ).all()
        rows = [(s.id, s.site, to_queued(s.model_dump())) for s in studies if s.id is not None]
    entries = {entry_id(e): e for p in profiles.values() for e in p.scope}
    pool_of: dict[BucketMeta, frozenset[str]] = {}

    def pool(meta: BucketMeta) -> frozenset[str]:
        if meta not in pool_of:
            pool_of[meta] = frozenset(
                rid for rid, p in profiles.items() if may_report_bucket(p, meta)
            )
        return pool_of[meta]

    waiting = [
        Waiting(
            key=sid,
            due_s=(q.due_ms / 1000) - now.timestamp(),
            work_units=q.work_units,
            eligible=pool(bucket_for(q, q.widening_stage, entries)),
        )
        for sid, _, q in rows
    ]
    caps = [
        Capacity(rid, settings.reporter_work_units_per_hour, _merge(windows[rid]))
        for rid in profiles
    ]
    predicted = predict(waiting, caps, horizon_s)
    sites = {sid: site for sid, site, _ in rows}
    _store(services, network, now, predicted, sites)
    return predicted


def _at(now: datetime, seconds: float | None) -> datetime | None:
    return None if seconds is None else now + timedelta(seconds=seconds)


def _store(
    services: Services,
    network: str,
    now: datetime,
    predicted: list[Predicted],
    sites: dict[int, str],
) -> None:
    table = BreachPrediction.__table__  # type: ignore[attr-defined]
    values = [
        {
            "study_id": p.key,
            "network": network,
            "site": sites[p.key],  # type: ignore[index]
            "computed_at": now,
            "work_ahead": round(p.work_ahead, 3),
            "eligible_reporters": p.eligible,
            "predicted_start": _at(now, p.start_s),
            "predicted_finish": _at(now, p.finish_s),
            "predicted_breach": p.breach,
        }
        for p in predicted
    ]
    # Replace in short transactions (on SQLite a write locks the whole database, and claims
    # wait behind it): each chunk swaps its studies' rows, so readers always see one
    # prediction per study; rows of studies no longer waiting go last.
    for i in range(0, len(values), STORE_CHUNK):
        chunk = values[i : i + STORE_CHUNK]
        with services.engine.begin() as conn:
            ids = [v["study_id"] for v in chunk]
            conn.execute(delete(table).where(table.c.study_id.in_(ids)))
            conn.execute(insert(table), chunk)
    with services.engine.begin() as conn:
        conn.execute(delete(table).where(table.c.network == network, table.c.computed_at != now))
