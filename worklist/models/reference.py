"""Reference data a network loads: sites, reporters, exam catalogue, TAT policy, providers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from worklist.models.types import UTCDateTime


class Network(SQLModel, table=True):
    """An imaging network: the unit of one shared worklist (and one Redis hash tag)."""

    code: str = Field(primary_key=True, max_length=32)
    name: str
    timezone: str = "Europe/London"


class Site(SQLModel, table=True):
    """A trust site whose PACS/RIS feed studies in; code is the ODS-style site code."""

    code: str = Field(primary_key=True, max_length=32)
    name: str
    network: str = Field(foreign_key="network.code", index=True)


class Reporter(SQLModel, table=True):
    """A radiologist, registrar or reporting radiographer with credentials and scope."""

    id: str = Field(primary_key=True, max_length=64)
    name: str
    group: str = Field(max_length=16)
    home_site: str | None = Field(default=None, foreign_key="site.code")
    network: str = Field(foreign_key="network.code", index=True)
    sites: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    subspecialties: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    scope: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    active: bool = True
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class ExamType(SQLModel, table=True):
    """One exam catalogue entry: what it is, who may read it and how much effort it is."""

    code: str = Field(primary_key=True, max_length=32)
    description: str
    modality: str = Field(max_length=8, index=True)
    body_part: str | None = None
    subspecialty: str | None = None
    work_units: float = 1.0
    radiographer_reportable: bool = False


class TatTarget(SQLModel, table=True):
    """Turnaround target in minutes for an urgency class and patient source ("*" = any)."""

    urgency: str = Field(primary_key=True, max_length=16)
    patient_source: str = Field(primary_key=True, max_length=16)
    target_minutes: int


class Provider(SQLModel, table=True):
    """An outsourcing company with its modalities, prices per modality and contracted TAT."""

    id: str = Field(primary_key=True, max_length=64)
    name: str
    modalities: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    price: dict[str, float] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    tat_hours: int = 72
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
