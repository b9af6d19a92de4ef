"""RIS orders: stored by site + accession and joined to their study whichever comes first."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, tuple_, update
from sqlmodel import col

from worklist.models import Order, Site, Study, StudyEvent
from worklist.services import Services, utcnow
from worklist.studies.queueing import enqueue_and_audit
from worklist.studies.schemas import IngestResult, OrderIn, Rejection, validate_items

_ORDER_FIELDS = (
    "urgency",
    "patient_source",
    "exam_code",
    "description",
    "referrer",
    "requested_at",
)


def _apply_order(services: Services, study: Study, order: Order) -> dict[str, Any]:
    """The study columns an order changes: urgency, source, exam and so the due time."""
    changes: dict[str, Any] = {}
    if order.urgency:
        changes.update(urgency=order.urgency, urgency_origin="order")
    if order.patient_source:
        changes["patient_source"] = order.patient_source
    entry = services.catalogue.match(order.exam_code, study.modality, study.body_part)
    if order.exam_code and entry is not None and entry.code == order.exam_code:
        changes.update(
            exam_code=entry.code,
            body_part=study.body_part or entry.body_part,
            work_units=entry.work_units,
            radiographer_reportable=entry.radiographer_reportable,
        )
        if study.subspecialty is None:
            changes["subspecialty"] = entry.subspecialty
    if order.description and not study.description:
        changes["description"] = order.description
    urgency = changes.get("urgency", study.urgency)
    source = changes.get("patient_source", study.patient_source)
    changes["due_at"] = services.policy.due_at(study.acquired_at, urgency, source)
    return changes


def ingest_orders(services: Services, items: list[Any], actor: str) -> IngestResult:
    """Upsert orders; re-derive and re-queue any study already waiting under the accession."""
    valid, rejected = validate_items(items, OrderIn)
    result = IngestResult(rejected=rejected)
    now = utcnow()
    latest: dict[tuple[str, str], tuple[int, OrderIn]] = {}
    for index, item in valid:
        latest[(item.site, item.accession)] = (index, item)
    requeue: list[tuple[int, dict[str, Any]]] = []
    with services.engine.begin() as conn:
        known = set(
            conn.execute(
                select(col(Site.code)).where(col(Site.code).in_({k[0] for k in latest}))
            ).scalars()
        )
        for key, (index, _) in list(latest.items()):
            if key[0] not in known:
                result.rejected.append(
                    Rejection(index=index, error=f"site: {key[0]!r} is not registered")
                )
                del latest[key]
        stored = (
            {
                (o.site, o.accession): o
                for o in conn.execute(
                    select(Order).where(
                        tuple_(col(Order.site), col(Order.accession)).in_(list(latest))
                    )
                ).scalars()
            }
            if latest
            else {}
        )
        orders: dict[tuple[str, str], Order] = {}
        for key, (_, item) in latest.items():
            values = {f: getattr(item, f) for f in _ORDER_FIELDS if getattr(item, f) is not None}
            if key in stored:
                conn.execute(update(Order).where(Order.id == stored[key].id).values(**values))  # type: ignore[arg-type]
                result.updated += 1
            else:
                conn.execute(
                    Order.__table__.insert().values(  # type: ignore[attr-defined]
                        site=key[0], accession=key[1], received_at=now, **values
                    )
                )
                result.created += 1
            orders[key] = conn.execute(
                select(Order).where(col(Order.site) == key[0], col(Order.accession) == key[1])
            ).scalar_one()
        if orders:
            studies = conn.execute(
                select(Study).where(
                    tuple_(col(Study.site), col(Study.accession)).in_(list(orders)),
                    col(Study.status).in_(("unreported", "claimed")),
                )
            ).scalars()
            for study in studies:
                assert study.id is not None and study.accession is not None
                changes = _apply_order(services, study, orders[(study.site, study.accession)])
                conn.execute(
                    update(Study).where(Study.id == study.id).values(updated_at=now, **changes)  # type: ignore[arg-type]
                )
                conn.execute(
                    StudyEvent.__table__.insert().values(  # type: ignore[attr-defined]
                        study_id=study.id,
                        at=now,
                        kind="order-joined",
                        actor=actor,
                        detail={
                            k: (v.isoformat() if hasattr(v, "isoformat") else v)
                            for k, v in changes.items()
                        },
                    )
                )
                if study.status == "unreported":
                    row = {**study.model_dump(), **changes}
                    requeue.append((study.id, row))
    if requeue:
        with services.engine.begin() as conn:
            enqueue_and_audit(services, conn, requeue)
    result.rejected.sort(key=lambda r: r.index)
    return result
