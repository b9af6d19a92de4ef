"""Study-level DICOM attributes -> the ingest JSON of ``POST /api/v1/studies``.

Every DICOM source (QIDO-RS, Orthanc, C-STORE, C-FIND, files) first turns what it has into a
plain ``{keyword: value}`` mapping, then calls :func:`study_from_attrs`. PatientName is never
read, so it cannot leave the connector.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydicom.dataset import Dataset
from pydicom.multival import MultiValue

from connectors.exam_rules import ExamMapper
from connectors.timeparse import (
    TimeFormatError,
    age_from_birth,
    age_in_years,
    dicom_datetime,
    parse_da,
)

# The only attributes a connector reads. PatientName is deliberately absent.
WANTED: tuple[str, ...] = (
    "StudyInstanceUID",
    "AccessionNumber",
    "ModalitiesInStudy",
    "Modality",
    "StudyDescription",
    "RequestedProcedureDescription",
    "SeriesDescription",
    "StudyDate",
    "StudyTime",
    "SeriesDate",
    "SeriesTime",
    "AcquisitionDate",
    "AcquisitionTime",
    "TimezoneOffsetFromUTC",
    "PatientID",
    "PatientAge",
    "PatientBirthDate",
    "InstitutionName",
    "BodyPartExamined",
)

# Objects that are not images to report: a study's primary modality is never one of these.
NON_IMAGING = frozenset({"SR", "PR", "KO", "DOC", "REG", "SEG", "RTSTRUCT", "OT", "AU", "ECG"})
# When a study holds several imaging modalities, the first of these present names it
# (a PET-CT is PT, a SPECT-CT is NM, a CT with a scout CR is CT).
MODALITY_PRIORITY: tuple[str, ...] = ("PT", "NM", "MR", "CT", "MG", "XA", "RF", "US", "DX", "CR")

_UID = re.compile(r"^[0-9]+(\.[0-9]+)*$")


class MappingError(ValueError):
    """The attributes cannot make a study (no uid, no imaging modality, ...)."""


@dataclass
class SiteResolver:
    """The site a study belongs to: by InstitutionName when mapped, else the connector's site."""

    default: str
    by_institution: dict[str, str] = field(default_factory=dict)

    def site_for(self, institution: str | None) -> str:
        if institution:
            key = institution.strip().upper()
            for name, code in self.by_institution.items():
                if name.strip().upper() == key:
                    return code
        return self.default


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, list | tuple | MultiValue):
        value = "\\".join(str(v) for v in value)
    text = str(value).strip().strip("\x00").strip()
    return text or None


def _values(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list | tuple | MultiValue):
        items: Iterable[Any] = value
    else:
        items = str(value).split("\\")
    return [s for s in (str(v).strip().upper() for v in items) if s]


def attrs_from_dataset(ds: Dataset) -> dict[str, Any]:
    """The wanted attributes of a pydicom Dataset (values as text or lists of text)."""
    out: dict[str, Any] = {}
    for keyword in WANTED:
        value = ds.get(keyword)  # by keyword, pydicom answers the value itself
        if value is None:
            continue
        if isinstance(value, MultiValue | list):
            out[keyword] = [str(v) for v in value]
        elif value is not None and value != "":
            out[keyword] = str(value)
    return out


def primary_modality(modalities: Iterable[str]) -> str | None:
    """The modality a study is reported as."""
    present = [m for m in modalities if m and m not in NON_IMAGING]
    for candidate in MODALITY_PRIORITY:
        if candidate in present:
            return candidate
    return present[0] if present else None


def _acquired_at(attrs: Mapping[str, Any], tz: str | None) -> datetime | None:
    offset = _text(attrs.get("TimezoneOffsetFromUTC"))
    for da_key, tm_key in (
        ("StudyDate", "StudyTime"),
        ("SeriesDate", "SeriesTime"),
        ("AcquisitionDate", "AcquisitionTime"),
    ):
        da = _text(attrs.get(da_key))
        if da:
            return dicom_datetime(da, _text(attrs.get(tm_key)), offset, tz)
    return None


def patient_age(attrs: Mapping[str, Any]) -> int | None:
    """From PatientAge, else from PatientBirthDate and StudyDate."""
    age = age_in_years(_text(attrs.get("PatientAge")))
    if age is not None:
        return age
    birth, on = _text(attrs.get("PatientBirthDate")), _text(attrs.get("StudyDate"))
    if birth and on:
        try:
            return age_from_birth(parse_da(birth), parse_da(on))
        except TimeFormatError:
            return None
    return None


def study_from_attrs(
    attrs: Mapping[str, Any],
    sites: SiteResolver,
    mapper: ExamMapper,
    *,
    tz: str | None = None,
    received_at: datetime | None = None,
    warnings: list[str] | None = None,
) -> dict[str, Any]:
    """Build one API study item; raises :class:`MappingError` when there is no study to send.

    A missing or malformed study date falls back to the time the connector received the
    study (noted in ``warnings``): a study must reach the worklist even with a bad header.
    """
    uid = _text(attrs.get("StudyInstanceUID"))
    if not uid:
        raise MappingError("no StudyInstanceUID")
    if len(uid) > 64 or not _UID.match(uid):
        raise MappingError(f"malformed StudyInstanceUID {uid!r}")
    modalities = _values(attrs.get("ModalitiesInStudy")) or _values(attrs.get("Modality"))
    modality = primary_modality(modalities)
    if modality is None:
        raise MappingError(
            f"no imaging modality (ModalitiesInStudy={'/'.join(modalities) or 'absent'})"
        )
    description = (
        _text(attrs.get("StudyDescription"))
        or _text(attrs.get("RequestedProcedureDescription"))
        or _text(attrs.get("SeriesDescription"))
    )
    exam = mapper.map(modality, description)
    dicom_parts = _values(attrs.get("BodyPartExamined"))
    body_part = exam.body_part or (dicom_parts[0] if dicom_parts else None)
    try:
        acquired = _acquired_at(attrs, tz)
    except TimeFormatError as exc:
        acquired = None
        if warnings is not None:
            warnings.append(f"{exc}; using the time received")
    if acquired is None:
        acquired = received_at or datetime.now(UTC)
    study: dict[str, Any] = {
        "study_uid": uid,
        "site": sites.site_for(_text(attrs.get("InstitutionName"))),
        "modality": modality,
        "accession": _text(attrs.get("AccessionNumber")),
        "description": description,
        "body_part": body_part,
        "exam_code": exam.exam_code,
        "patient_id": _text(attrs.get("PatientID")),
        "patient_age": patient_age(attrs),
        "acquired_at": acquired.isoformat(),
    }
    return {k: v for k, v in study.items() if v is not None}
