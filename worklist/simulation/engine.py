"""The simulation loop: arrivals, sessions, reading and widening on a simulated clock.

A one-minute tick delivers the studies acquired in that minute and lets idle reporters pull;
completions happen at their exact simulated times. Reading time comes from work units, with a
per-study spread that every policy sees identically (seeded by the study uid), so policies
differ only in who gets which case when.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from allocator.types import SessionKind
from worklist.demo.seed import PROVIDERS
from worklist.simulation.demand import SimStudy
from worklist.simulation.policies import Policy
from worklist.simulation.roster import Member, Shift

MINUTE_MS = 60_000
DAY_MS = 24 * 60 * MINUTE_MS


@dataclass(frozen=True)
class Knobs:
    """Simulation parameters (the CLI exposes them)."""

    minutes_per_work_unit: float = 3.0
    release_rate: float = 0.03  # a case handed back, after a third of its reading time
    sweep_minutes: int = 5
    seed: int = 11
    # insourcing paid per work unit, by group (harmonised waiting-list-initiative rates)
    insourcing_rate: Mapping[str, float] = field(
        default_factory=lambda: {"radiologist": 12.0, "registrar": 8.0, "radiographer": 6.0}
    )


@dataclass
class Outcome:
    """What became of one study."""

    study: SimStudy
    reported_ms: int | None = None
    by: str | None = None  # reporter id or provider id
    group: str | None = None  # radiologist | registrar | radiographer | provider
    sourcing: str | None = None  # core | insourced | outsourced
    cost: float = 0.0


def cheapest_provider(modality: str) -> tuple[str, float, int] | None:
    """(provider id, price, TAT hours) of the cheapest demo provider for a modality."""
    offers = [
        (body["price"][modality], pid, body["tat_hours"])
        for pid, body in PROVIDERS.items()
        if modality in body["price"]
    ]
    if not offers:
        return None
    price, pid, hours = min(offers)
    return pid, float(price), int(hours)


def _sessions(roster: Sequence[Shift], start_ms: int, end_ms: int) -> list[tuple[int, int, Shift]]:
    """Concrete (start, end, shift) sessions overlapping [start, end); day 0 is a Monday if
    ``start_ms`` is a Monday midnight (the CLI starts on one)."""
    out = []
    days = (end_ms - start_ms) // DAY_MS + 2
    for shift in roster:
        for d in range(-1, days):
            if (d % 7) not in shift.days:
                continue
            s = start_ms + d * DAY_MS + shift.start_min * MINUTE_MS
            e = s + shift.length_min() * MINUTE_MS
            if e > start_ms and s < end_ms:
                out.append((max(s, start_ms), e, shift))
    return out


class Simulation:
    """One run of one policy over one demand and roster."""

    def __init__(
        self,
        policy: Policy,
        studies: Sequence[SimStudy],
        team: Mapping[str, Member],
        roster: Sequence[Shift],
        knobs: Knobs,
    ) -> None:
        self.policy = policy
        self.studies = studies
        self.team = team
        self.roster = roster
        self.knobs = knobs
        self.by_uid = {s.uid: s for s in studies}
        self.outcomes = {s.uid: Outcome(s) for s in studies}
        self._events: list[tuple[int, int, str, str, str]] = []
        self._seq = 0
        self._on_duty: dict[str, int] = {}  # reporter -> number of open sessions
        self._kind: dict[str, SessionKind] = {}
        self._busy: dict[str, str] = {}  # reporter -> study being read
        self._idle: set[str] = set()
        self._handed_back: set[str] = set()
        self.claims = 0

    def _push(self, at: int, what: str, rid: str, arg: str = "") -> None:
        self._seq += 1
        heapq.heappush(self._events, (at, self._seq, what, rid, arg))

    def _reading(self, study: SimStudy) -> tuple[int, bool]:
        """(reading ms, handed back?) -- the same for every policy."""
        rng = random.Random(f"{self.knobs.seed}:{study.uid}")
        ms = study.queued.work_units * self.knobs.minutes_per_work_unit * MINUTE_MS
        ms *= rng.uniform(0.6, 1.4)
        if rng.random() < self.knobs.release_rate:
            return int(ms / 3), True
        return int(ms), False

    def _pull(self, rid: str, now: int) -> None:
        sid = self.policy.claim(rid, now)
        if sid is None:
            self._idle.add(rid)
            return
        self.claims += 1
        self._idle.discard(rid)
        self._busy[rid] = sid
        ms, handed_back = self._reading(self.by_uid[sid])
        if handed_back and sid not in self._handed_back:
            self._handed_back.add(sid)  # each study is handed back at most once
            self._push(now + ms, "release", rid, sid)
        else:
            self._push(now + ms, "done", rid, sid)

    def _finish(self, at: int, what: str, rid: str, sid: str) -> None:
        del self._busy[rid]
        out = self.outcomes[sid]
        if what == "release":
            self.policy.release(rid, sid, at)
        else:
            self.policy.complete(rid, sid, at)
            member = self.team[rid]
            kind = self._kind.get(rid, "core")
            out.reported_ms, out.by, out.group, out.sourcing = at, rid, member.group, kind
            if kind == "insourced":
                rate = self.knobs.insourcing_rate.get(member.group, 0.0)
                out.cost = rate * out.study.queued.work_units
        if self._on_duty.get(rid):
            self._pull(rid, at)

    def _outsource(self, sid: str) -> bool:
        return cheapest_provider(self.by_uid[sid].queued.modality) is not None

    def run(self, start_ms: int, end_ms: int) -> dict[str, Outcome]:
        """Simulate [start, end) and return each study's outcome (unreported ones have none)."""
        self.policy.setup([m.profile for m in self.team.values()], start_ms)
        for s, e, shift in _sessions(self.roster, start_ms, end_ms):
            self._push(s, "start", shift.reporter_id, shift.kind)
            self._push(e, "end", shift.reporter_id)
        i, now = 0, start_ms
        sweep_ms = self.knobs.sweep_minutes * MINUTE_MS
        next_sweep = start_ms
        while now < end_ms:
            now += MINUTE_MS
            while self._events and self._events[0][0] <= now:
                at, _, what, rid, arg = heapq.heappop(self._events)
                self._event(at, what, rid, arg)
            j = i
            while j < len(self.studies) and self.studies[j].queued.acquired_ms <= now:
                j += 1
            if j > i:
                self.policy.enqueue([s.queued for s in self.studies[i:j]], now)
                i = j
            if now >= next_sweep:
                next_sweep = now + sweep_ms
                for sid in self.policy.widen(now, self._outsource):
                    found = cheapest_provider(self.by_uid[sid].queued.modality)
                    assert found is not None
                    pid, price, hours = found
                    out = self.outcomes[sid]
                    out.reported_ms = now + hours * 3_600_000
                    out.by, out.group, out.sourcing, out.cost = pid, "provider", "outsourced", price
            for rid in sorted(self._idle):
                self._pull(rid, now)
        return self.outcomes

    def _event(self, at: int, what: str, rid: str, arg: str) -> None:
        if what == "start":
            self._on_duty[rid] = self._on_duty.get(rid, 0) + 1
            if self._on_duty[rid] == 1:
                self._kind[rid] = arg  # type: ignore[assignment]
                self.policy.start_session(rid, self._kind[rid], at)
                if rid not in self._busy:
                    self._pull(rid, at)
        elif what == "end":
            self._on_duty[rid] -= 1
            if self._on_duty[rid] == 0:
                self._idle.discard(rid)
                self.policy.end_session(rid, at)
        else:
            self._finish(at, what, rid, arg)
