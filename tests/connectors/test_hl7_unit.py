"""HL7 parsing, mapping and ACK building (no peers needed)."""

from __future__ import annotations

import pytest

from connectors.hl7_ack import AA, AE, AR, ack_code, build_ack
from connectors.hl7_map import (
    Hl7Error,
    Hl7ParseError,
    Hl7Rules,
    UnsupportedMessage,
    orders_from_orm,
    parse,
    reports_from_oru,
    to_items,
)
from connectors.hl7_server import redact


def orm(
    *,
    facility: str = "RXKRIS",
    patient_class: str = "E",
    priority: str = "S",
    exam: str = "CTHEA^CT Head^LOCAL",
    accession: str = "ACC100",
    clinical: str = "",
    ordering: str = "C1234567^WHO^JOHN",
    entering_org: str = "",
    control: str = "NW",
) -> str:
    return "\r".join(
        [
            f"MSH|^~\\&|CRIS|{facility}|WORKLIST|NET|20261123083000||ORM^O01|MSG0001|P|2.4",
            "PID|||P123^^^RXK||DOE^JANE||19500101|F|||1 High St^^Town",
            f"PV1||{patient_class}|ED^^^RXK||||{ordering}",
            f"ORC|{control}|PLC1|FIL1||SC||^^^^^{priority}||20261123082500|||{ordering}|||||"
            f"{entering_org}",
            f"OBR|1|PLC1|FIL1|{exam}|||||||||{clinical}|||{ordering}||{accession}||||||CT",
        ]
    )


def test_orm_maps_to_an_order() -> None:
    rules = Hl7Rules(site_map={"RXKRIS": "RXK"})
    parsed = to_items(parse(orm()), rules)
    assert parsed.endpoint == "/api/v1/orders"
    assert parsed.items == [
        {
            "site": "RXK",
            "accession": "ACC100",
            "urgency": "urgent",
            "patient_source": "ed",
            "exam_code": "CTHEA",
            "description": "CT Head",
            "referrer": "C1234567 JOHN WHO",
            "requested_at": "2026-11-23T08:25:00+00:00",
        }
    ]


@pytest.mark.parametrize(
    ("kwargs", "urgency", "source"),
    [
        ({"priority": "R", "patient_class": "I"}, "routine", "inpatient"),
        ({"priority": "R", "clinical": "Code stroke, onset 40 min"}, "stroke", "ed"),
        ({"priority": "S", "clinical": "Major trauma call"}, "trauma", "ed"),
        (
            {"priority": "R", "patient_class": "O", "clinical": "2WW suspected cancer"},
            "cancer",
            "outpatient",
        ),
        (
            {"priority": "S", "patient_class": "O", "clinical": "suspected cancer"},
            "urgent",
            "outpatient",
        ),
        ({"priority": "R", "patient_class": "O", "ordering": "G1234567^GP^A"}, "routine", "gp"),
        (
            {"priority": "R", "patient_class": "O", "entering_org": "M85001^Elm Tree Surgery"},
            "routine",
            "gp",
        ),
        ({"priority": "", "patient_class": "O"}, None, "outpatient"),
    ],
)
def test_urgency_and_source_rules(kwargs: dict[str, str], urgency: str | None, source: str) -> None:
    item = orders_from_orm(parse(orm(**kwargs)), Hl7Rules()).items[0]
    assert item.get("urgency") == urgency
    assert item["patient_source"] == source


def test_explicit_priority_codes_are_configurable() -> None:
    rules = Hl7Rules()
    rules.priorities["HASU"] = "stroke"
    assert orders_from_orm(parse(orm(priority="HASU")), rules).items[0]["urgency"] == "stroke"


def test_unknown_facility_passes_through_and_default_site_wins() -> None:
    assert orders_from_orm(parse(orm(facility="ZZZ")), Hl7Rules()).items[0]["site"] == "ZZZ"
    rules = Hl7Rules(default_site="RL4")
    assert orders_from_orm(parse(orm(facility="ZZZ")), rules).items[0]["site"] == "RL4"


def test_cancellations_are_not_forwarded() -> None:
    parsed = orders_from_orm(parse(orm(control="CA")), Hl7Rules())
    assert parsed.endpoint is None and "cancellation" in parsed.note


def test_missing_accession_is_an_error() -> None:
    text = orm(accession="").replace("|PLC1|FIL1|", "|||")
    with pytest.raises(Hl7Error, match="no accession"):
        orders_from_orm(parse(text), Hl7Rules())


def oru(status: str = "F", accession: str = "ACC100") -> str:
    return "\r".join(
        [
            "MSH|^~\\&|CRIS|RXK|WORKLIST|NET|20261123120000||ORU^R01|MSG0002|P|2.4",
            "PID|||P123^^^RXK||DOE^JANE",
            "OBR|1|PLC1|FIL1|CTHEA^CT Head||||||||||||||" + accession + "||||"
            "20261123115500|||" + status + "|||||||OUT01&Outsource&Rad",
            "OBX|1|TX|REPORT||No acute intracranial abnormality.||||||F",
        ]
    )


def test_final_oru_becomes_a_report() -> None:
    parsed = reports_from_oru(parse(oru()), Hl7Rules())
    assert parsed.items == [
        {
            "site": "RXK",
            "reported_at": "2026-11-23T11:55:00+00:00",
            "accession": "ACC100",
            "reporter": "OUT01",
        }
    ]


def test_preliminary_oru_is_acknowledged_not_forwarded() -> None:
    parsed = reports_from_oru(parse(oru(status="P")), Hl7Rules())
    assert parsed.endpoint is None and "not final" in parsed.note


def test_unparseable_and_unsupported() -> None:
    with pytest.raises(Hl7ParseError):
        parse("this is not HL7")
    with pytest.raises(Hl7ParseError):
        parse("MSH|^~\\&|A|B")
    adt = orm().replace("ORM^O01", "ADT^A01")
    with pytest.raises(UnsupportedMessage):
        to_items(parse(adt), Hl7Rules())


def test_acks() -> None:
    ack = build_ack(orm(), AA, "ok")
    lines = ack.strip("\r").split("\r")
    assert lines[0].startswith("MSH|^~\\&|WORKLIST|NET|CRIS|RXKRIS|")
    assert "|ACK^O01^ACK|" in lines[0]
    assert lines[1] == "MSA|AA|MSG0001|ok"
    error = build_ack(orm(), AE, "site 'ZZZ' is not registered | bad")
    assert ack_code(error) == AE
    assert "\\F\\" in error and error.split("\r")[2].startswith("ERR|")
    garbage = build_ack("not hl7 at all", AR, "unparseable")
    assert ack_code(garbage) == AR


def test_quarantine_copy_has_no_patient_name() -> None:
    kept = redact(orm())
    assert "DOE" not in kept and "High St" not in kept
    assert "P123" in kept
