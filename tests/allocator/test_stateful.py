"""Hypothesis state machine: random reporters, scopes, ingests, claims, releases, completions,
clock advances (lease/hold expiry, widening), scope changes and Redis restarts (reset +
rebuild from a Python model of the system of record), checked against a reference model
that computes eligibility and ranking straight from the profiles -- no buckets.

Invariants: no double assignment, no scope violation, no lost study (each study is exactly
one of waiting/leased/held/done), and every queue claim is the best eligible study by the
independently computed ranking.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

import pytest
import redis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from allocator.engine import Allocator, NotOnDuty
from allocator.ranking import RankingWeights, reading_due, stage_at
from allocator.types import HOT_URGENCIES, QueuedStudy, ReporterProfile, ScopeEntry

from .factories import HOUR, MIN, T0

W = RankingWeights()
RIDS = [f"r{i}" for i in range(6)]
SITES = ["A", "B", "C"]
LEASE = 20 * MIN


def _opt_set(values: list[str]) -> st.SearchStrategy[frozenset[str]]:
    return st.one_of(
        st.just(frozenset()), st.frozensets(st.sampled_from(values), min_size=1, max_size=2)
    )


entries = st.builds(
    ScopeEntry,
    modalities=_opt_set(["CR", "CT", "MR"]),
    body_parts=_opt_set(["CHEST", "HAND", "HEAD"]),
    patient_sources=_opt_set(["gp", "ed", "inpatient"]),
    exam_codes=st.one_of(st.just(frozenset()), st.just(frozenset({"X1"}))),
    min_age=st.sampled_from([None, 16]),
    max_age=st.sampled_from([None, 15, 70]),
)


@st.composite
def profiles(draw: st.DrawFn, rid: str) -> ReporterProfile:
    group = draw(st.sampled_from(["radiologist", "registrar", "radiographer", "radiographer"]))
    sites = draw(st.frozensets(st.sampled_from(SITES), min_size=1, max_size=3))
    return ReporterProfile(
        reporter_id=rid,
        group=group,
        home_site=draw(st.sampled_from([None, *sorted(sites)])),
        sites=sites,
        subspecialties=draw(st.frozensets(st.sampled_from(["neuro", "msk"]), max_size=2)),
        scope=tuple(draw(st.lists(entries, max_size=2))),
    )


@st.composite
def new_studies(draw: st.DrawFn, now: int, n: int) -> QueuedStudy:
    acquired = now - draw(st.sampled_from([0, 5, 30, 90])) * MIN
    return QueuedStudy(
        study_id=f"s{n:04d}",
        site=draw(st.sampled_from(SITES)),
        modality=draw(st.sampled_from(["CR", "CT", "MR"])),
        body_part=draw(st.sampled_from([None, "CHEST", "HAND", "HEAD"])),
        exam_code=draw(st.sampled_from([None, "X1", "X2"])),
        patient_age=draw(st.sampled_from([None, 5, 30, 80])),
        patient_source=draw(st.sampled_from([None, "gp", "ed", "inpatient"])),
        urgency=draw(st.sampled_from(["routine", "urgent", "stroke"])),
        subspecialty=draw(st.sampled_from([None, "neuro", "msk"])),
        requires_subspecialist=draw(st.booleans()),
        work_units=draw(st.sampled_from([1.0, 1.5, 4.0])),
        acquired_ms=acquired,
        due_ms=acquired + draw(st.sampled_from([30 * MIN, HOUR, 4 * HOUR, 24 * HOUR])),
        patient_key=draw(st.sampled_from([None, "P1", "P2", "P3"])),
    )


@dataclass
class Rec:
    """The model's record of one study (its system-of-record row plus hand-out state)."""

    study: QueuedStudy
    state: str = "W"  # W | L | H | done
    who: str = ""
    kind: str = ""
    expires: int = 0  # lease or hold expiry (0: none)
    stage: int = 0


