"""Read side of studies: one study with its audit trail, and keyset-paginated lists."""

from __future__ import annotations

import base64

from sqlmodel import Session, col, select

from worklist.models import Study, StudyEvent
from worklist.studies.schemas import EventPublic, StudyDetail, StudyPage, StudyPublic


def public(study: Study) -> StudyPublic:
    return StudyPublic.model_validate(study, from_attributes=True)


def detail(db: Session, study: Study) -> StudyDetail:
    events = db.exec(
        select(StudyEvent).where(StudyEvent.study_id == study.id).order_by(col(StudyEvent.id))
    ).all()
    return StudyDetail(
        **public(study).model_dump(),
        events=[EventPublic(at=e.at, kind=e.kind, actor=e.actor, detail=e.detail) for e in events],
    )


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(str(last_id).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    padded = cursor + "=" * (-len(cursor) % 4)
    return int(base64.urlsafe_b64decode(padded.encode()).decode())


def page(
    db: Session,
    *,
    status: str | None,
    site: str | None,
    modality: str | None,
    urgency: str | None,
    assignee: str | None,
    limit: int,
    cursor: str | None,
) -> StudyPage:
    query = select(Study).order_by(col(Study.id)).limit(limit + 1)
    for column, value in (
        (Study.status, status),
        (Study.site, site.upper() if site else None),
        (Study.modality, modality.upper() if modality else None),
        (Study.urgency, urgency),
        (Study.assignee, assignee),
    ):
        if value is not None:
            query = query.where(column == value)
    if cursor:
        query = query.where(col(Study.id) > decode_cursor(cursor))
    rows = list(db.exec(query).all())
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = encode_cursor(rows[-1].id) if more and rows and rows[-1].id else None
    return StudyPage(items=[public(s) for s in rows], next_cursor=next_cursor)
