"""Urgency and turnaround policy: urgency x patient source -> target minutes, and due times."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

URGENCIES = ("stroke", "trauma", "urgent", "cancer", "routine")
PATIENT_SOURCES = ("ed", "inpatient", "outpatient", "gp")
NATIONAL_MAXIMUM_MINUTES = 28 * 24 * 60  # four weeks from acquisition to report
ANY = "*"

# Defaults from DESIGN.md sections 1 and 8; a network overrides any row.
DEFAULT_TAT_MINUTES: dict[tuple[str, str], int] = {
    ("stroke", ANY): 30,
    ("trauma", ANY): 60,
    ("urgent", "ed"): 60,
    ("urgent", "inpatient"): 4 * 60,
    ("urgent", ANY): 24 * 60,
    ("cancer", ANY): 48 * 60,
    ("routine", "ed"): 4 * 60,
    ("routine", "inpatient"): 24 * 60,
    ("routine", ANY): 7 * 24 * 60,
}


def derive_urgency(patient_source: str | None) -> str:
    """When neither the study nor its order says: ED work is urgent, everything else routine."""
    return "urgent" if patient_source == "ed" else "routine"


class TatPolicy:
    """Looks up a target by (urgency, source), falling back to (urgency, any)."""

    def __init__(self, table: Mapping[tuple[str, str], int]) -> None:
        self.table = dict(table)

    def target_minutes(self, urgency: str, patient_source: str | None) -> int:
        minutes = self.table.get((urgency, patient_source or ANY))
        if minutes is None:
            minutes = self.table.get((urgency, ANY), DEFAULT_TAT_MINUTES[("routine", ANY)])
        return min(minutes, NATIONAL_MAXIMUM_MINUTES)

    def due_at(self, acquired_at: datetime, urgency: str, patient_source: str | None) -> datetime:
        return acquired_at + timedelta(minutes=self.target_minutes(urgency, patient_source))
