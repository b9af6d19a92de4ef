"""Turn a stored reporter into the allocator's eligibility profile."""

from __future__ import annotations

from typing import Any

from allocator.types import ReporterProfile, ScopeEntry
from worklist.models import Reporter


def scope_entry(raw: dict[str, Any]) -> ScopeEntry:
    return ScopeEntry(
        modalities=frozenset(raw.get("modalities") or ()),
        body_parts=frozenset(raw.get("body_parts") or ()),
        patient_sources=frozenset(raw.get("patient_sources") or ()),
        exam_codes=frozenset(raw.get("exam_codes") or ()),
        min_age=raw.get("min_age"),
        max_age=raw.get("max_age"),
    )


def profile_of(reporter: Reporter) -> ReporterProfile:
    return ReporterProfile(
        reporter_id=reporter.id,
        group=reporter.group,  # type: ignore[arg-type]
        home_site=reporter.home_site,
        sites=frozenset(reporter.sites),
        subspecialties=frozenset(reporter.subspecialties),
        scope=tuple(scope_entry(e) for e in reporter.scope),
    )
