"""Study state changes made outside the allocator's claim path: outside reports, outsourcing."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from worklist.models import Assignment, OutsourcingOrder, Provider, Study, StudyEvent
from worklist.services import Services, utcnow
from worklist.sourcing.orders import close_order, dispatch, record_order


class TransitionError(ValueError):
    """A change the study's state does not allow; the message says why."""


def add_event(
    db: Session, study: Study, kind: str, actor: str | None, detail: dict[str, Any]
) -> None:
    assert study.id is not None
    db.add(StudyEvent(study_id=study.id, at=utcnow(), kind=kind, actor=actor, detail=detail))


def _end_open_assignment(db: Session, study: Study, outcome: str) -> Assignment | None:
    """Close the live assignment of a study, if any, with the given outcome."""
    open_assignment = db.exec(
        select(Assignment).where(Assignment.study_id == study.id, col(Assignment.outcome).is_(None))
    ).first()
    if open_assignment is not None:
        open_assignment.outcome = outcome
        open_assignment.ended_at = utcnow()
        db.add(open_assignment)
    return open_assignment


def mark_reported_externally(
    db: Session,
    services: Services,
    study: Study,
    reported_at: datetime,
    reporter: str | None,
    actor: str,
) -> None:
    """A report arrived from outside the balancer (RIS, outsourcing company)."""
    if study.status == "reported":
        raise TransitionError("study is already reported")
    if study.status == "cancelled":
        raise TransitionError("study is cancelled")
    # (the outcome column holds 16 characters: "reported-externally" failed on PostgreSQL)
    ended = _end_open_assignment(db, study, "external-report")
    previous = study.status
    study.status = "reported"
    study.reported_at = reported_at
    study.reported_by = reporter or study.assignee
    if previous != "outsourced":
        study.sourcing = study.sourcing if ended is not None else None
    study.updated_at = utcnow()
    db.add(study)
    order = close_order(db, study, reported_at) if previous == "outsourced" else None
    add_event(
        db,
        study,
        "reported-externally",
        actor,
        {
            "reported_at": reported_at.isoformat(),
            "reporter": reporter,
            "was": previous,
            "sourcing": study.sourcing,
            **(
                {"order": order.id, "within_provider_tat": reported_at <= order.provider_due_at}
                if order is not None
                else {}
            ),
        },
    )
    db.commit()
    services.allocator(study.network).remove([study.study_uid])


def outsource(
    db: Session,
    services: Services,
    study: Study,
    provider_id: str,
    actor: str,
    mode: str = "manual",
    detail: dict[str, Any] | None = None,
) -> OutsourcingOrder:
    """Send a waiting (or claimed) study to an outsourcing provider: the order (with the price
    effective now and the provider's due time) commits with the change, then goes out."""
    provider = db.get(Provider, provider_id)
    if provider is None:
        raise TransitionError(f"unknown provider {provider_id!r}")
    if provider.modalities and study.modality not in provider.modalities:
        raise TransitionError(f"provider {provider_id!r} does not report {study.modality}")
    if study.status not in ("unreported", "claimed"):
        raise TransitionError(f"a {study.status} study cannot be outsourced")
    withdrawn = _end_open_assignment(db, study, "withdrawn")
    order = record_order(db, study, provider, mode, utcnow())
    study.status = "outsourced"
    study.assignee = provider.id
    study.sourcing = "outsourced"
    study.updated_at = utcnow()
    db.add(study)
    add_event(
        db,
        study,
        "outsourced",
        actor,
        {
            "provider": provider.id,
            "price": order.price,
            "provider_tat_hours": provider.tat_hours,
            "provider_due_at": order.provider_due_at.isoformat(),
            "order": order.id,
            "delivery": order.delivery,
            "mode": mode,
            "withdrawn_from": withdrawn.reporter_id if withdrawn else None,
            **(detail or {}),
        },
    )
    db.commit()
    services.allocator(study.network).remove([study.study_uid])
    if services.on_outsourced is not None:
        services.on_outsourced(study.site, study.modality, provider.id, order.price)
    assert order.id is not None
    if order.delivery == "pending":
        dispatch(services, order.id)
    return order
