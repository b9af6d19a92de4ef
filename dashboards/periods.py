"""Reporting periods: ISO dates or datetimes in the network's local time, as UTC half-open ranges.

Dates are whole local days (a study reported at 23:30 UTC on a BST date belongs to the next
local day), so the bounds are computed here, where the time zone rules live, and SQL compares
plain UTC instants with its indexes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo


class PeriodError(ValueError):
    """A malformed or inverted period; the message is shown to the caller."""


@dataclass(frozen=True)
class Period:
    """[start, end) in UTC, plus the bounds as the caller gave them (for the answer)."""

    start: datetime
    end: datetime
    label_from: str
    label_to: str


def local_midnight(day: date, tz: ZoneInfo) -> datetime:
    """The UTC instant a local calendar day starts (23 or 25 hours long on clock-change days)."""
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


def _parse(value: str, name: str, tz: ZoneInfo, *, end: bool) -> tuple[datetime, str]:
    text = value.strip()
    if len(text) == 10:
        try:
            day = date.fromisoformat(text)
        except ValueError as e:
            raise PeriodError(f"{name}: {value!r} is not an ISO date (YYYY-MM-DD)") from e
        return local_midnight(day + timedelta(days=1) if end else day, tz), day.isoformat()
    if " " in text[11:]:
        # an unencoded "+" in a query string arrives as a space: "08:00:00 01:00"
        text = text[:11] + text[11:].replace(" ", "+")
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as e:
        raise PeriodError(f"{name}: {value!r} is neither an ISO date nor an ISO datetime") from e
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)  # a wall-clock time in the network's zone
    return moment.astimezone(UTC), moment.isoformat()


def parse_period(
    start: str | None, end: str | None, tz_name: str, now: datetime | None = None
) -> Period:
    """Resolve ``from``/``to``: dates are inclusive local days, datetimes exact instants."""
    tz = ZoneInfo(tz_name)
    today = (now or datetime.now(UTC)).astimezone(tz).date().isoformat()
    lo, lo_label = _parse(start or today, "from", tz, end=False)
    hi, hi_label = _parse(end or today, "to", tz, end=True)
    if lo >= hi:
        raise PeriodError(f"from ({lo_label}) is after to ({hi_label}): an empty period")
    return Period(lo, hi, lo_label, hi_label)


def month_starts(months: int, tz_name: str, now: datetime | None = None) -> list[date]:
    """The first days of the last ``months`` local calendar months, oldest first, plus the next."""
    if not 1 <= months <= 120:
        raise PeriodError("months must be between 1 and 120")
    today = (now or datetime.now(UTC)).astimezone(ZoneInfo(tz_name)).date()
    index = today.year * 12 + today.month - 1 - (months - 1)
    return [date((index + k) // 12, (index + k) % 12 + 1, 1) for k in range(months + 1)]
