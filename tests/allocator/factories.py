"""Builders for studies and profiles with sensible defaults, so each test states only what it
is about."""

from __future__ import annotations

from typing import Any

from allocator.types import QueuedStudy, ReporterProfile, ScopeEntry

T0 = 1_790_000_000_000  # a fixed "now" (ms), late 2026
MIN = 60_000
HOUR = 60 * MIN


def study(sid: str, **kw: Any) -> QueuedStudy:
    """A routine adult GP chest X-ray at site A, due in 24 h, unless told otherwise."""
    base: dict[str, Any] = {
        "study_id": sid,
        "site": "A",
        "modality": "CR",
        "body_part": "CHEST",
        "exam_code": None,
        "patient_age": 50,
        "patient_source": "gp",
        "urgency": "routine",
        "subspecialty": None,
        "requires_subspecialist": False,
        "work_units": 1.0,
        "acquired_ms": T0 - HOUR,
        "due_ms": T0 + 24 * HOUR,
        "patient_key": None,
        "widening_stage": 0,
    }
    base.update(kw)
    return QueuedStudy(**base)


def entry(**kw: Any) -> ScopeEntry:
    """A scope entry; list arguments become frozensets."""
    return ScopeEntry(
        **{k: frozenset(v) if isinstance(v, list | set) else v for k, v in kw.items()}
    )


def radiologist(rid: str, sites: tuple[str, ...] = ("A",), **kw: Any) -> ReporterProfile:
    kw.setdefault("home_site", None)
    return ReporterProfile(
        reporter_id=rid,
        group=kw.pop("group", "radiologist"),
        sites=frozenset(sites),
        subspecialties=frozenset(kw.pop("subspecialties", ())),
        scope=tuple(kw.pop("scope", ())),
        **kw,
    )


def radiographer(
    rid: str, scope: list[ScopeEntry], sites: tuple[str, ...] = ("A",), **kw: Any
) -> ReporterProfile:
    return radiologist(rid, sites, group="radiographer", scope=scope, **kw)


CHEST_XR = entry(modalities=["CR", "DX"], body_parts=["CHEST"], min_age=16)
