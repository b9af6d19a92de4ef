"""Second reads: hand a sampled report to an eligible radiologist other than its author,
record the outcome, and summarise outcomes by site and reporter group (never by person).

Review tasks are few (a small share of reports) and not time-critical, so they are handed out
from SQL with a conditional UPDATE (atomic on SQLite and PostgreSQL) instead of through the
Redis claim path, whose latency budget they would only eat into.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, update
from sqlmodel import Session, col, select

from allocator.eligibility import may_report
from worklist.models import Reporter, ReporterSession, Review, Study, StudyEvent
from worklist.reference.profiles import profile_of
from worklist.reporting.service import FlowError
from worklist.services import Services, utcnow
from worklist.studies.queueing import to_queued

OUTCOMES = ("agree", "minor", "major")
REVIEW = Review.__table__  # type: ignore[attr-defined]
_CANDIDATES = 200


def _claimable(now: datetime) -> Any:
    return or_(
        col(Review.status) == "waiting",
        and_(col(Review.status) == "claimed", col(Review.lease_expires_at) < now),
    )


def next_review(db: Session, services: Services, reviewer_id: str) -> tuple[Review, Study] | None:
    """Claim the oldest review this radiologist may do; their unfinished one comes first."""
    reviewer = db.get(Reporter, reviewer_id)
    if reviewer is None or not reviewer.active:
        raise FlowError(403, "this reporter is unknown or inactive")
    if reviewer.group != "radiologist":
        raise FlowError(403, "second reads are done by radiologists")
    in_session = db.exec(
        select(ReporterSession.id).where(
            ReporterSession.reporter_id == reviewer_id, col(ReporterSession.ended_at).is_(None)
        )
    ).first()
    if in_session is None:
        raise FlowError(409, "start a session before pulling reviews")
    now = utcnow()
    lease = now + timedelta(seconds=services.settings.lease_seconds)
    mine = db.exec(
        select(Review, Study)
        .join(Study, col(Study.id) == col(Review.study_id))
        .where(Review.reviewer_id == reviewer_id, Review.status == "claimed")
    ).first()
    if mine is not None:
        return mine[0], mine[1]
    profile = profile_of(reviewer)
    candidates = db.exec(
        select(Review, Study)
        .join(Study, col(Study.id) == col(Review.study_id))
        .where(
            Review.network == reviewer.network,
            Review.author_id != reviewer_id,
            col(Review.site).in_(reviewer.sites),
            _claimable(now),
        )
        .order_by(col(Review.created_at), col(Review.id))
        .limit(_CANDIDATES)
    ).all()
    eligible = [
        (review.id, study)
        for review, study in candidates
        if may_report(profile, to_queued(study.model_dump()), 1)
    ]
    for review_id, study in eligible:
        won = db.connection().execute(
            update(REVIEW)
            .where(REVIEW.c.id == review_id, _claimable(now))
            .values(status="claimed", reviewer_id=reviewer_id, lease_expires_at=lease)
        )
        if won.rowcount != 1:
            continue  # another radiologist took it a moment ago
        assert study.id is not None
        db.add(
            StudyEvent(
                study_id=study.id,
                at=now,
                kind="review-claimed",
                actor=reviewer_id,
                detail={"review": review_id, "rule": "second-read"},
            )
        )
        db.commit()
        review = db.get(Review, review_id)
        assert review is not None
        db.refresh(review)
        return review, study
    return None


def record_outcome(
    db: Session, reviewer_id: str, review_id: int, outcome: str, comment: str | None
) -> Review:
    """The reviewer's verdict on the report: agree, minor or major discrepancy."""
    review = db.get(Review, review_id)
    if review is None:
        raise FlowError(404, "no such review")
    if review.reviewer_id != reviewer_id:
        raise FlowError(403, "this review is not yours")
    if review.status != "claimed":
        raise FlowError(409, f"this review is {review.status}")
    now = utcnow()
    review.status, review.outcome, review.comment, review.completed_at = (
        "done",
        outcome,
        comment,
        now,
    )
    db.add(review)
    db.add(
        StudyEvent(
            study_id=review.study_id,
            at=now,
            kind="review-outcome",
            actor=reviewer_id,
            detail={"review": review.id, "outcome": outcome},
        )
    )
    db.commit()
    return review


def summary(
    db: Session, start: datetime, end: datetime, network: str | None
) -> list[dict[str, Any]]:
    """Per site and author group, then the network per group (``site`` null): no names."""
    query = select(Review).where(col(Review.created_at) >= start, col(Review.created_at) < end)
    if network:
        query = query.where(Review.network == network)
    cells: dict[tuple[str | None, str], dict[str, Any]] = {}
    for r in db.exec(query).all():
        for site in (r.site, None):
            cell = cells.setdefault(
                (site, r.author_group),
                {"site": site, "group": r.author_group, "sampled": 0, "reviewed": 0}
                | dict.fromkeys(OUTCOMES, 0),
            )
            cell["sampled"] += 1
            if r.status == "done" and r.outcome in OUTCOMES:
                cell["reviewed"] += 1
                cell[r.outcome] += 1
    rows = sorted(cells.values(), key=lambda c: (c["site"] is None, c["site"] or "", c["group"]))
    for c in rows:
        n = c["reviewed"]
        c["discrepancy_rate"] = round((c["minor"] + c["major"]) / n, 4) if n else None
        c["major_rate"] = round(c["major"] / n, 4) if n else None
    return rows


def feedback(db: Session, author_id: str) -> list[dict[str, Any]]:
    """A reporter's own reviewed reports with the outcome (the reviewer is not named)."""
    rows = db.exec(
        select(Review, Study)
        .join(Study, col(Study.id) == col(Review.study_id))
        .where(Review.author_id == author_id, Review.status == "done")
        .order_by(col(Review.completed_at).desc())
        .limit(200)
    ).all()
    return [
        {
            "review_id": r.id,
            "study_uid": s.study_uid,
            "outcome": r.outcome,
            "comment": r.comment,
            "completed_at": r.completed_at,
        }
        for r, s in rows
    ]
