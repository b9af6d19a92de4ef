"""HL7 v2 ORM^O01 orders and ORU^R01 results -> the API's orders and reports.

Mappings (all configurable, see :class:`Hl7Rules`):
- site: MSH-4 (sending facility) through a site map;
- accession: OBR-18, else OBR-3 (filler order number), else ORC-3;
- urgency: the most urgent of an explicit pathway rule (stroke / trauma / cancer codes found in
  OBR-13, OBR-31, ORC-16 or the exam text) and the priority in ORC-7.6 / OBR-27.6 / OBR-5;
- patient source: PV1-2 class (E ed, I inpatient, O outpatient), and ``gp`` when an outpatient
  order comes from a GP (by the referrer's national code or the ordering organisation);
- exam: OBR-4 code and text through the exam rules; referrer ORC-12 / OBR-16;
- reports: OBR-25 F (final) or C (corrected), OBR-22 as the report time, OBR-32 the reporter.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import hl7

from connectors.exam_rules import ExamMapper
from connectors.timeparse import TimeFormatError, hl7_datetime

URGENCY_ORDER = ("stroke", "trauma", "urgent", "cancer", "routine")
DEFAULT_PRIORITIES: dict[str, str] = {
    "S": "urgent",  # STAT
    "STAT": "urgent",
    "A": "urgent",  # ASAP
    "ASAP": "urgent",
    "T": "urgent",  # timing critical
    "U": "urgent",
    "URGENT": "urgent",
    "R": "routine",
    "ROUTINE": "routine",
    "P": "routine",  # pre-op
    "C": "routine",  # callback
    "2WW": "cancer",
    "USC": "cancer",
    "STROKE": "stroke",
    "TRAUMA": "trauma",
}
DEFAULT_PATHWAYS: tuple[tuple[str, str], ...] = (
    (r"\b(stroke|cva|hyper-?acute|thromboly\w*|thrombectomy|code ?stroke)\b", "stroke"),
    (r"\b(major trauma|trauma call|trauma team|mtc|polytrauma)\b", "trauma"),
    (r"\b(2 ?ww|usc|suspected cancer|two week wait|cancer pathway|fast ?track)\b", "cancer"),
)
DEFAULT_CLASSES: dict[str, str] = {
    "E": "ed",
    "I": "inpatient",
    "O": "outpatient",
    "P": "outpatient",  # pre-admit
    "R": "outpatient",  # recurring
    "B": "outpatient",  # obstetrics
}
# GP national practitioner codes (G + 7 digits) and typical organisation names.
DEFAULT_GP_REFERRER = r"^G\d{7}$"
DEFAULT_GP_ORGANISATION = (
    r"\b(gp|general practi\w*|surgery|medical (centre|center|practice)|health centre)\b"
)
MODALITY_SECTIONS = frozenset({"CR", "DX", "CT", "MR", "US", "NM", "PT", "MG", "RF", "XA"})
FINAL_STATUSES = frozenset({"F", "C"})
CANCEL_CONTROLS = frozenset({"CA", "OC", "DC", "CR"})


class Hl7Error(ValueError):
    """A message that parsed but cannot be turned into an item (AE)."""


class Hl7ParseError(ValueError):
    """A message that is not HL7 at all, or has no usable MSH (AR)."""


class UnsupportedMessage(ValueError):
    """A message type this connector does not handle (AR)."""


@dataclass
class Hl7Rules:
    """Every mapping choice, with NHS-flavoured defaults."""

    site_map: dict[str, str] = field(default_factory=dict)
    default_site: str | None = None
    tz: str | None = None
    priorities: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_PRIORITIES))
    pathways: list[tuple[re.Pattern[str], str]] = field(
        default_factory=lambda: [(re.compile(p, re.I), u) for p, u in DEFAULT_PATHWAYS]
    )
    patient_classes: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_CLASSES))
    gp_referrer: re.Pattern[str] = field(default_factory=lambda: re.compile(DEFAULT_GP_REFERRER))
    gp_organisation: re.Pattern[str] = field(
        default_factory=lambda: re.compile(DEFAULT_GP_ORGANISATION, re.I)
    )
    accession_fields: tuple[str, ...] = ("OBR-18", "OBR-3", "ORC-3")
    mapper: ExamMapper = field(default_factory=ExamMapper)

    def site_for(self, facility: str) -> str | None:
        key = facility.strip().upper()
        for name, code in self.site_map.items():
            if name.strip().upper() == key:
                return code
        return self.default_site or (key or None)


# -- parsing ----------------------------------------------------------------------------------
def parse(raw: str) -> hl7.Message:
    """Parse one message; :class:`Hl7ParseError` when it is not HL7 v2."""
    text = raw.strip("\x0b\x1c\r\n ").replace("\r\n", "\r").replace("\n", "\r")
    if not text.startswith("MSH") or len(text) < 8:
        raise Hl7ParseError("no MSH segment at the start of the message")
    try:
        message = hl7.parse(text)
        msh = message.segment("MSH")
    except Exception as exc:  # the parser raises several kinds on bad input
        raise Hl7ParseError(f"unparseable HL7: {exc}") from exc
    if len(msh) < 10 or not str(msh[9]).strip():
        raise Hl7ParseError("MSH-9 (message type) is missing")
    return message


class Fields:
    """Read fields and components by HL7 numbers; absent ones read as ''."""

    def __init__(self, message: hl7.Message) -> None:
        self.message = message
        # hl7's separators: segment, field, repetition, component, sub-component.
        seps = str(message.separators)
        self.rep = seps[2] if len(seps) > 2 else "~"
        self.comp = seps[3] if len(seps) > 3 else "^"
        self.sub = seps[4] if len(seps) > 4 else "&"

    def segments(self, seg_id: str) -> list[Any]:
        try:
            return list(self.message.segments(seg_id))
        except KeyError:
            return []

    def raw(self, segment: Any, n: int) -> str:
        try:
            return str(segment[n]) if segment is not None and len(segment) > n else ""
        except (IndexError, KeyError):
            return ""

    def get(self, segment: Any, n: int, comp: int = 1, sub: int = 1) -> str:
        value = self.raw(segment, n).split(self.rep)[0]
        parts = value.split(self.comp)
        if comp > len(parts):
            return ""
        subparts = parts[comp - 1].split(self.sub)
        text = subparts[sub - 1] if sub <= len(subparts) else ""
        return str(self.message.unescape(text)).strip() if "\\" in text else text.strip()

    def first(self, seg_id: str) -> Any:
        found = self.segments(seg_id)
        return found[0] if found else None


def message_type(message: hl7.Message) -> tuple[str, str]:
    f = Fields(message)
    msh = f.first("MSH")
    return f.get(msh, 9, 1).upper(), f.get(msh, 9, 2).upper()


def _site(f: Fields, rules: Hl7Rules) -> str:
    facility = f.get(f.first("MSH"), 4, 1)
    site = rules.site_for(facility)
    if not site:
        raise Hl7Error("MSH-4 (sending facility) is empty and no default site is configured")
    return site


def _when(text: str, rules: Hl7Rules) -> datetime | None:
    try:
        return hl7_datetime(text, rules.tz)
    except TimeFormatError:
        return None


def _field_ref(f: Fields, orc: Any, obr: Any, ref: str) -> str:
    seg_id, _, number = ref.partition("-")
    segment = orc if seg_id.upper() == "ORC" else obr
    return f.get(segment, int(number), 1)


def _urgency(f: Fields, orc: Any, obr: Any, rules: Hl7Rules) -> str | None:
    candidates: list[str] = []
    for priority in (f.get(orc, 7, 6), f.get(obr, 27, 6), f.get(obr, 5, 1)):
        mapped = rules.priorities.get(priority.upper()) if priority else None
        if mapped:
            candidates.append(mapped)
    texts = [
        f.raw(obr, 13),
        f.raw(obr, 31),
        f.raw(orc, 16),
        f.get(obr, 4, 2),
        f.get(orc, 7, 6),
        f.get(obr, 27, 6),
    ]
    for pattern, urgency in rules.pathways:
        if any(t and pattern.search(t) for t in texts):
            candidates.append(urgency)
    known = [c for c in candidates if c in URGENCY_ORDER]
    return min(known, key=URGENCY_ORDER.index) if known else None


def _patient_source(f: Fields, orc: Any, obr: Any, rules: Hl7Rules) -> str | None:
    pv1 = f.first("PV1")
    klass = f.get(pv1, 2, 1).upper()
    source = rules.patient_classes.get(klass)
    if source in (None, "outpatient"):
        referrers = [f.get(orc, 12, 1), f.get(obr, 16, 1), f.get(pv1, 8, 1)]
        organisations = [f.raw(orc, 17), f.get(pv1, 14, 1), f.get(pv1, 10, 1), f.raw(orc, 21)]
        if any(r and rules.gp_referrer.search(r) for r in referrers) or any(
            o and rules.gp_organisation.search(o) for o in organisations
        ):
            return "gp"
    return source


def _referrer(f: Fields, orc: Any, obr: Any) -> str | None:
    for segment, n in ((orc, 12), (obr, 16)):
        ident = f.get(segment, n, 1)
        family, given = f.get(segment, n, 2), f.get(segment, n, 3)
        name = " ".join(p for p in (given, family) if p)
        if ident or name:
            return f"{ident} {name}".strip() if ident and name else ident or name
    return None


def _pairs(f: Fields) -> list[tuple[Any, Any]]:
    """(ORC, OBR) pairs in message order; an OBR without its own ORC takes the last one."""
    pairs: list[tuple[Any, Any]] = []
    orc = None
    for segment in f.message:
        seg_id = str(segment[0]).strip()
        if seg_id == "ORC":
            orc = segment
        elif seg_id == "OBR":
            pairs.append((orc, segment))
    return pairs


def _accession(f: Fields, orc: Any, obr: Any, rules: Hl7Rules) -> str:
    for ref in rules.accession_fields:
        value = _field_ref(f, orc, obr, ref)
        if value:
            return value
    raise Hl7Error(f"no accession number (looked in {', '.join(rules.accession_fields)})")


@dataclass
class Parsed:
    """What a message asks for: items for one endpoint, or nothing with a note why."""

    endpoint: str | None
    items: list[dict[str, Any]]
    note: str = ""


def orders_from_orm(message: hl7.Message, rules: Hl7Rules) -> Parsed:
    """Each ORC/OBR pair -> one API order. Cancellations are acknowledged, not forwarded."""
    f = Fields(message)
    site = _site(f, rules)
    pairs = _pairs(f)
    if not pairs:
        raise Hl7Error("ORM without an OBR segment")
    msh_time = _when(f.get(f.first("MSH"), 7, 1), rules)
    items: list[dict[str, Any]] = []
    cancelled = 0
    for orc, obr in pairs:
        if f.get(orc, 1, 1).upper() in CANCEL_CONTROLS:
            cancelled += 1
            continue
        code, text = f.get(obr, 4, 1), f.get(obr, 4, 2)
        section = f.get(obr, 24, 1).upper()
        modality = section if section in MODALITY_SECTIONS else None
        exam = rules.mapper.map(modality, text or None, code or None)
        requested = _when(f.get(orc, 9, 1), rules) or _when(f.get(obr, 6, 1), rules) or msh_time
        order: dict[str, Any] = {
            "site": site,
            "accession": _accession(f, orc, obr, rules),
            "urgency": _urgency(f, orc, obr, rules),
            "patient_source": _patient_source(f, orc, obr, rules),
            "exam_code": exam.exam_code,
            "description": text or code or None,
            "referrer": _referrer(f, orc, obr),
            "requested_at": requested.isoformat() if requested else None,
        }
        items.append({k: v for k, v in order.items() if v is not None})
    note = f"{cancelled} cancellation(s) not forwarded" if cancelled else ""
    return Parsed("/api/v1/orders" if items else None, items, note)


def _study_uid(f: Fields) -> str | None:
    zds = f.first("ZDS")
    uid = f.get(zds, 1, 1) if zds is not None else ""
    if uid:
        return uid
    for obx in f.segments("OBX"):
        label = f.raw(obx, 3).upper()
        if "113014" in label or "STUDY INSTANCE UID" in label or "STUDYINSTANCEUID" in label:
            value = f.get(obx, 5, 1)
            if value:
                return value
    return None


def reports_from_oru(message: hl7.Message, rules: Hl7Rules) -> Parsed:
    """Each final (F) or corrected (C) OBR -> one API report; preliminary ones are noted."""
    f = Fields(message)
    site = _site(f, rules)
    pairs = _pairs(f)
    if not pairs:
        raise Hl7Error("ORU without an OBR segment")
    msh_time = _when(f.get(f.first("MSH"), 7, 1), rules)
    uid = _study_uid(f)
    items: list[dict[str, Any]] = []
    skipped: list[str] = []
    for orc, obr in pairs:
        status = f.get(obr, 25, 1).upper()
        if status not in FINAL_STATUSES:
            skipped.append(status or "blank")
            continue
        obx_time = next(
            (
                t
                for t in (_when(f.get(o, 14, 1), rules) for o in f.segments("OBX"))
                if t is not None
            ),
            None,
        )
        reported = _when(f.get(obr, 22, 1), rules) or obx_time or msh_time or datetime.now(UTC)
        reporter = f.get(obr, 32, 1, 1) or f.get(obr, 32, 1, 2) or None
        report: dict[str, Any] = {"site": site, "reported_at": reported.isoformat()}
        try:
            report["accession"] = _accession(f, orc, obr, rules)
        except Hl7Error:
            if not uid:
                raise
        if uid and len(pairs) == 1:
            report["study_uid"] = uid
        if reporter:
            report["reporter"] = reporter
        items.append(report)
    note = f"not final (OBR-25 {', '.join(skipped)}): not forwarded" if skipped else ""
    return Parsed("/api/v1/reports" if items else None, items, note)


def to_items(message: hl7.Message, rules: Hl7Rules) -> Parsed:
    """Dispatch on MSH-9."""
    kind, trigger = message_type(message)
    if kind in {"ORM", "OMG", "OMI"} and trigger in {"O01", "O19", "O23", ""}:
        return orders_from_orm(message, rules)
    if kind == "ORU" and trigger in {"R01", ""}:
        return reports_from_oru(message, rules)
    raise UnsupportedMessage(f"unsupported message type {kind}^{trigger}")
