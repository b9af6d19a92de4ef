"""The e-roster CSV: one planned session a line, in the network's local time.

Columns (a header line is required; names are case-insensitive, order is free, other
columns such as a name or a grade are ignored):

  reporter_id  the worklist reporter id (required)
  date         YYYY-MM-DD, the local date the session starts (required)
  start, end   HH:MM local; an end at or before the start means the next day (required)
  kind         core | insourced (required)
  rate         money for the session (optional; blank means the network rate)
  rate_basis   session | work_unit (optional, default session)
  reference    the e-roster's own shift id (optional; kept for tracing)

Every line is checked on its own: a bad line comes back with its line number and reason,
the good lines are stored.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session

from worklist.rosters.service import PlannedSession, RosterError, RosterWriter

REQUIRED = ("reporter_id", "date", "start", "end", "kind")


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    rejected: list[dict[str, object]] = field(default_factory=list)


def _clock(value: str, name: str) -> time:
    try:
        return time.fromisoformat(value.strip())
    except ValueError as e:
        raise RosterError(f"{name}: {value!r} is not a time (HH:MM)") from e


def _local(day: date, at: time, tz: ZoneInfo) -> datetime:
    """A wall-clock time as an aware instant (fold=0: the first 01:30 on the autumn change)."""
    return datetime.combine(day, at, tzinfo=tz)


def parse_row(row: dict[str, str], tz: ZoneInfo) -> PlannedSession:
    """One CSV line as a planned session; raises RosterError naming the bad column."""
    for name in REQUIRED:
        if not (row.get(name) or "").strip():
            raise RosterError(f"{name}: missing")
    try:
        day = date.fromisoformat(row["date"].strip())
    except ValueError as e:
        raise RosterError(f"date: {row['date']!r} is not a date (YYYY-MM-DD)") from e
    start_t, end_t = _clock(row["start"], "start"), _clock(row["end"], "end")
    start = _local(day, start_t, tz)
    end = _local(day + timedelta(days=1) if end_t <= start_t else day, end_t, tz)
    rate_text = (row.get("rate") or "").strip().lstrip("£")
    try:
        rate = float(rate_text) if rate_text else None
    except ValueError as e:
        raise RosterError(f"rate: {row['rate']!r} is not a number") from e
    return PlannedSession(
        reporter_id=row["reporter_id"].strip(),
        start=start,
        end=end,
        kind=row["kind"].strip().lower(),
        rate=rate,
        rate_basis=(row.get("rate_basis") or "").strip().lower() or "session",
        reference=(row.get("reference") or "").strip() or None,
    )


def import_csv(db: Session, text: str, tz_name: str) -> ImportResult:
    """Store every good line (one transaction); answer counts and per-line rejections."""
    tz = ZoneInfo(tz_name)
    result = ImportResult()
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    headers = {(h or "").strip().lower() for h in reader.fieldnames or []}
    missing = [h for h in REQUIRED if h not in headers]
    if missing:
        result.rejected.append({"line": 1, "index": None, "error": f"header: missing {missing}"})
        return result
    writer = RosterWriter(db)
    for index, raw in enumerate(reader):
        row = {(k or "").strip().lower(): (v or "") for k, v in raw.items() if k is not None}
        line = reader.line_num
        try:
            created = writer.add(parse_row(row, tz))
        except RosterError as e:
            result.rejected.append({"line": line, "index": index, "error": str(e)})
            continue
        if created:
            result.created += 1
        else:
            result.updated += 1
    db.commit()
    return result
