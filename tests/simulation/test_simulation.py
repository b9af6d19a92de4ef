"""The what-if simulation: real allocator on real Redis in simulated time, and the baselines."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis

from allocator.eligibility import may_report
from allocator.ranking import RankingWeights
from allocator.types import QueuedStudy, ReporterProfile
from worklist.cli import main
from worklist.simulation import demand, roster
from worklist.simulation.demand import SimStudy
from worklist.simulation.engine import Knobs, Outcome
from worklist.simulation.policies import BaselinePolicy
from worklist.simulation.report import summary, urgency_rows
from worklist.simulation.run import run_all

START = datetime(2026, 11, 16, tzinfo=UTC)  # a Monday
MS = 1000


def _ms(at: datetime) -> int:
    return int(at.timestamp() * MS)


def test_balancer_run_respects_scope_and_accounts_for_every_study(
    redis_client: redis.Redis,
) -> None:
    team = roster.default_team(radiologists=12, registrars=3, radiographers=7)
    shifts = roster.default_roster(team)
    studies = demand.from_model(roster.SITES, START + timedelta(hours=8), 0.25, 4000, seed=3)
    start, end = _ms(START), _ms(START + timedelta(hours=14))
    (run,) = run_all(studies, team, shifts, Knobs(), start, end, ["balancer"], redis_client)

    assert run.claims > 0
    reported = [o for o in run.outcomes.values() if o.reported_ms is not None]
    assert reported, "someone reported something"
    for o in reported:
        if o.sourcing == "outsourced":
            assert o.by in ("teleradco", "nightrad") and o.cost > 0
            continue
        profile = team[o.by or ""].profile
        # stage 2 is the loosest stage: site credential and scope must hold whatever the stage
        assert may_report(profile, o.study.queued, 2), (o.by, o.study.queued)
        assert o.reported_ms is not None and o.reported_ms >= o.study.queued.acquired_ms
        assert o.sourcing in ("core", "insourced")
    summary = run.figures["summary"]
    assert summary["studies"] == len(studies)
    assert summary["reported"] + summary["waiting_at_end"] == len(studies)
    assert 0 <= summary["radiographer_share_xr"] <= 1


def _study(uid: str, site: str, acquired_min: int, wu: float) -> QueuedStudy:
    acquired = _ms(START) + acquired_min * 60 * MS
    return QueuedStudy(
        study_id=uid, site=site, modality="CT", body_part="CHEST", exam_code=None,
        patient_age=60, patient_source="outpatient", urgency="routine", subspecialty=None,
        requires_subspecialist=False, work_units=wu, acquired_ms=acquired,
        due_ms=acquired + 7 * 24 * 3600 * MS,
    )  # fmt: skip


def test_within_target_counts_studies_left_waiting_past_due_as_misses() -> None:
    """A policy that leaves late work unreported must not look better for it."""
    end = _ms(START) + 10 * 24 * 3600 * MS

    def outcome(uid: str, reported_after_days: float | None) -> Outcome:
        q = replace(_study(uid, "RXK", 0, 1.0), urgency="urgent")
        at = (
            None
            if reported_after_days is None
            else q.acquired_ms + int(reported_after_days * 86_400_000)
        )
        return Outcome(SimStudy(q, False), reported_ms=at, by="r1", group="radiologist")

    outcomes = {
        o.study.uid: o
        for o in [outcome("on-time", 1), outcome("late", 8), outcome("never", None),
                  outcome("after-the-end", 11)]
    }  # fmt: skip
    (row,) = [r for r in urgency_rows(outcomes.values(), end) if r["urgency"] == "urgent"]
    assert row["reported"] == 2 and row["breaches"] == 3 and row["waiting_at_end"] == 2
    assert row["within_target_pct"] == 25.0  # one on time of the four due in the period
    assert summary(outcomes, end)["within_target_pct"] == 25.0


def _baseline(order: str) -> BaselinePolicy:
    policy = BaselinePolicy(order, RankingWeights())
    me = ReporterProfile("r1", "radiologist", "RXK", frozenset({"RXK", "RL4"}))
    policy.setup([me], _ms(START))
    policy.start_session("r1", "core", _ms(START))
    policy.enqueue(
        [
            _study("old-elsewhere", "RL4", 0, 6.0),
            _study("new-home", "RXK", 30, 4.0),
            _study("quick-elsewhere", "RL4", 20, 1.0),
        ],
        _ms(START) + 3600 * MS,
    )
    return policy


def test_fifo_site_takes_home_first_then_oldest() -> None:
    policy = _baseline("fifo-site")
    now = _ms(START) + 3600 * MS
    assert [policy.claim("r1", now) for _ in range(4)] == [
        "new-home",
        "old-elsewhere",
        "quick-elsewhere",
        None,
    ]


def test_quickest_takes_fewest_work_units_and_release_puts_it_back() -> None:
    policy = _baseline("quickest")
    now = _ms(START) + 3600 * MS
    assert policy.claim("r1", now) == "quick-elsewhere"
    policy.release("r1", "quick-elsewhere", now)
    assert policy.claim("r1", now) == "quick-elsewhere"
    assert policy.claim("r1", now) == "new-home"


def test_roster_and_studies_from_csv(tmp_path: Path) -> None:
    team = roster.default_team(radiologists=2, registrars=1, radiographers=1)
    path = tmp_path / "roster.csv"
    path.write_text(
        "reporter_id,days,start,end,kind\n"
        "rad001,mon-fri,08:30,12:30,core\n"
        "reg001,*,20:00,08:00,core\n"
        "rg001,sat,09:00,13:00,insourced\n"
    )
    shifts = roster.load_roster(path, team)
    assert shifts[0].days == frozenset(range(5)) and shifts[0].length_min() == 240
    assert shifts[1].length_min() == 12 * 60 and shifts[2].days == frozenset({5})
    bad = tmp_path / "bad.csv"
    bad.write_text("reporter_id,days,start,end,kind\nnobody,*,08:00,09:00,core\n")
    try:
        roster.load_roster(bad, team)
    except ValueError as e:
        assert "bad.csv:2" in str(e) and "nobody" in str(e)
    else:
        raise AssertionError("an unknown reporter must be refused")

    studies_csv = tmp_path / "studies.csv"
    studies_csv.write_text(
        "study_uid,site,modality,body_part,patient_age,patient_source,urgency,acquired_at\n"
        "1.2.3,RXK,CT,HEAD,70,ed,stroke,2026-11-16T10:00:00+00:00\n"
        "1.2.4,RL4,DX,CHEST,50,gp,,2026-11-16T09:00:00+00:00\n"
    )
    loaded = demand.from_csv(studies_csv)
    assert [s.uid for s in loaded] == ["1.2.4", "1.2.3"]
    stroke = loaded[1].queued
    assert stroke.due_ms - stroke.acquired_ms == 30 * 60 * MS
    assert loaded[0].queued.urgency == "routine"  # derived: GP work is routine


def test_cli_prints_side_by_side_and_writes_png_and_json(
    tmp_path: Path,
    redis_url: str,
    redis_client: redis.Redis,
    capsys: object,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # the balancer ranks with the product's settings: 6 work units an hour is 10 min each
    monkeypatch.setenv("WORKLIST_REPORTER_WORK_UNITS_PER_HOUR", "6")
    png, out = tmp_path / "tat.png", tmp_path / "sim.json"
    code = main(
        [
            "simulate", "--days", "0.25", "--per-day", "3000", "--radiologists", "10",
            "--registrars", "3", "--radiographers", "6", "--redis-url", redis_url,
            "--png", str(png), "--json", str(out),
        ]
    )  # fmt: skip
    assert code == 0
    text = capsys.readouterr().out  # type: ignore[attr-defined]
    for name in ("balancer", "fifo-site", "quickest", "radiographer share", "outsourced"):
        assert name in text
    assert "a reading allowance of 10 min per work unit" in text
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    figures = json.loads(out.read_text())
    assert set(figures) == {"balancer", "fifo-site", "quickest"}
    assert [r["urgency"] for r in figures["balancer"]["urgency"]] == [
        "stroke", "trauma", "urgent", "cancer", "routine",
    ]  # fmt: skip
