"""Who reports which hours: a built-in roster for a 15-site demo network, or a CSV.

Roster CSV columns (header required): ``reporter_id`` (an id of the simulated team), ``days``
(``*``, ``mon-fri``, ``sat,sun``, ``mon,wed,fri``), ``start`` and ``end`` (HH:MM, simulated
clock; an end at or before the start runs into the next day), ``kind`` (core | insourced).
"""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from allocator.types import ReporterProfile
from worklist.demo import seed
from worklist.reference.profiles import scope_entry

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WEEKDAYS = frozenset(range(5))
WEEKEND = frozenset({5, 6})
EVERY_DAY = frozenset(range(7))
# The demo network's twelve sites plus three more West Midlands trusts: fifteen in all.
EXTRA_SITES = {
    "RLT": "George Eliot Nuneaton",
    "RL1": "Robert Jones and Agnes Hunt Oswestry",
    "RRJ": "Royal Orthopaedic Birmingham",
}
SITES: tuple[str, ...] = (*seed.SITES, *EXTRA_SITES)


@dataclass(frozen=True)
class Shift:
    """A recurring session: on ``days`` (0 = Monday), from ``start`` to ``end`` minutes."""

    reporter_id: str
    days: frozenset[int]
    start_min: int
    end_min: int
    kind: str

    def length_min(self) -> int:
        return (self.end_min - self.start_min) % (24 * 60) or 24 * 60


@dataclass(frozen=True)
class Member:
    """A reporter of the simulated team: their eligibility profile and their group."""

    profile: ReporterProfile

    @property
    def group(self) -> str:
        return self.profile.group


def _profile(rid: str, body: dict[str, Any]) -> ReporterProfile:
    return ReporterProfile(
        reporter_id=rid,
        group=body["group"],
        home_site=body["home_site"],
        sites=frozenset(body["sites"]),
        subspecialties=frozenset(body["subspecialties"]),
        scope=tuple(scope_entry(e) for e in body["scope"]),
    )


def default_team(
    radiologists: int = 120, registrars: int = 30, radiographers: int = 60, rng_seed: int = 7
) -> dict[str, Member]:
    """A team for fifteen sites made like the demo team (same scopes and subspecialties)."""
    rng = random.Random(rng_seed)
    codes = list(SITES)
    team: dict[str, dict[str, Any]] = {}
    for i in range(radiologists):
        home = codes[i % len(codes)]
        others = [c for c in codes if c != home]
        team[f"rad{i + 1:03d}"] = {
            "group": "radiologist",
            "home_site": home,
            "sites": [home, *rng.sample(others, k=rng.randint(2, 6))],
            "subspecialties": rng.sample(seed.SUBSPECIALTIES, k=rng.randint(1, 2)),
            "scope": [],
        }
    for i in range(registrars):
        home = codes[(i * 4) % len(codes)]
        team[f"reg{i + 1:03d}"] = {
            "group": "registrar",
            "home_site": home,
            "sites": codes,  # on call for the whole network (a network passport)
            "subspecialties": [],
            "scope": [{"modalities": ["CR", "DX", "CT"], "patient_sources": ["ed", "inpatient"]}],
        }
    for i in range(radiographers):
        home = codes[(i * 7) % len(codes)]
        others = [c for c in codes if c != home]
        team[f"rg{i + 1:03d}"] = {
            "group": "radiographer",
            "home_site": home,
            "sites": [home, *rng.sample(others, k=rng.randint(1, 3))],
            "subspecialties": [],
            "scope": seed.RADIOGRAPHER_SCOPES[i % len(seed.RADIOGRAPHER_SCOPES)],
        }
    return {rid: Member(_profile(rid, body)) for rid, body in team.items()}


def _hm(text: str) -> int:
    hours, minutes = text.strip().split(":")
    return int(hours) * 60 + int(minutes)


def default_roster(team: dict[str, Member]) -> list[Shift]:
    """Job-planned core sessions in the working week, registrars on call around the clock,
    evening and weekend insourcing (waiting-list initiative) sessions."""
    shifts: list[Shift] = []
    radiologists = [r for r, m in team.items() if m.group == "radiologist"]
    registrars = [r for r, m in team.items() if m.group == "registrar"]
    radiographers = [r for r, m in team.items() if m.group == "radiographer"]
    for i, rid in enumerate(radiologists):
        # Each consultant reports about two thirds of their week: other sessions are clinics,
        # lists and MDTs (so a day off from reporting rotates through the week).
        days = WEEKDAYS - {i % 5}
        shifts.append(Shift(rid, days, _hm("08:30"), _hm("12:30"), "core"))
        shifts.append(Shift(rid, days, _hm("13:30"), _hm("17:30"), "core"))
        if i % 6 == 0:
            shifts.append(
                Shift(rid, frozenset({(i // 6) % 5}), _hm("18:00"), _hm("22:00"), "insourced")
            )
        if i % 10 == 0:
            shifts.append(
                Shift(rid, frozenset({5 + (i // 10) % 2}), _hm("09:00"), _hm("17:00"), "insourced")
            )
        if i % 15 == 1:
            shifts.append(Shift(rid, WEEKEND, _hm("09:00"), _hm("13:00"), "core"))
    for i, rid in enumerate(registrars):
        slot = i % 3  # three registrars on each of day, evening and night cover
        start, end = (("08:00", "17:00"), ("17:00", "01:00"), ("00:00", "09:00"))[slot]
        shifts.append(Shift(rid, EVERY_DAY, _hm(start), _hm(end), "core"))
    for i, rid in enumerate(radiographers):
        shifts.append(Shift(rid, WEEKDAYS - {(i + 2) % 5}, _hm("08:00"), _hm("16:00"), "core"))
        if i % 5 == 0:
            shifts.append(Shift(rid, frozenset({5}), _hm("09:00"), _hm("13:00"), "insourced"))
    return shifts


def _days(text: str) -> frozenset[int]:
    text = text.strip().lower()
    if text in ("*", "all", "every"):
        return EVERY_DAY
    out: set[int] = set()
    for part in text.split(","):
        part = part.strip()
        if "-" in part:
            a, b = (DAY_NAMES.index(p.strip()[:3]) for p in part.split("-"))
            out.update(range(a, b + 1) if a <= b else [*range(a, 7), *range(0, b + 1)])
        elif part:
            out.add(DAY_NAMES.index(part[:3]))
    return frozenset(out)


def load_roster(path: Path, team: dict[str, Member]) -> list[Shift]:
    """Read a roster CSV; raises ValueError naming the line of the first bad row."""
    shifts = []
    with path.open(newline="", encoding="utf-8") as f:
        for line, row in enumerate(csv.DictReader(f), start=2):
            row = {(k or "").strip().lower(): (v or "").strip() for k, v in row.items()}
            try:
                if row["reporter_id"] not in team:
                    raise ValueError(f"unknown reporter {row['reporter_id']!r}")
                if row["kind"] not in ("core", "insourced"):
                    raise ValueError(f"kind must be core or insourced, not {row['kind']!r}")
                shifts.append(
                    Shift(
                        row["reporter_id"],
                        _days(row["days"]),
                        _hm(row["start"]),
                        _hm(row["end"]),
                        row["kind"],
                    )
                )
            except (KeyError, ValueError) as e:
                raise ValueError(f"{path}:{line}: {e}") from e
    return shifts
