"""RIS orders: stored by site + accession and joined to their study whichever comes first."""

from __future__ import annotations

from typing import Any

from sqlalchemy import tuple_
from sqlmodel import Session, col, select

from worklist.models import Order, Site, Study
from worklist.services import Services, utcnow
from worklist.studies.queueing import enqueue_and_audit
from worklist.studies.schemas import IngestResult, OrderIn, Rejection, validate_items
from worklist.studies.transitions import add_event

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
    with Session(services.engine, expire_on_commit=False) as db:
        sites = {k[0] for k in latest}
        known = set(db.exec(select(Site.code).where(col(Site.code).in_(sites))).all())
        for key, (index, _) in list(latest.items()):
            if key[0] not in known:
                error = f"site: {key[0]!r} is not registered"
                result.rejected.append(Rejection(index=index, error=error))
                del latest[key]
        orders: dict[tuple[str, str], Order] = {}
        if latest:
            pairs = tuple_(col(Order.site), col(Order.accession)).in_(list(latest))
            orders = {(o.site, o.accession): o for o in db.exec(select(Order).where(pairs)).all()}
        for key, (_, item) in latest.items():
            order = orders.get(key)
            if order is None:
                order = Order(site=key[0], accession=key[1], received_at=now)
                orders[key] = order
                result.created += 1
            else:
                result.updated += 1
            for name in _ORDER_FIELDS:
                value = getattr(item, name)
                if value is not None:
                    setattr(order, name, value)
            db.add(order)
        if orders:
            studies = db.exec(
                select(Study).where(
                    tuple_(col(Study.site), col(Study.accession)).in_(list(orders)),
                    col(Study.status).in_(("unreported", "claimed")),
                )
            ).all()
            for study in studies:
                assert study.id is not None and study.accession is not None
                changes = _apply_order(services, study, orders[(study.site, study.accession)])
                for name, value in changes.items():
                    setattr(study, name, value)
                study.updated_at = now
                db.add(study)
                detail = {
                    k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in changes.items()
                }
                add_event(db, study, "order-joined", actor, detail)
                if study.status == "unreported":
                    requeue.append((study.id, study.model_dump()))
        db.commit()
    if requeue:
        with services.engine.begin() as conn:
            enqueue_and_audit(services, conn, requeue)
    result.rejected.sort(key=lambda r: r.index)
    return result