def model_eligible(p: ReporterProfile, s: QueuedStudy, stage: int) -> bool:
    """Eligibility written out independently of allocator.eligibility."""
    if s.site not in p.sites:
        return False
    if (
        s.requires_subspecialist
        and s.subspecialty
        and stage == 0
        and s.subspecialty not in p.subspecialties
    ):
        return False
    if not p.scope:
        return p.group != "radiographer"
    for e in p.scope:
        ok = (not e.modalities or s.modality in e.modalities) and (
            not e.body_parts or s.body_part in e.body_parts
        )
        ok = ok and (not e.patient_sources or s.patient_source in e.patient_sources)
        ok = ok and (not e.exam_codes or s.exam_code in e.exam_codes)
        if e.min_age is not None:
            ok = ok and s.patient_age is not None and s.patient_age >= e.min_age
        if e.max_age is not None:
            ok = ok and s.patient_age is not None and s.patient_age <= e.max_age
        if ok:
            return True
    return False


@dataclass
class Model:
    now: int = T0
    profiles: dict[str, ReporterProfile] = field(default_factory=dict)
    onduty: dict[str, str] = field(default_factory=dict)
    recs: dict[str, Rec] = field(default_factory=dict)

    def live(self) -> list[Rec]:
        return [r for r in self.recs.values() if r.state != "done"]

    def tally(self, rid: str) -> dict[str, float]:
        mine = [r for r in self.live() if r.who == rid and r.state in "LH"]
        return {
            "leased": sum(r.state == "L" for r in mine),
            "held": sum(r.state == "H" for r in mine),
            "work_units": sum(r.study.work_units for r in mine),
            "hot": sum(r.study.urgency in HOT_URGENCIES for r in mine),
        }

    def score(self, rid: str, r: Rec) -> tuple[int, int, int, str]:
        p, s = self.profiles[rid], r.study
        eff = reading_due(s.due_ms, s.work_units, self.now, W)
        if s.subspecialty is not None and s.subspecialty in p.subspecialties:
            eff -= W.subspecialty_bonus_ms
        if p.home_site is not None and s.site == p.home_site:
            eff -= W.home_site_bonus_ms
        if (
            p.group != "radiographer"
            and r.stage == 0
            and s.due_ms - self.now >= W.deferral_min_slack_ms
            and any(
                self.profiles[g].group == "radiographer" and model_eligible(self.profiles[g], s, 0)
                for g in self.onduty
                if g in self.profiles
            )
        ):
            eff += W.radiographer_deferral_ms
        return eff, s.due_ms, s.acquired_ms, s.study_id

    def expected_claim(self, rid: str) -> tuple[Rec, str] | None:
        p = self.profiles[rid]
        held = sorted(
            (r for r in self.live() if r.state == "H" and r.who == rid),
            key=lambda r: (r.study.due_ms, r.study.study_id),
        )
        for r in held:
            if model_eligible(p, r.study, r.stage):
                return r, r.kind
        waiting = [r for r in self.live() if r.state == "W" and model_eligible(p, r.study, r.stage)]
        if not waiting:
            return None
        return min(waiting, key=lambda r: self.score(rid, r)), "queue"


