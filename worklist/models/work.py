"""Reporter sessions and the assignments handed out in them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index
from sqlmodel import Field, SQLModel

from worklist.models.types import UTCDateTime


class ReporterSession(SQLModel, table=True):
    """A stretch of reporting time: core job-planned or an insourced (paid extra) session."""

    __table_args__ = (Index("ix_session_reporter_open", "reporter_id", "ended_at"),)

    id: int | None = Field(default=None, primary_key=True)
    reporter_id: str = Field(foreign_key="reporter.id")
    kind: str = Field(max_length=16)
    started_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    ended_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))


class Assignment(SQLModel, table=True):
    """One claim of a study by a reporter, with the reason it was chosen and how it ended."""

    __table_args__ = (
        Index("ix_assignment_study", "study_id"),
        Index("ix_assignment_reporter_open", "reporter_id", "outcome"),
        Index("ix_assignment_ended", "ended_at"),
    )

    id: str = Field(primary_key=True, max_length=32)
    study_id: int = Field(foreign_key="study.id")
    reporter_id: str = Field(foreign_key="reporter.id")
    session_id: int | None = Field(default=None, foreign_key="reportersession.id")
    sourcing: str = Field(max_length=16)  # core | insourced
    work_units: float = 1.0
    via: str = Field(default="queue", max_length=16)  # queue | push | patient
    claimed_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    lease_expires_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    ended_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    outcome: str | None = Field(default=None, max_length=16)  # completed | released | expired
    release_reason: str | None = None
    reason: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
