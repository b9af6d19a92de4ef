"""DICOM and HL7 dates and times -> aware datetimes (local wall-clock time, Europe/London)."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo

DEFAULT_TZ = "Europe/London"

_OFFSET = re.compile(r"^([+-])(\d{2})(\d{2})$")
_HL7_TS = re.compile(
    r"^(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?(?:\.(\d{1,6}))?([+-]\d{4})?$"
)


class TimeFormatError(ValueError):
    """A date or time that does not follow the DICOM DA/TM or HL7 TS format."""


def zone(name: str | None) -> tzinfo:
    return ZoneInfo(name or DEFAULT_TZ)


def parse_offset(text: str | None) -> tzinfo | None:
    """DICOM TimezoneOffsetFromUTC (``+0100``) -> a fixed offset, or None."""
    if not text:
        return None
    m = _OFFSET.match(text.strip())
    if not m:
        return None
    minutes = int(m.group(2)) * 60 + int(m.group(3))
    return timezone(timedelta(minutes=-minutes if m.group(1) == "-" else minutes))


def parse_da(text: str) -> date:
    """DICOM DA (``YYYYMMDD``, also tolerating the old ``YYYY.MM.DD``)."""
    clean = text.strip().replace(".", "").replace("-", "")
    if not re.fullmatch(r"\d{8}", clean):
        raise TimeFormatError(f"bad DICOM date {text!r}")
    try:
        return date(int(clean[:4]), int(clean[4:6]), int(clean[6:8]))
    except ValueError as exc:
        raise TimeFormatError(f"bad DICOM date {text!r}: {exc}") from exc


def parse_tm(text: str) -> time:
    """DICOM TM (``HH[MM[SS[.F]]]``, also tolerating ``HH:MM:SS``)."""
    clean = text.strip().replace(":", "")
    m = re.fullmatch(r"(\d{2})(\d{2})?(\d{2})?(?:\.(\d{1,6}))?", clean)
    if not m:
        raise TimeFormatError(f"bad DICOM time {text!r}")
    hh, mm, ss, frac = m.groups()
    try:
        return time(
            int(hh),
            int(mm or 0),
            min(int(ss or 0), 59),
            int((frac or "0").ljust(6, "0")),
        )
    except ValueError as exc:
        raise TimeFormatError(f"bad DICOM time {text!r}: {exc}") from exc


def dicom_datetime(
    da: str | None, tm: str | None, offset: str | None = None, tz: str | None = None
) -> datetime | None:
    """Study date + time -> aware datetime; the offset tag wins over the site's zone."""
    if not da:
        return None
    day = parse_da(da)
    clock = parse_tm(tm) if tm else time(0, 0)
    fixed = parse_offset(offset)
    return datetime.combine(day, clock, tzinfo=fixed or zone(tz))


def hl7_datetime(text: str | None, tz: str | None = None) -> datetime | None:
    """HL7 TS/DTM (``YYYY[MM[DD[HH[MM[SS[.S]]]]]][+/-ZZZZ]``) -> aware datetime."""
    if not text or not text.strip():
        return None
    m = _HL7_TS.match(text.strip())
    if not m:
        raise TimeFormatError(f"bad HL7 timestamp {text!r}")
    year, month, day, hh, mi, ss, frac, off = m.groups()
    try:
        value = datetime(
            int(year),
            int(month or 1),
            int(day or 1),
            int(hh or 0),
            int(mi or 0),
            min(int(ss or 0), 59),
            int((frac or "0").ljust(6, "0")),
        )
    except ValueError as exc:
        raise TimeFormatError(f"bad HL7 timestamp {text!r}: {exc}") from exc
    fixed = parse_offset(off)
    return value.replace(tzinfo=fixed or zone(tz))


def age_in_years(text: str | None) -> int | None:
    """DICOM AS (``067Y``, ``006M``, ``010W``, ``005D``) -> whole years."""
    if not text:
        return None
    m = re.fullmatch(r"(\d{1,3})([DWMY])", text.strip().upper())
    if not m:
        return None
    n, unit = int(m.group(1)), m.group(2)
    days = {"D": 1, "W": 7, "M": 30.4375, "Y": 365.25}[unit]
    return n if unit == "Y" else int(n * days // 365.25)


def age_from_birth(birth: date, on: date) -> int | None:
    """Whole years between a birth date and a study date (None if nonsensical)."""
    years = on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))
    return years if 0 <= years < 130 else None
