"""Which reports get a second read: a share of radiographers' and registrars' reports and a
smaller share of everyone's, drawn per study from a keyed hash (reproducible, not guessable).
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert

from worklist.models import Reporter, Review, StudyEvent
from worklist.settings import Settings

REVIEW = Review.__table__  # type: ignore[attr-defined]
EVENT = StudyEvent.__table__  # type: ignore[attr-defined]
REPORTER = Reporter.__table__  # type: ignore[attr-defined]


def draw(secret: bytes, study_uid: str) -> float:
    """A uniform number in [0, 1) fixed for the study."""
    digest = hmac.new(secret, f"review:{study_uid}".encode(), hashlib.sha256).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def rule_for(settings: Settings, group: str, u: float) -> str | None:
    """The sampling rule that picks this report, or None."""
    shares = {"radiographer": settings.review_share_radiographer}
    shares["registrar"] = settings.review_share_registrar
    if u < shares.get(group, 0.0):
        return f"{group}-share"
    if u < settings.review_share_all:
        return "all-reports-share"
    return None


def sampling_rule(settings: Settings, secret: bytes, study_uid: str, group: str) -> str | None:
    """The rule that samples this study's report for review, or None; fixed per study."""
    return rule_for(settings, group, draw(secret, study_uid))


def record_sample(
    conn: Connection, rule: str, study: Any, author_id: str, now: datetime, group: str
) -> int:
    """Create the review task for a just-completed report that ``rule`` (``sampling_rule``)
    sampled, in the caller's transaction; returns its id. ``group`` is the author's staff
    group."""
    review_id = conn.execute(
        insert(REVIEW)
        .values(
            study_id=study.id,
            network=study.network,
            site=study.site,
            author_id=author_id,
            author_group=str(group),
            sampled_by=rule,
            status="waiting",
            created_at=now,
        )
        .returning(REVIEW.c.id)
    ).scalar_one()
    conn.execute(
        insert(EVENT).values(
            study_id=study.id,
            at=now,
            kind="review-sampled",
            actor="review-sampling",
            detail={"review": review_id, "rule": rule},
        )
    )
    return int(review_id)
