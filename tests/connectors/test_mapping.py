"""Exam rules, DICOM attribute mapping and time parsing (no peers needed)."""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from pathlib import Path

import pytest

from connectors.catalogue import CATALOGUE
from connectors.dicom_map import MappingError, SiteResolver, primary_modality, study_from_attrs
from connectors.exam_rules import ConfigError, ExamMapper, load_rules
from connectors.timeparse import age_in_years, dicom_datetime, hl7_datetime

SERVICE_CATALOGUE = Path(__file__).parents[2] / "worklist" / "data" / "exam_catalogue.csv"


def test_every_mapped_code_is_in_the_service_catalogue() -> None:
    with SERVICE_CATALOGUE.open() as handle:
        codes = {row["code"] for row in csv.DictReader(handle)}
    ours = {exam.code for exam in CATALOGUE if exam.code}
    assert ours <= codes, ours - codes


@pytest.mark.parametrize(
    ("modality", "description", "code", "body_part"),
    [
        ("CR", "XR Chest PA", "XCHES", "CHEST"),
        ("DX", "L knee 2 views", "XKNEE", "KNEE"),
        ("CT", "CT Head non-contrast", "CTHEA", "HEAD"),
        ("CT", "CT Chest/Abdomen/Pelvis with contrast", "CTCAP", "CAP"),
        ("CT", "CTPA", "CTPA", "CHEST"),
        ("MR", "MRI lumbar spine", "MRSPI", "LSPINE"),
        ("US", "US Abdomen", "USABD", "ABDOMEN"),
        ("US", "Renal tract ultrasound", None, "KIDNEY"),
    ],
)
def test_default_rules(modality: str, description: str, code: str | None, body_part: str) -> None:
    match = ExamMapper().map(modality, description)
    assert (match.exam_code, match.body_part) == (code, body_part)


def test_rules_respect_modality_and_leave_unknowns_unmapped() -> None:
    mapper = ExamMapper()
    assert mapper.map("MR", "MR Head").exam_code == "MRBRA"
    assert mapper.map("CT", "Something odd").exam_code is None
    assert mapper.map("CT", "Something odd").body_part is None


def test_order_code_and_text_without_modality() -> None:
    mapper = ExamMapper()
    assert mapper.map(None, "CT Head", "LOCAL123").exam_code == "CTHEA"
    assert mapper.map(None, None, "XCHES").exam_code == "XCHES"
    assert mapper.map(None, "MR Knee").exam_code == "MRKNE"


def test_yaml_and_csv_rules(tmp_path: Path) -> None:
    yml = tmp_path / "rules.yaml"
    yml.write_text(
        "include_defaults: true\n"
        "rules:\n"
        "  - match: '\\bwidget\\b'\n"
        "    modalities: [CT]\n"
        "    exam_code: CTCHE\n"
        "    body_part: chest\n"
        "  - codes: [RAD123]\n"
        "    exam_code: XHAND\n"
    )
    mapper = ExamMapper.from_file(yml)
    assert mapper.map("CT", "Widget scan").exam_code == "CTCHE"
    assert mapper.map("CT", "Widget scan").body_part == "CHEST"
    assert mapper.map(None, "whatever", "rad123").exam_code == "XHAND"
    assert mapper.map("CT", "CT Head").exam_code == "CTHEA"  # defaults kept
    table = tmp_path / "rules.csv"
    table.write_text("match,codes,modalities,exam_code,body_part\nfoo,,MR,MRKNE,KNEE\n")
    assert ExamMapper.from_file(table).map("MR", "foo bar").exam_code == "MRKNE"
    assert ExamMapper.from_file(table).map("MR", "MR Brain").exam_code is None


def test_bad_rules_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("- match: '('\n  exam_code: X\n")
    with pytest.raises(ConfigError, match="bad regex"):
        load_rules(bad)
    bad.write_text("- exam_code: X\n")
    with pytest.raises(ConfigError, match="needs 'match'"):
        load_rules(bad)


def _attrs(**extra: object) -> dict[str, object]:
    base: dict[str, object] = {
        "StudyInstanceUID": "1.2.3.4",
        "AccessionNumber": "ACC1",
        "ModalitiesInStudy": ["CT", "SR"],
        "StudyDescription": "CT Head",
        "StudyDate": "20260701",
        "StudyTime": "093000",
        "PatientID": "P1",
        "PatientAge": "067Y",
        "InstitutionName": "Royal Infirmary",
    }
    base.update(extra)
    return base


