"""Batch ingest of studies: idempotent on study_uid, per-item rejections, bulk SQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, bindparam, insert, select, tuple_, update
from sqlmodel import col

from worklist.models import Order, Site, Study, StudyEvent
from worklist.patients import patient_key
from worklist.services import Services, utcnow
from worklist.studies.derive import study_columns
from worklist.studies.queueing import enqueue_and_audit
from worklist.studies.schemas import IngestResult, Rejection, StudyIn, validate_items

# Columns a re-sent study may change; status, assignee and sourcing belong to the workflow.
_UPDATABLE = (
    "accession",
    "modality",
    "body_part",
    "exam_code",
    "description",
    "patient_key",
    "patient_age",
    "patient_source",
    "urgency",
    "urgency_origin",
    "subspecialty",
    "requires_subspecialist",
    "radiographer_reportable",
    "work_units",
    "acquired_at",
    "due_at",
    "updated_at",
)
_study = Study.__table__  # type: ignore[attr-defined]


def ingest_studies(services: Services, items: list[Any], actor: str) -> IngestResult:
    """Store every good item of a batch and index the waiting ones in the allocator."""
    valid, rejected = validate_items(items, StudyIn)
    # The last copy of a uid within one batch wins, as if sent in sequence.
    latest: dict[str, tuple[int, StudyIn]] = {}
    for index, item in valid:
        latest[item.study_uid] = (index, item)
    engine: Engine = services.engine
    now = utcnow()
    result = IngestResult(rejected=rejected)
    with engine.begin() as conn:
        codes = {item.site for _, item in latest.values()}
        networks: dict[str, str] = {
            code: network
            for code, network in conn.execute(
                select(col(Site.code), col(Site.network)).where(col(Site.code).in_(codes))
            )
        }
        for uid, (index, item) in list(latest.items()):
            if item.site not in networks:
                result.rejected.append(
                    Rejection(index=index, error=f"site: {item.site!r} is not registered")
                )
                del latest[uid]
        if not latest:
            result.rejected.sort(key=lambda r: r.index)
            return result
        existing = {
            row.study_uid: row
            for row in conn.execute(
                select(_study.c.id, _study.c.study_uid, _study.c.status).where(
                    _study.c.study_uid.in_(list(latest))
                )
            )
        }
        keys = {(i.site, i.accession) for _, i in latest.values() if i.accession}
        orders: dict[tuple[str, str], Order] = {}
        if keys:
            table = Order.__table__  # type: ignore[attr-defined]
            for found in conn.execute(
                select(table).where(tuple_(table.c.site, table.c.accession).in_(list(keys)))
            ).mappings():
                orders[(found["site"], found["accession"])] = Order.model_validate(dict(found))
        new_rows: list[dict[str, Any]] = []
        changed_rows: list[dict[str, Any]] = []
        for uid, (_, item) in latest.items():
            key = (
                patient_key(services.patient_secret, item.site, item.patient_id)
                if item.patient_id
                else None
            )
            order = orders.get((item.site, item.accession)) if item.accession else None
            columns = study_columns(
                item, order, services.catalogue, services.policy, networks[item.site], key, now
            )
            if uid in existing:
                columns["_id"] = existing[uid].id
                columns["status"] = existing[uid].status
                changed_rows.append(columns)
            else:
                columns.update(status="unreported", created_at=now, widening_stage=0)
                new_rows.append(columns)
        if new_rows:
            # One multi-row INSERT ... RETURNING (SQLAlchemy's insertmanyvalues) hands back ids.
            inserted = conn.execute(
                insert(_study).returning(
                    _study.c.study_uid, _study.c.id, sort_by_parameter_order=True
                ),
                new_rows,
            )
            ids: dict[str, int] = {uid: sid for uid, sid in inserted}
            for row in new_rows:
                row["_id"] = ids[row["study_uid"]]
        if changed_rows:
            stmt = (
                update(_study)
                .where(_study.c.id == bindparam("_id"))
                .values({c: bindparam(c) for c in _UPDATABLE})
            )
            conn.execute(stmt, [{c: r[c] for c in (*_UPDATABLE, "_id")} for r in changed_rows])
        events = [
            {
                "study_id": r["_id"],
                "at": now,
                "kind": kind,
                "actor": actor,
                "detail": {
                    "urgency": r["urgency"],
                    "urgency_origin": r["urgency_origin"],
                    "due_at": r["due_at"].isoformat(),
                    "exam_code": r["exam_code"],
                    "subspecialty": r["subspecialty"],
                    "work_units": r["work_units"],
                },
            }
            for kind, rows in (("ingested", new_rows), ("updated", changed_rows))
            for r in rows
        ]
        conn.execute(insert(StudyEvent), events)
        waiting = [(r["_id"], r) for r in (*new_rows, *changed_rows) if r["status"] == "unreported"]
    # Index only what is committed: SQL is the system of record, Redis is rebuilt from it.
    with engine.begin() as conn:
        enqueue_and_audit(services, conn, waiting)
    result.created = len(new_rows)
    result.updated = len(changed_rows)
    result.rejected.sort(key=lambda r: r.index)
    return result