class AllocatorMachine(RuleBasedStateMachine):
    client: ClassVar[redis.Redis]

    def __init__(self) -> None:
        super().__init__()
        self.client.flushdb()
        self.alloc = Allocator(self.client, "hyp")
        self.m = Model()
        self.n = 0

    @initialize(data=st.data())
    def setup(self, data: st.DataObject) -> None:
        for rid in RIDS:
            p = data.draw(profiles(rid))
            self.m.profiles[rid] = p
            self.alloc.upsert_reporter(p)
            if data.draw(st.integers(0, 4)) > 0:  # most reporters start on duty
                self.alloc.start_session(rid, "core", self.m.now)
                self.m.onduty[rid] = "core"
        self.ingest(data, 8)

    # -- rules ------------------------------------------------------------------------
    @rule(rid=st.sampled_from(RIDS), kind=st.sampled_from(["core", "insourced"]))
    def start(self, rid: str, kind: str) -> None:
        self.alloc.start_session(rid, kind, self.m.now)  # type: ignore[arg-type]
        self.m.onduty.setdefault(rid, kind)
        self.m.onduty[rid] = kind

    @rule(rid=st.sampled_from(RIDS))
    def end(self, rid: str) -> None:
        back = self.alloc.end_session(rid, self.m.now)
        expect = [r for r in self.m.live() if r.state == "H" and r.who == rid]
        assert sorted(back) == sorted(r.study.study_id for r in expect)
        for r in expect:
            r.state, r.who, r.kind, r.expires = "W", "", "", 0
        self.m.onduty.pop(rid, None)

    @rule(data=st.data(), k=st.integers(1, 6))
    def ingest(self, data: st.DataObject, k: int) -> None:
        batch = []
        for _ in range(k):
            self.n += 1
            batch.append(data.draw(new_studies(self.m.now, self.n)))
        pushes = self.alloc.enqueue(batch, self.m.now)
        got = {p.study_id: p.reporter_id for p in pushes}
        for s in batch:
            rec = Rec(s)
            self.m.recs[s.study_id] = rec
            if s.urgency in HOT_URGENCIES:
                cands = [
                    rid
                    for rid in sorted(self.m.onduty)
                    if model_eligible(self.m.profiles[rid], s, 0)
                ]
                if cands:
                    best = min(
                        cands,
                        key=lambda c: (self.m.tally(c)["hot"], self.m.tally(c)["work_units"], c),
                    )
                    assert got.get(s.study_id) == best, (s, got, cands)
                    rec.state, rec.who, rec.kind = "H", best, "push"
                    rec.expires = self.m.now + W.push_hold_ms
                    continue
            assert s.study_id not in got

    @rule(data=st.data())
    def reingest_waiting(self, data: st.DataObject) -> None:
        waiting = sorted(r.study.study_id for r in self.m.live() if r.state == "W")
        if not waiting:
            return
        rec = self.m.recs[data.draw(st.sampled_from(waiting))]
        delta = data.draw(st.sampled_from([-30 * MIN, 0, 2 * HOUR]))
        new = replace(
            rec.study, due_ms=rec.study.due_ms + delta, urgency="routine", widening_stage=rec.stage
        )
        assert self.alloc.enqueue([new], self.m.now) == []
        rec.study = new

    @rule(rid=st.sampled_from(RIDS))
    def claim_any(self, rid: str) -> None:
        if rid not in self.m.onduty:
            with pytest.raises(NotOnDuty):
                self.alloc.claim(rid, self.m.now, LEASE)
            return
        self.claim_one(rid)

    @rule(data=st.data())
    def claim_round(self, data: st.DataObject) -> None:
        """Every on-duty reporter pulls once, in a random order."""
        for rid in data.draw(st.permutations(sorted(self.m.onduty))):
            self.claim_one(rid)

    def claim_one(self, rid: str) -> None:
        expected = self.m.expected_claim(rid)
        c = self.alloc.claim(rid, self.m.now, LEASE)
        if expected is None:
            assert c is None
            return
        rec, via = expected
        assert c is not None, (rid, rec)
        got = self.m.recs[c.study_id]
        # scope and double assignment, whatever the ranking says
        assert model_eligible(self.m.profiles[rid], got.study, got.stage)
        assert got.state == "W" or (got.state == "H" and got.who == rid)
        assert (c.study_id, c.via) == (rec.study.study_id, via), (c, rec, via)
        if via == "queue":
            assert c.reason["score"]["effective"] == self.m.score(rid, rec)[0]
        rec.state, rec.who, rec.kind, rec.expires = "L", rid, "", self.m.now + LEASE
        grouped = []
        if rec.study.patient_key:
            for sib in self.m.live():
                if (
                    sib is not rec
                    and sib.state == "W"
                    and sib.study.patient_key == rec.study.patient_key
                    and model_eligible(self.m.profiles[rid], sib.study, sib.stage)
                ):
                    sib.state, sib.who, sib.kind = "H", rid, "patient"
                    sib.expires = self.m.now + W.patient_hold_ms
                    grouped.append(sib.study.study_id)
        assert sorted(c.reason.get("patient_held", [])) == sorted(grouped)

    def _leased(self) -> list[Rec]:
        return sorted((r for r in self.m.live() if r.state == "L"), key=lambda r: r.study.study_id)

    @rule(data=st.data(), wrong=st.booleans())
    def complete(self, data: st.DataObject, wrong: bool) -> None:
        leased = self._leased()
        if not leased:
            return
        rec = data.draw(st.sampled_from(leased))
        rid = rec.who if not wrong else data.draw(st.sampled_from(RIDS))
        ok = self.alloc.complete(rid, rec.study.study_id, self.m.now)
        assert ok == (rid == rec.who and rec.expires > self.m.now)
        if ok:
            rec.state = "done"

    @rule(data=st.data())
    def release(self, data: st.DataObject) -> None:
        leased = self._leased()
        if not leased:
            return
        rec = data.draw(st.sampled_from(leased))
        ok = self.alloc.release(rec.who, rec.study.study_id, self.m.now)
        assert ok == (rec.expires > self.m.now)
        if ok:
            rec.state, rec.who, rec.expires = "W", "", 0

    @rule(data=st.data())
    def remove(self, data: st.DataObject) -> None:
        live = sorted(r.study.study_id for r in self.m.live())
        if not live:
            return
        sid = data.draw(st.sampled_from(live))
        self.alloc.remove([sid])
        self.m.recs[sid].state = "done"

    @rule(minutes=st.sampled_from([1, 10, 20, 45, 120]))
    def advance(self, minutes: int) -> None:
        self.m.now += minutes * MIN
        now = self.m.now
        expired = self.alloc.expire_leases(now)
        expect = []
        for r in self.m.live():
            if r.state in "LH" and r.expires and r.expires <= now:
                if r.state == "L":
                    expect.append((r.study.study_id, r.who))
                r.state, r.who, r.kind, r.expires = "W", "", "", 0
        assert sorted(expired) == sorted(expect)
        events = self.alloc.widen(now)
        want = []
        for r in self.m.live():
            new = stage_at(r.study.acquired_ms, r.study.due_ms, r.stage, now, W)
            want += [(r.study.study_id, s) for s in range(r.stage + 1, new + 1)]
            r.stage = new
        assert sorted((e.study_id, e.stage) for e in events) == sorted(want)

    @rule(data=st.data(), rid=st.sampled_from(RIDS))
    def change_scope(self, data: st.DataObject, rid: str) -> None:
        p = data.draw(profiles(rid))
        self.alloc.upsert_reporter(p)
        self.m.profiles[rid] = p
        for r in self.m.live():
            if r.state == "H" and r.who == rid and not model_eligible(p, r.study, r.stage):
                r.state, r.who, r.kind, r.expires = "W", "", "", 0

    @rule()
    def restart(self) -> None:
        """Redis lost everything: rebuild from the system of record (holds are not in it)."""
        live = self.m.live()
        waiting = [replace(r.study, widening_stage=r.stage) for r in live if r.state in "WH"]
        leases = [
            (replace(r.study, widening_stage=r.stage), r.who, r.expires)
            for r in live
            if r.state == "L"
        ]
        self.alloc = Allocator(self.client, "hyp")
        self.alloc.reset()
        assert self.alloc.is_empty()
        self.alloc.rebuild(
            list(self.m.profiles.values()),
            dict(self.m.onduty),
            waiting,
            leases,
            self.m.now,  # type: ignore[arg-type]
        )
        for r in live:
            if r.state == "H":
                r.state, r.who, r.kind, r.expires = "W", "", "", 0

    # -- invariants ---------------------------------------------------------------------
    @invariant()
    def matches_model(self) -> None:
        live = {r.study.study_id: r for r in self.m.live()}
        k = self.alloc._k
        where = self.client.hgetall(k.where)
        leases = dict(self.client.zrange(k.leases, 0, -1, withscores=True))
        assert set(where) == set(live)  # nothing lost, nothing extra
        for sid, r in live.items():
            w = where[sid]
            if r.state == "W":
                assert w.startswith("W\t")
            elif r.state == "L":
                assert w == f"L\t{r.who}" and leases[sid] == r.expires  # one holder only
            else:
                assert w == f"H\t{r.who}\t{r.kind}"
        assert set(leases) == {sid for sid, r in live.items() if r.state == "L"}
        assert self.alloc.waiting_count() == sum(r.state == "W" for r in live.values())
        for rid in RIDS:
            got = self.alloc.in_hand(rid)
            assert got == pytest.approx(self.m.tally(rid)), rid
        assert self.alloc.on_duty() == self.m.onduty


@pytest.mark.slow
def test_allocator_state_machine(redis_client: redis.Redis) -> None:
    AllocatorMachine.client = redis_client
    run: Any = AllocatorMachine.TestCase
    run.settings = settings(
        max_examples=100,
        stateful_step_count=40,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    run().runTest()