def test_study_from_attrs_maps_everything() -> None:
    item = study_from_attrs(_attrs(), SiteResolver("RXK"), ExamMapper())
    assert item == {
        "study_uid": "1.2.3.4",
        "site": "RXK",
        "modality": "CT",
        "accession": "ACC1",
        "description": "CT Head",
        "body_part": "HEAD",
        "exam_code": "CTHEA",
        "patient_id": "P1",
        "patient_age": 67,
        "acquired_at": "2026-07-01T09:30:00+01:00",  # BST
    }
    assert "PatientName" not in str(item)


def test_unmapped_study_still_flows_with_dicom_body_part() -> None:
    item = study_from_attrs(
        _attrs(StudyDescription="Weird protocol", BodyPartExamined="ABDOMEN"),
        SiteResolver("RXK"),
        ExamMapper(),
    )
    assert "exam_code" not in item
    assert item["body_part"] == "ABDOMEN"
    assert item["description"] == "Weird protocol"


def test_site_by_institution_and_age_from_birth_date() -> None:
    resolver = SiteResolver("RXK", {"royal infirmary": "RL4"})
    attrs = _attrs(PatientAge=None, PatientBirthDate="19600702")
    item = study_from_attrs(attrs, resolver, ExamMapper())
    assert item["site"] == "RL4"
    assert item["patient_age"] == 65


def test_bad_date_falls_back_to_receipt_time() -> None:
    warnings: list[str] = []
    when = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
    item = study_from_attrs(
        _attrs(StudyDate="2026-13-45"),
        SiteResolver("RXK"),
        ExamMapper(),
        received_at=when,
        warnings=warnings,
    )
    assert item["acquired_at"] == when.isoformat()
    assert warnings and "bad DICOM date" in warnings[0]


@pytest.mark.parametrize(
    ("attrs", "reason"),
    [
        ({"StudyInstanceUID": None}, "no StudyInstanceUID"),
        ({"StudyInstanceUID": "1.2.abc"}, "malformed StudyInstanceUID"),
        ({"ModalitiesInStudy": ["SR", "PR"]}, "no imaging modality"),
    ],
)
def test_unusable_studies(attrs: dict[str, object], reason: str) -> None:
    with pytest.raises(MappingError, match=reason):
        study_from_attrs(_attrs(**attrs), SiteResolver("RXK"), ExamMapper())


def test_primary_modality() -> None:
    assert primary_modality(["CT", "PT"]) == "PT"
    assert primary_modality(["CR", "CT", "SR"]) == "CT"
    assert primary_modality(["KO"]) is None


def test_times_and_ages() -> None:
    assert dicom_datetime("20260115", "0800", "+0000") == datetime(2026, 1, 15, 8, tzinfo=UTC)
    assert dicom_datetime("20260115", None).isoformat() == "2026-01-15T00:00:00+00:00"  # type: ignore[union-attr]
    assert hl7_datetime("202607010930").isoformat() == "2026-07-01T09:30:00+01:00"  # type: ignore[union-attr]
    assert hl7_datetime("20260701093000+0000").isoformat() == "2026-07-01T09:30:00+00:00"  # type: ignore[union-attr]
    assert age_in_years("006M") == 0
    assert age_in_years("030Y") == 30
    assert age_in_years("garbage") is None


def test_site_maps(tmp_path: Path) -> None:
    from connectors.sitemap import load_site_map

    assert load_site_map(Path("RXKRIS=RXK, RL4RIS=RL4")) == {"RXKRIS": "RXK", "RL4RIS": "RL4"}
    path = tmp_path / "sites.yaml"
    path.write_text("sites:\n  RXKRIS: RXK\n")
    assert load_site_map(path) == {"RXKRIS": "RXK"}
    with pytest.raises(ConfigError, match="no such file"):
        load_site_map(tmp_path / "missing.yaml")
    path.write_text("- just\n- a list\n")
    with pytest.raises(ConfigError, match="expected a mapping"):
        load_site_map(path)
