"""Plain value types the allocator exchanges with the worklist service (no ORM, no Redis)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

ReporterGroup = Literal["radiologist", "registrar", "radiographer"]
SessionKind = Literal["core", "insourced"]
HOT_URGENCIES = frozenset({"stroke", "trauma"})


@dataclass(frozen=True)
class ScopeEntry:
    """One scope-of-practice entry; an empty set or a None bound means "any"."""

    modalities: frozenset[str] = frozenset()
    body_parts: frozenset[str] = frozenset()
    patient_sources: frozenset[str] = frozenset()
    exam_codes: frozenset[str] = frozenset()
    min_age: int | None = None
    max_age: int | None = None


@dataclass(frozen=True)
class ReporterProfile:
    """Who a reporter is, as far as eligibility and ranking care.

    Radiologists and registrars with no scope entries may report anything at their sites;
    a radiographer with no scope entries may report nothing.
    """

    reporter_id: str
    group: ReporterGroup
    home_site: str | None
    sites: frozenset[str]
    subspecialties: frozenset[str] = frozenset()
    scope: tuple[ScopeEntry, ...] = ()


@dataclass(frozen=True)
class QueuedStudy:
    """A waiting study as the allocator indexes it. Times are epoch milliseconds (UTC)."""

    study_id: str  # the StudyInstanceUID
    site: str
    modality: str
    body_part: str | None
    exam_code: str | None
    patient_age: int | None
    patient_source: str | None
    urgency: str
    subspecialty: str | None
    requires_subspecialist: bool
    work_units: float
    acquired_ms: int
    due_ms: int
    patient_key: str | None = None
    widening_stage: int = 0  # 0 subspecialists, 1 any eligible radiologist, 2 outsourcing flagged


@dataclass(frozen=True)
class Claim:
    """What a successful pull hands back."""

    study_id: str
    reporter_id: str
    lease_expires_ms: int
    via: Literal["push", "patient", "queue"]
    reason: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class WidenEvent:
    """A study moved to a wider stage of its eligible pool (to be audited in SQL)."""

    study_id: str
    stage: int
    rule: str
