"""Background housekeeping: lease expiry, widening, and SQL/Redis reconciliation.

``sweep_once`` is the burst mode: tests drive it step by step with a chosen clock.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, case, or_
from sqlmodel import Session, col, select

from allocator.types import WidenEvent
from worklist import db as database
from worklist.background import repeat_in_thread
from worklist.models import Assignment, Study, StudyEvent
from worklist.pacing import paced_chunks
from worklist.reporting.watch import restore_lost_state
from worklist.services import Services, utcnow
from worklist.sourcing.sweep import sourcing_pass
from worklist.studies.queueing import enqueue_and_audit
from worklist.studies.transitions import add_event

log = logging.getLogger(__name__)
RECONCILE_GRACE = timedelta(seconds=60)
SWEEP_CHUNK = 500  # studies looked up at once when recording expiries and widenings
WIDEN_STAGE_NAMES = {1: "all-eligible-radiologists", 2: "outsourcing-recommended"}
STUDY: Any = Study.__table__  # type: ignore[attr-defined]
EVENT: Any = StudyEvent.__table__  # type: ignore[attr-defined]
#: A study widens to at least ``p_stage``; stage 2 also flags it for outsourcing.
RAISE_STAGE = (
    STUDY.update()
    .where(STUDY.c.id == bindparam("p_id"))
    .values(
        widening_stage=case(
            (STUDY.c.widening_stage < bindparam("p_stage"), bindparam("p_stage")),
            else_=STUDY.c.widening_stage,
        ),
        outsourcing_recommended=or_(STUDY.c.outsourcing_recommended, bindparam("p_flag")),
    )
)


def _expire_in_sql(db: Session, study: Study, reporter_id: str, why: str) -> None:
    assignment = db.exec(
        select(Assignment).where(
            Assignment.study_id == study.id,
            Assignment.reporter_id == reporter_id,
            col(Assignment.outcome).is_(None),
        )
    ).first()
    if assignment is not None:
        assignment.outcome, assignment.ended_at = "expired", utcnow()
        db.add(assignment)
    if study.status == "claimed" and study.assignee == reporter_id:
        study.status, study.assignee, study.sourcing = "unreported", None, None
        study.updated_at = utcnow()
        db.add(study)
    add_event(db, study, "lease-expired", "allocator", {"reporter": reporter_id, "rule": why})


def sweep_once(services: Services, now: datetime | None = None) -> dict[str, int]:
    """One pass over every network; returns what it did."""
    now = now or utcnow()
    restore_lost_state(services)  # Redis restarted empty? rebuild it before anything else
    now_ms = int(now.timestamp() * 1000)
    done = {"expired": 0, "widened": 0, "reconciled": 0}
    for network in services.networks():
        allocator = services.allocator(network)
        expired = allocator.expire_leases(now_ms)
        widened = allocator.widen(now_ms)
        for start in range(0, max(len(expired), len(widened)), SWEEP_CHUNK):
            chunk_done = _record_in_sql(
                services,
                expired[start : start + SWEEP_CHUNK],
                widened[start : start + SWEEP_CHUNK],
            )
            done["expired"] += chunk_done[0]
            done["widened"] += chunk_done[1]
        if len(widened) > SWEEP_CHUNK:
            log.info("widened a backlog", extra={"network": network, "studies": len(widened)})
        with Session(services.engine, expire_on_commit=False) as db:
            done["reconciled"] += _reconcile(services, db, network, now)
    done.update(sourcing_pass(services, now))
    database.checkpoint(services.engine)  # no commit checkpoints the SQLite WAL itself
    return done


def _record_in_sql(
    services: Services, expired: list[tuple[str, str]], widened: list[WidenEvent]
) -> tuple[int, int]:
    """Write one chunk of expiries and widenings, each in its own short transaction, so a
    backlog (thousands of studies widening at once) never holds locks that claims wait on."""
    expired_n = 0
    if expired:
        with Session(services.engine, expire_on_commit=False) as db:
            uids = [uid for uid, _ in expired]
            studies = {
                s.study_uid: s for s in db.exec(select(Study).where(col(Study.study_uid).in_(uids)))
            }
            for uid, reporter_id in expired:
                if uid in studies:
                    _expire_in_sql(db, studies[uid], reporter_id, "lease ran out")
                    expired_n += 1
            db.commit()
    return expired_n, _record_widened(services, widened)


def _record_widened(services: Services, widened: list[WidenEvent]) -> int:
    """Raise each study's stage and audit it: two prebuilt statements whose parameters are
    all made before the write begins (the sweeper runs at a low priority, and on SQLite a
    claim waits for as long as it holds the write lock)."""
    if not widened:
        return 0
    with services.engine.connect() as conn:
        ids = dict(
            conn.execute(
                select(STUDY.c.study_uid, STUDY.c.id).where(
                    STUDY.c.study_uid.in_([w.study_id for w in widened])
                )
            ).all()
        )
        conn.rollback()
    now = utcnow()
    found = [w for w in widened if w.study_id in ids]
    if not found:
        return 0
    writes = [
        (
            {"p_id": ids[w.study_id], "p_stage": w.stage, "p_flag": w.stage >= 2},
            {
                "study_id": ids[w.study_id],
                "at": now,
                "kind": "widened",
                "actor": "allocator",
                "detail": {
                    "stage": w.stage,
                    "pool": WIDEN_STAGE_NAMES.get(w.stage),
                    "rule": w.rule,
                },
            },
        )
        for w in found
    ]
    for chunk in paced_chunks(writes, database.BACKGROUND_WRITE_ROWS):
        with services.engine.begin() as conn:  # a connection per chunk: none held at rest
            conn.execute(RAISE_STAGE, [stage for stage, _ in chunk])
            conn.execute(EVENT.insert(), [event for _, event in chunk])
    return len(found)


def _reconcile(services: Services, db: Session, network: str, now: datetime) -> int:
    """SQL leases long past expiry that Redis no longer holds: expire them and re-queue."""
    stale = db.exec(
        select(Assignment, Study)
        .join(Study, col(Study.id) == col(Assignment.study_id))
        .where(
            Study.network == network,
            col(Assignment.outcome).is_(None),
            col(Assignment.lease_expires_at) < now - RECONCILE_GRACE,
        )
    ).all()
    allocator = services.allocator(network)
    requeue = []
    for assignment, study in stale:
        if allocator.lease_holder(study.study_uid) is not None:
            continue
        _expire_in_sql(db, study, assignment.reporter_id, "reconciled: lease missing in redis")
        if study.status == "unreported":
            requeue.append((study.id, study.model_dump()))
    db.commit()
    if requeue:
        with services.engine.begin() as conn:
            enqueue_and_audit(services, conn, requeue)  # type: ignore[arg-type]
    return len(requeue)


def sweep_forever(services: Services, stop: threading.Event) -> None:
    """The `worklist sweeper` process: one pass every interval until stopped."""
    while not stop.is_set():
        try:
            sweep_once(services, datetime.now(UTC))
        except Exception:
            log.exception("sweep failed")
        stop.wait(services.settings.sweep_interval_seconds)


async def run_sweeper(
    services: Services,
    stop: asyncio.Event,
    on_pass: Callable[[dict[str, int]], None] | None = None,
) -> None:
    """Sweep every few seconds until stopped; a failing pass is logged, never fatal.

    ``on_pass`` receives what each pass did (the app counts lease expiries with it)."""
    await repeat_in_thread(
        lambda: sweep_once(services, datetime.now(UTC)),
        stop,
        lambda: services.settings.sweep_interval_seconds,
        "sweep",
        on_pass,
    )
