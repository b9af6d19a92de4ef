"""Feed the breach model from SQL and store its answers (the sweeper runs this, not requests).

Capacity: everyone on duty now, until the end of the rostered session covering now (else for
``on_duty_default_hours``), plus every rostered session in the horizon; overlapping windows of
one reporter are merged. Every reporter reads ``reporter_work_units_per_hour``. Eligibility is
the allocator's own (scope, site credentials, required subspecialty at the study's stage).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select as select_columns
from sqlmodel import Session, col, select

from allocator.eligibility import bucket_for, entry_id, may_report_bucket, pool_signature
from worklist.models import Reporter, ReporterSession, RosterEntry, Study
from worklist.predictions.model import Predicted, Waiting, predict
from worklist.predictions.model import Reporter as Capacity
from worklist.predictions.store import Tolerance, Written, replace_changed
from worklist.reference.profiles import profile_of
from worklist.services import Services
from worklist.studies.queueing import to_queued

STUDY: Any = Study.__table__  # type: ignore[attr-defined]


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


#: The study columns a prediction needs (a plain row is far cheaper to read than a model).
WAITING_COLUMNS = (
    STUDY.c.id,
    STUDY.c.study_uid,
    STUDY.c.site,
    STUDY.c.modality,
    STUDY.c.body_part,
    STUDY.c.exam_code,
    STUDY.c.patient_age,
    STUDY.c.patient_source,
    STUDY.c.urgency,
    STUDY.c.subspecialty,
    STUDY.c.requires_subspecialist,
    STUDY.c.work_units,
    STUDY.c.acquired_at,
    STUDY.c.due_at,
    STUDY.c.patient_key,
    STUDY.c.widening_stage,
)


#: Every column ``bucket_for`` reads to decide who may report (with the widening stage): rows
#: equal in these share a pool. Work units only set a bucket's reading band, never its pool.
BUCKET_INPUTS = (
    "site",
    "modality",
    "body_part",
    "patient_source",
    "exam_code",
    "patient_age",
    "subspecialty",
    "requires_subspecialist",
)


def compute_network(
    services: Services, network: str, now: datetime
) -> tuple[list[Predicted], Written]:
    """Predict every waiting study of a network and bring its stored predictions up to date."""
    settings = services.settings
    horizon_s = settings.prediction_horizon_hours * 3600
    with Session(services.engine) as db:
        windows = capacities(db, services, network, now)
        reporters = db.exec(
            select(Reporter).where(Reporter.network == network, col(Reporter.active).is_(True))
        ).all()
        profiles = {r.id: profile_of(r) for r in reporters if r.id in windows}
        rows = (
            db.connection()
            .execute(
                select_columns(*WAITING_COLUMNS).where(
                    STUDY.c.network == network, STUDY.c.status == "unreported"
                )
            )
            .mappings()
            .all()
        )
    entries = {entry_id(e): e for p in profiles.values() for e in p.scope}
    pool_of_inputs: dict[tuple[Any, ...], frozenset[str]] = {}
    pool_of_signature: dict[tuple[Any, ...], frozenset[str]] = {}

    def pool(row: Mapping[Any, Any]) -> frozenset[str]:
        # Rows equal in their bucket inputs share a pool, but those inputs include the
        # patient's age, so a backlog has nearly as many of them as rows (10,182 among 10,990
        # in `make load`); checking every reporter is what costs, so that is done once per
        # pool signature, of which there are far fewer.
        key = (*(row[c] for c in BUCKET_INPUTS), row["widening_stage"] or 0)
        found = pool_of_inputs.get(key)
        if found is None:
            meta = bucket_for(to_queued(row), int(key[-1]), entries)
            signature = pool_signature(meta)
            found = pool_of_signature.get(signature)
            if found is None:
                found = frozenset(rid for rid, p in profiles.items() if may_report_bucket(p, meta))
                pool_of_signature[signature] = found
            pool_of_inputs[key] = found
        return found

    now_s = now.timestamp()
    waiting = [
        Waiting(
            key=row["id"],
            due_s=row["due_at"].timestamp() - now_s,
            work_units=float(row["work_units"]),
            eligible=pool(row),
        )
        for row in rows
    ]
    caps = [
        Capacity(rid, settings.reporter_work_units_per_hour, _merge(windows[rid]))
        for rid in profiles
    ]
    predicted = predict(waiting, caps, horizon_s)
    sites = {row["id"]: row["site"] for row in rows}
    written = replace_changed(
        services.engine,
        network,
        [_row(p, network, sites, now) for p in predicted],
        Tolerance(
            timedelta(minutes=settings.prediction_tolerance_minutes),
            settings.prediction_tolerance_share,
        ),
    )
    return predicted, written


def _at(now: datetime, seconds: float | None) -> datetime | None:
    return None if seconds is None else now + timedelta(seconds=seconds)


def _row(p: Predicted, network: str, sites: Mapping[Any, str], now: datetime) -> dict[str, Any]:
    return {
        "study_id": p.key,
        "network": network,
        "site": sites[p.key],
        "computed_at": now,
        "work_ahead": round(p.work_ahead, 3),
        "eligible_reporters": p.eligible,
        "predicted_start": _at(now, p.start_s),
        "predicted_finish": _at(now, p.finish_s),
        "predicted_breach": p.breach,
    }
