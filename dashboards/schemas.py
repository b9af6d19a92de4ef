"""Response models of the dashboards in API.md (the contract); the others answer plain JSON."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class _Answer(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    from_: str = Field(alias="from", description="ISO date or datetime the period starts")
    to: str = Field(description="ISO date (inclusive) or datetime the period ends")


class TurnaroundRow(BaseModel):
    urgency: str
    modality: str
    reported: int
    within_target: int
    median_minutes: float | None
    p90_minutes: float | None
    waiting: int
    breached_waiting: int


class TurnaroundAnswer(_Answer):
    rows: list[TurnaroundRow]


class ShareRow(BaseModel):
    site: str | None
    reported: int
    by_radiographer: int
    share: float | None


class ShareAnswer(_Answer):
    rows: list[ShareRow]
