"""Bodies for study, order and report ingest, and the study views."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from worklist.catalogue import MODALITIES

Urgency = Literal["stroke", "trauma", "urgent", "cancer", "routine"]
PatientSource = Literal["ed", "inpatient", "outpatient", "gp"]


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        raise ValueError("time needs a UTC offset (ISO 8601, e.g. 2026-11-23T08:00:00+00:00)")
    return value


class StudyIn(BaseModel):
    """One study as a PACS feed delivers it."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    study_uid: str = Field(min_length=1, max_length=128)
    accession: str | None = Field(default=None, max_length=64)
    site: str = Field(min_length=1, max_length=32)
    modality: str
    body_part: str | None = Field(default=None, max_length=64)
    exam_code: str | None = Field(default=None, max_length=32)
    description: str | None = Field(default=None, max_length=256)
    patient_id: str | None = Field(default=None, max_length=64)
    patient_age: int | None = Field(default=None, ge=0, le=130)
    patient_source: PatientSource | None = None
    urgency: Urgency | None = None
    subspecialty: str | None = Field(default=None, max_length=32)
    requires_subspecialist: bool = False
    acquired_at: datetime

    @field_validator("modality")
    @classmethod
    def _modality(cls, v: str) -> str:
        v = v.strip().upper()
        if v not in MODALITIES:
            raise ValueError(f"unknown modality {v!r}")
        return v

    @field_validator("site", "body_part", "exam_code")
    @classmethod
    def _upper(cls, v: str | None) -> str | None:
        return v.strip().upper() or None if v else None

    @field_validator("subspecialty")
    @classmethod
    def _lower(cls, v: str | None) -> str | None:
        return v.strip().lower() or None if v else None

    @field_validator("acquired_at")
    @classmethod
    def _tz(cls, v: datetime) -> datetime:
        checked = _aware(v)
        assert checked is not None
        return checked


class OrderIn(BaseModel):
    """A RIS order keyed by site + accession; everything else optional."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    site: str = Field(min_length=1, max_length=32)
    accession: str = Field(min_length=1, max_length=64)
    urgency: Urgency | None = None
    patient_source: PatientSource | None = None
    exam_code: str | None = Field(default=None, max_length=32)
    description: str | None = Field(default=None, max_length=256)
    referrer: str | None = Field(default=None, max_length=128)
    requested_at: datetime | None = None

    @field_validator("site", "exam_code")
    @classmethod
    def _upper(cls, v: str | None) -> str | None:
        return v.strip().upper() or None if v else None

    _tz = field_validator("requested_at")(classmethod(lambda cls, v: _aware(v)))


class ReportIn(BaseModel):
    """A report made outside the balancer (e.g. an outsourced report returned by the RIS)."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    study_uid: str | None = None
    site: str | None = None
    accession: str | None = None
    reported_at: datetime
    reporter: str | None = Field(default=None, max_length=64)

    _tz = field_validator("reported_at")(classmethod(lambda cls, v: _aware(v)))

    @field_validator("site")
    @classmethod
    def _upper(cls, v: str | None) -> str | None:
        return v.strip().upper() or None if v else None


class Rejection(BaseModel):
    index: int
    error: str


class IngestResult(BaseModel):
    created: int = 0
    updated: int = 0
    rejected: list[Rejection] = []


def describe_error(error: ValidationError) -> str:
    """A short human reason from a pydantic error: 'field: message; ...'."""
    parts = []
    for item in error.errors():
        where = ".".join(str(p) for p in item["loc"]) or "item"
        parts.append(f"{where}: {item['msg']}")
    return "; ".join(parts)


def validate_items(
    items: list[Any], model: type[BaseModel]
) -> tuple[list[tuple[int, Any]], list[Rejection]]:
    """Validate each item on its own so one bad item never sinks the batch."""
    good: list[tuple[int, Any]] = []
    bad: list[Rejection] = []
    for index, raw in enumerate(items):
        if not isinstance(raw, dict):
            bad.append(Rejection(index=index, error="item: expected a JSON object"))
            continue
        try:
            good.append((index, model.model_validate(raw)))
        except ValidationError as e:
            bad.append(Rejection(index=index, error=describe_error(e)))
    return good, bad


class EventPublic(BaseModel):
    at: datetime
    kind: str
    actor: str | None
    detail: dict[str, Any]


class StudyPublic(BaseModel):
    study_uid: str
    status: str
    due_at: datetime
    urgency: str
    assignee: str | None
    sourcing: str | None
    accession: str | None
    site: str
    modality: str
    body_part: str | None
    exam_code: str | None
    description: str | None
    patient_age: int | None
    patient_source: str | None
    subspecialty: str | None
    requires_subspecialist: bool
    work_units: float
    acquired_at: datetime
    reported_at: datetime | None
    reported_by: str | None
    widening_stage: int
    outsourcing_recommended: bool


class StudyDetail(StudyPublic):
    events: list[EventPublic] = []


class StudyPage(BaseModel):
    items: list[StudyPublic]
    next_cursor: str | None
