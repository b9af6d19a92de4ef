"""The exam catalogue: exam code -> modality, body part, subspecialty, work units, who may read.

A built-in default ships with the package; a network loads its own from CSV or YAML.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

MODALITIES = frozenset(
    {"CR", "DX", "US", "CT", "MR", "NM", "PT", "MG", "RF", "XA", "IO", "PX", "OT"}
)
PLAIN_FILM = frozenset({"CR", "DX"})
# Work units when a study maps to no catalogue entry (DESIGN.md section 8).
MODALITY_DEFAULT_UNITS = {
    "CR": 1.0,
    "DX": 1.0,
    "US": 1.5,
    "CT": 4.0,
    "MR": 5.0,
    "NM": 4.0,
    "PT": 8.0,
    "MG": 1.5,
    "RF": 2.0,
    "XA": 4.0,
}


@dataclass(frozen=True)
class ExamEntry:
    """One catalogue row."""

    code: str
    description: str
    modality: str
    body_part: str | None
    subspecialty: str | None
    work_units: float
    radiographer_reportable: bool


def _truthy(value: Any) -> bool:
    return str(value).strip().lower() in {"1", "true", "yes", "y"}


def _entry(row: dict[str, Any]) -> ExamEntry:
    modality = str(row["modality"]).strip().upper()
    if modality not in MODALITIES:
        raise ValueError(f"exam {row.get('code')!r}: unknown modality {modality!r}")
    return ExamEntry(
        code=str(row["code"]).strip().upper(),
        description=str(row.get("description") or row["code"]).strip(),
        modality=modality,
        body_part=(str(row["body_part"]).strip().upper() or None) if row.get("body_part") else None,
        subspecialty=(str(row["subspecialty"]).strip().lower() or None)
        if row.get("subspecialty")
        else None,
        work_units=float(row.get("work_units") or MODALITY_DEFAULT_UNITS.get(modality, 1.0)),
        radiographer_reportable=_truthy(row.get("radiographer_reportable", False)),
    )


def parse_catalogue(text: str, fmt: str) -> list[ExamEntry]:
    """Parse a catalogue from CSV (header row) or YAML (a list of mappings)."""
    if fmt == "csv":
        rows: list[dict[str, Any]] = list(csv.DictReader(io.StringIO(text)))
    elif fmt in {"yaml", "yml"}:
        loaded = yaml.safe_load(text)
        if not isinstance(loaded, list):
            raise ValueError("a YAML catalogue is a list of exams")
        rows = loaded
    else:
        raise ValueError(f"unknown catalogue format {fmt!r}")
    return [_entry(row) for row in rows]


def load_catalogue_file(path: Path) -> list[ExamEntry]:
    return parse_catalogue(path.read_text(), path.suffix.lstrip(".").lower())


def default_catalogue() -> list[ExamEntry]:
    """The built-in catalogue (worklist/data/exam_catalogue.csv)."""
    text = resources.files("worklist.data").joinpath("exam_catalogue.csv").read_text()
    return parse_catalogue(text, "csv")


class Catalogue:
    """Lookup by code, or by modality + body part when a study arrives without a code."""

    def __init__(self, entries: list[ExamEntry]) -> None:
        self.by_code = {e.code: e for e in entries}
        self.by_modality_part: dict[tuple[str, str | None], ExamEntry] = {}
        for e in entries:
            self.by_modality_part.setdefault((e.modality, e.body_part), e)

    def match(
        self, exam_code: str | None, modality: str, body_part: str | None
    ) -> ExamEntry | None:
        if exam_code and exam_code.upper() in self.by_code:
            return self.by_code[exam_code.upper()]
        return self.by_modality_part.get((modality, body_part))

    def work_units(self, entry: ExamEntry | None, modality: str) -> float:
        return entry.work_units if entry else MODALITY_DEFAULT_UNITS.get(modality, 1.0)
