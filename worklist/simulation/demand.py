"""Demand for a simulation: studies from the PACS simulator's model or a CSV export.

CSV columns (header required, names case-insensitive, extra columns ignored):

  study_uid       unique id (required)
  site            site code (required)
  modality        CR, DX, CT, MR, US, ... (required)
  acquired_at     ISO 8601 with a UTC offset (required)
  body_part, exam_code, patient_age, patient_source (ed|inpatient|outpatient|gp),
  urgency (stroke|trauma|urgent|cancer|routine), patient_id, description   (optional)

Each study is completed the way ingest completes it (exam catalogue, urgency, subspecialty,
work units, due time), so the simulation sees what the service would.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from allocator.types import QueuedStudy
from worklist.catalogue import Catalogue, default_catalogue
from worklist.policy import DEFAULT_TAT_MINUTES, TatPolicy
from worklist.studies.derive import study_columns
from worklist.studies.queueing import to_queued
from worklist.studies.schemas import StudyIn

OPTIONAL_INT = ("patient_age",)


@dataclass(frozen=True)
class SimStudy:
    """A study as the simulation needs it: the allocator's view plus what the report needs."""

    queued: QueuedStudy
    radiographer_reportable: bool

    @property
    def uid(self) -> str:
        return self.queued.study_id


def complete_studies(raw: Iterable[Mapping[str, Any]], network: str) -> list[SimStudy]:
    """Validate and fill in studies as ingest does; sorted by acquisition time."""
    catalogue = Catalogue(default_catalogue())
    policy = TatPolicy(DEFAULT_TAT_MINUTES)
    now = datetime.now(UTC)
    out = []
    for item in raw:
        study = StudyIn.model_validate(item)
        cols = study_columns(study, None, catalogue, policy, network, item.get("patient_id"), now)
        out.append(SimStudy(to_queued(cols), bool(cols["radiographer_reportable"])))
    out.sort(key=lambda s: (s.queued.acquired_ms, s.uid))
    return out


def from_model(
    sites: Sequence[str], start: datetime, days: float, per_day: float, seed: int
) -> list[SimStudy]:
    """``days`` of arrivals from the PACS simulator's mix and daily curve."""
    from connectors.simulator import iter_studies

    end = start + timedelta(days=days)
    raw = []
    for item in iter_studies(sites, start, seed, per_day=per_day):
        if datetime.fromisoformat(item["acquired_at"]) >= end:
            break
        raw.append(item)
    return complete_studies(raw, "sim")


def from_csv(path: Path) -> list[SimStudy]:
    """A CSV export of real studies (columns in the module docstring)."""
    with path.open(newline="", encoding="utf-8") as f:
        rows = []
        for row in csv.DictReader(f):
            item: dict[str, Any] = {
                (k or "").strip().lower(): v.strip() for k, v in row.items() if v and v.strip()
            }
            for name in OPTIONAL_INT:
                if name in item:
                    item[name] = int(item[name])
            rows.append(item)
    return complete_studies(rows, "sim")
