"""Request and response bodies for sites, reporters and providers."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, field_validator

from worklist.catalogue import MODALITIES
from worklist.policy import PATIENT_SOURCES


def _upper(values: list[str]) -> list[str]:
    return [v.strip().upper() for v in values if v.strip()]


class SiteIn(BaseModel):
    name: str = Field(min_length=1)
    network: str = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_.-]+$")


class SitePublic(SiteIn):
    code: str


class ScopeEntryIn(BaseModel):
    """One scope-of-practice entry; an empty list or null bound means any."""

    modalities: list[str] = []
    body_parts: list[str] = []
    exam_codes: list[str] = []
    patient_sources: list[str] = []
    min_age: int | None = Field(default=None, ge=0, le=130)
    max_age: int | None = Field(default=None, ge=0, le=130)

    @field_validator("modalities")
    @classmethod
    def _modalities(cls, v: list[str]) -> list[str]:
        v = _upper(v)
        unknown = sorted(set(v) - MODALITIES)
        if unknown:
            raise ValueError(f"unknown modality {unknown}")
        return v

    @field_validator("body_parts", "exam_codes")
    @classmethod
    def _codes(cls, v: list[str]) -> list[str]:
        return _upper(v)

    @field_validator("patient_sources")
    @classmethod
    def _sources(cls, v: list[str]) -> list[str]:
        v = [s.strip().lower() for s in v]
        unknown = sorted(set(v) - set(PATIENT_SOURCES))
        if unknown:
            raise ValueError(f"unknown patient source {unknown}")
        return v


class ReporterIn(BaseModel):
    name: str = Field(min_length=1)
    group: Literal["radiologist", "registrar", "radiographer"]
    home_site: str | None = None
    sites: list[str] = []
    subspecialties: list[str] = []
    scope: list[ScopeEntryIn] = []
    active: bool = True

    @field_validator("subspecialties")
    @classmethod
    def _lower(cls, v: list[str]) -> list[str]:
        return [s.strip().lower() for s in v if s.strip()]


class ReporterPublic(ReporterIn):
    id: str
    network: str


class ProviderIn(BaseModel):
    name: str = Field(min_length=1)
    modalities: list[str] = []
    price: dict[str, float] = {}
    tat_hours: int = Field(default=72, ge=1)

    @field_validator("modalities")
    @classmethod
    def _modalities(cls, v: list[str]) -> list[str]:
        return _upper(v)


class ProviderPublic(ProviderIn):
    id: str
