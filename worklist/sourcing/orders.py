"""Outsourcing orders: the price fixed when a study is sent, the provider's contracted due
time, and delivery of the ORM^O01 to the provider (retried by the sweeper until acknowledged).
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from connectors.outbound import MllpTarget, OutboundError, OutboundOrder, build_orm, send_mllp
from worklist.models import OutsourcingOrder, Provider, ProviderEndpoint, Study, StudyEvent
from worklist.services import Services, utcnow
from worklist.sourcing.prices import prices_at

log = logging.getLogger(__name__)


def record_order(
    db: Session, study: Study, provider: Provider, mode: str, now: datetime
) -> OutsourcingOrder:
    """The order row for a study being sent now (caller commits with the transition)."""
    assert study.id is not None
    price = prices_at(db, provider, now).price_for(study.modality, study.exam_code)
    order = OutsourcingOrder(
        study_id=study.id,
        network=study.network,
        provider_id=provider.id,
        mode=mode,
        price=price,
        sent_at=now,
        provider_due_at=now + timedelta(hours=provider.tat_hours),
        control_id=uuid.uuid4().hex[:20],
        # without an order endpoint the provider is ordered by hand (portal, phone)
        delivery="pending" if db.get(ProviderEndpoint, provider.id) else "manual",
    )
    db.add(order)
    db.flush()
    return order


def close_order(db: Session, study: Study, reported_at: datetime) -> OutsourcingOrder | None:
    """Mark the study's open order reported (the report came back through the RIS)."""
    order = db.exec(
        select(OutsourcingOrder)
        .where(OutsourcingOrder.study_id == study.id, col(OutsourcingOrder.reported_at).is_(None))
        .order_by(col(OutsourcingOrder.id).desc())
    ).first()
    if order is not None:
        order.reported_at = reported_at
        db.add(order)
    return order


def _message(order: OutsourcingOrder, study: Study) -> OutboundOrder:
    return OutboundOrder(
        control_id=order.control_id,
        network=study.network,
        site=study.site,
        study_uid=study.study_uid,
        accession=study.accession,
        patient_key=study.patient_key,
        patient_source=study.patient_source,
        modality=study.modality,
        body_part=study.body_part,
        exam_code=study.exam_code,
        description=study.description,
        urgency=study.urgency,
        acquired_at=study.acquired_at,
        provider_due_at=order.provider_due_at,
    )


def dispatch(services: Services, order_id: int) -> str:
    """Send one pending order to its provider's MLLP endpoint; returns the delivery state.

    A failed send stays ``pending`` for the sweeper to retry, then ``failed`` after the last
    attempt; an order whose provider has no endpoint (any more) becomes ``manual``.
    """
    with Session(services.engine, expire_on_commit=False) as db:
        order = db.get(OutsourcingOrder, order_id)
        if order is None or order.delivery not in ("pending",):
            return order.delivery if order else "missing"
        study = db.get(Study, order.study_id)
        endpoint = db.get(ProviderEndpoint, order.provider_id)
        assert study is not None and study.id is not None
        if endpoint is None:
            order.delivery = "manual"
            detail: dict[str, object] = {"order": order.id, "delivery": "manual"}
        else:
            target = MllpTarget(
                endpoint.host,
                endpoint.port,
                endpoint.receiving_application,
                endpoint.receiving_facility,
                endpoint.timeout_seconds,
            )
            order.attempts += 1
            order.last_attempt_at = utcnow()
            try:
                send_mllp(target, build_orm(_message(order, study), target, utcnow()))
                order.delivery, order.last_error = "acked", None
            except OutboundError as e:
                order.last_error = str(e)[:500]
                last = order.attempts >= services.settings.outbound_max_attempts
                order.delivery = "failed" if last else "pending"
                log.warning("order to provider not delivered", extra={"order": order.id})
            detail = {
                "order": order.id,
                "delivery": order.delivery,
                "attempt": order.attempts,
                "control_id": order.control_id,
                "error": order.last_error,
            }
        db.add(order)
        db.add(
            StudyEvent(
                study_id=study.id,
                at=utcnow(),
                kind=f"order-{order.delivery}",
                actor="outbound",
                detail=detail,
            )
        )
        db.commit()
        return order.delivery


def retry_due(attempts: int, last: datetime | None, now: datetime) -> bool:
    """Back off: 30 s after the first failure, doubling, at most an hour apart."""
    if last is None:
        return True
    return now >= last + timedelta(seconds=min(3600, 30 * 2 ** max(0, attempts - 1)))


def retry_pending(services: Services, now: datetime) -> int:
    """Resend pending orders whose back-off has passed (the sweeper calls this)."""
    with Session(services.engine) as db:
        rows = db.exec(
            select(
                OutsourcingOrder.id, OutsourcingOrder.attempts, OutsourcingOrder.last_attempt_at
            ).where(OutsourcingOrder.delivery == "pending")
        ).all()
    ids = [i for i, n, last in rows if i is not None and retry_due(n, last, now)]
    for order_id in ids:
        dispatch(services, order_id)
    return len(ids)
