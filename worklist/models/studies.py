"""Studies, RIS orders and the append-only event log of every change to a study."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from worklist.models.types import UTCDateTime

STUDY_STATUSES = ("unreported", "claimed", "outsourced", "reported", "cancelled")


class Study(SQLModel, table=True):
    """An imaging study awaiting or having received its report. No patient names, ever."""

    __table_args__ = (
        Index("ix_study_site_accession", "site", "accession"),
        Index("ix_study_status_due", "status", "due_at"),
        Index("ix_study_reported_at", "reported_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    study_uid: str = Field(max_length=128, unique=True)
    accession: str | None = Field(default=None, max_length=64)
    site: str = Field(foreign_key="site.code")
    network: str = Field(max_length=32)
    modality: str = Field(max_length=8)
    body_part: str | None = Field(default=None, max_length=64)
    exam_code: str | None = Field(default=None, max_length=32)
    description: str | None = None
    patient_key: str | None = Field(default=None, max_length=64, index=True)
    patient_age: int | None = None
    patient_source: str | None = Field(default=None, max_length=16)
    urgency: str = Field(max_length=16)
    urgency_origin: str = Field(default="derived", max_length=16)  # given | order | derived
    subspecialty: str | None = Field(default=None, max_length=32)
    requires_subspecialist: bool = False
    radiographer_reportable: bool = False
    work_units: float = 1.0
    acquired_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    due_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    status: str = Field(default="unreported", max_length=16)
    assignee: str | None = Field(default=None, max_length=64)
    sourcing: str | None = Field(default=None, max_length=16)
    widening_stage: int = 0
    outsourcing_recommended: bool = False
    reported_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    reported_by: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class Order(SQLModel, table=True):
    """A RIS order, joined to its study by site + accession whichever arrives first."""

    __table_args__ = (UniqueConstraint("site", "accession", name="uq_order_site_accession"),)

    id: int | None = Field(default=None, primary_key=True)
    site: str = Field(max_length=32)
    accession: str = Field(max_length=64)
    urgency: str | None = Field(default=None, max_length=16)
    patient_source: str | None = Field(default=None, max_length=16)
    exam_code: str | None = Field(default=None, max_length=32)
    description: str | None = None
    referrer: str | None = None
    requested_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    received_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class StudyEvent(SQLModel, table=True):
    """One entry of a study's audit trail: what happened, who or what did it, and why."""

    id: int | None = Field(default=None, primary_key=True)
    study_id: int = Field(foreign_key="study.id", index=True)
    at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    kind: str = Field(max_length=32)
    actor: str | None = Field(default=None, max_length=64)
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
