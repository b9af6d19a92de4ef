"""Soft ranking through the real Lua claim: urgency, subspecialty and home-site bonuses,
radiographer deferral (with its slack exception and its end when the radiographer leaves),
tie-breaks, and the explanation a claim carries."""

from __future__ import annotations

from allocator.engine import Allocator
from allocator.ranking import RankingWeights

from .factories import CHEST_XR, HOUR, MIN, T0, radiographer, radiologist, study

LEASE = 10 * MIN
W = RankingWeights()


def _first(alloc: Allocator, rid: str, now: int = T0) -> str:
    c = alloc.claim(rid, now, LEASE)
    assert c is not None
    return c.study_id


def test_most_urgent_first_and_reason(alloc: Allocator) -> None:
    alloc.upsert_reporter(radiologist("r", sites=("A", "B")))
    alloc.start_session("r", "core", T0)
    alloc.enqueue(
        [study("late", due_ms=T0 + 2 * HOUR), study("soon", site="B", due_ms=T0 + HOUR)], T0
    )
    c = alloc.claim("r", T0, LEASE)
    assert c is not None and c.study_id == "soon" and c.via == "queue"
    assert c.lease_expires_ms == T0 + LEASE
    r = c.reason
    assert r["rule"] == "most-urgent" and r["stage"] == 0 and r["due_at_ms"] == T0 + HOUR
    # no bonus can lift the later head (this reporter has no subspecialty or home site), so
    # the walk stops at the first
    assert r["slack_minutes"] == 60 and r["heads_compared"] == 1 and r["heads_scanned"] == 1
    assert r["score"] == {
        "due": T0 + HOUR, "reading_due": T0 + HOUR, "subspecialty_bonus": 0,
        "home_site_bonus": 0, "radiographer_deferral": 0, "effective": T0 + HOUR,
    }  # fmt: skip


def test_subspecialty_bonus_moves_forward(alloc: Allocator) -> None:
    alloc.upsert_reporter(radiologist("r", subspecialties=["msk"]))
    alloc.start_session("r", "core", T0)
    alloc.enqueue([
        study("plain", modality="CT", due_ms=T0 + 2 * HOUR),
        study("msk", modality="MR", subspecialty="msk", due_ms=T0 + 2 * HOUR + 59 * MIN),
        study("msk-far", modality="MR", subspecialty="msk", due_ms=T0 + 3 * HOUR + MIN),
    ], T0)  # fmt: skip
    assert _first(alloc, "r") == "msk"
    assert _first(alloc, "r") == "plain"


def test_home_site_bonus(alloc: Allocator) -> None:
    alloc.upsert_reporter(radiologist("r", sites=("A", "B"), home_site="B"))
    alloc.start_session("r", "core", T0)
    alloc.enqueue(
        [study("a", due_ms=T0 + 2 * HOUR), study("b", site="B", due_ms=T0 + 2 * HOUR + 29 * MIN)],
        T0,
    )
    c = alloc.claim("r", T0, LEASE)
    assert c is not None and c.study_id == "b"
    assert c.reason["score"]["home_site_bonus"] == W.home_site_bonus_ms


def test_ties_oldest_acquired_then_id(alloc: Allocator) -> None:
    alloc.upsert_reporter(radiologist("r", sites=("A", "B")))
    alloc.start_session("r", "core", T0)
    due = T0 + 5 * HOUR
    alloc.enqueue([
        study("z-new", due_ms=due, acquired_ms=T0 - 10),
        study("y-old", site="B", due_ms=due, acquired_ms=T0 - 20),
        study("b-new", modality="CT", due_ms=due, acquired_ms=T0 - 10),
        study("a-new", due_ms=due, acquired_ms=T0 - 10),
    ], T0)  # fmt: skip
    assert [_first(alloc, "r") for _ in range(4)] == ["y-old", "a-new", "b-new", "z-new"]


def test_a_study_that_can_still_make_its_target_goes_before_one_that_cannot(
    alloc: Allocator,
) -> None:
    """Under overload the long study already past saving waits behind the short one that can
    still be reported in time: its reading due is when it would finish if started now."""
    alloc.upsert_reporter(radiologist("r"))
    alloc.start_session("r", "core", T0)
    alloc.enqueue([
        study("long-late", modality="CT", work_units=4.0, due_ms=T0 - 5 * MIN),
        study("short-ok", due_ms=T0 + 10 * MIN),  # one work unit: five minutes to read
    ], T0)  # fmt: skip
    c = alloc.claim("r", T0, LEASE)
    assert c is not None and c.study_id == "short-ok"
    score = c.reason["score"]
    assert score["reading_due"] == score["due"] == T0 + 10 * MIN
    c = alloc.claim("r", T0, LEASE)
    assert c is not None and c.study_id == "long-late"
    assert c.reason["score"]["due"] == T0 - 5 * MIN
    assert c.reason["score"]["reading_due"] == T0 + 4 * W.reading_ms_per_work_unit


def test_among_overdue_studies_the_quicker_goes_first(alloc: Allocator) -> None:
    alloc.upsert_reporter(radiologist("r"))
    alloc.start_session("r", "core", T0)
    alloc.enqueue([
        study("ct-older", modality="CT", work_units=3.0, due_ms=T0 - 2 * HOUR),
        study("xr", work_units=1.0, due_ms=T0 - HOUR),
        study("xr-later", work_units=1.0, due_ms=T0 - 30 * MIN),
    ], T0)  # fmt: skip
    # both radiographs share a reading due (now + 5 min); the earlier due one goes first
    assert [_first(alloc, "r") for _ in range(3)] == ["xr", "xr-later", "ct-older"]


def test_short_studies_with_time_in_hand_still_go_in_due_order(alloc: Allocator) -> None:
    """The rule changes nothing while every study can still be read in time."""
    alloc.upsert_reporter(radiologist("r"))
    alloc.start_session("r", "core", T0)
    alloc.enqueue([
        study("ct", modality="CT", work_units=4.0, due_ms=T0 + 2 * HOUR),
        study("xr", work_units=1.0, due_ms=T0 + 3 * HOUR),
    ], T0)  # fmt: skip
    assert [_first(alloc, "r") for _ in range(2)] == ["ct", "xr"]


def _deferral_setup(alloc: Allocator) -> None:
    alloc.upsert_reporter(radiologist("r"))
    alloc.upsert_reporter(radiographer("g", [CHEST_XR]))
    alloc.start_session("r", "core", T0)
    alloc.enqueue([
        study("xr", due_ms=T0 + 2 * HOUR),  # a radiographer could report it
        study("ct", modality="CT", due_ms=T0 + 5 * HOUR),
    ], T0)  # fmt: skip


def test_radiographer_deferral_while_one_is_on_duty(alloc: Allocator) -> None:
    _deferral_setup(alloc)
    alloc.start_session("g", "core", T0)
    c = alloc.claim("r", T0, LEASE)
    assert c is not None and c.study_id == "ct"
    alloc.release("r", "ct", T0)
    alloc.end_session("g", T0)  # the radiographer leaves: deferral stops
    assert _first(alloc, "r") == "xr"


def test_no_deferral_without_radiographer_on_duty(alloc: Allocator) -> None:
    _deferral_setup(alloc)
    assert _first(alloc, "r") == "xr"


def test_deferral_slack_exception(alloc: Allocator) -> None:
    _deferral_setup(alloc)
    alloc.start_session("g", "core", T0)
    now = T0 + HOUR + MIN  # xr has 59 min of slack left: below the 60 min minimum
    c = alloc.claim("r", now, LEASE)
    assert c is not None and c.study_id == "xr"
    assert c.reason["score"]["radiographer_deferral"] == 0


def test_deferral_reason_and_radiographer_not_deferred(alloc: Allocator) -> None:
    alloc.upsert_reporter(radiologist("r"))
    alloc.upsert_reporter(radiographer("g", [CHEST_XR]))
    alloc.start_session("r", "core", T0)
    alloc.start_session("g", "core", T0)
    alloc.enqueue([study("xr", due_ms=T0 + 2 * HOUR)], T0)
    c = alloc.claim("r", T0, LEASE)
    assert (
        c is not None and c.reason["score"]["radiographer_deferral"] == W.radiographer_deferral_ms
    )
    alloc.release("r", "xr", T0)
    c = alloc.claim("g", T0, LEASE)
    assert c is not None and c.reason["score"]["radiographer_deferral"] == 0


def test_deferral_only_counts_eligible_radiographers(alloc: Allocator) -> None:
    _deferral_setup(alloc)
    alloc.upsert_reporter(radiographer("other-site", [CHEST_XR], sites=("B",)))
    alloc.start_session("other-site", "core", T0)
    assert _first(alloc, "r") == "xr"


def test_deferral_stops_after_stage_1(alloc: Allocator) -> None:
    _deferral_setup(alloc)
    alloc.start_session("g", "core", T0)
    alloc.enqueue([study("xr", due_ms=T0 + 2 * HOUR, widening_stage=1)], T0)
    assert _first(alloc, "r") == "xr"


def test_bad_negative_work_units_rank_as_none(alloc: Allocator) -> None:
    """A catalogue error (negative work units) must not corrupt the banded heads lists."""
    alloc.upsert_reporter(radiologist("r"))
    alloc.start_session("r", "core", T0)
    alloc.enqueue([
        study("negative", work_units=-2.0, due_ms=T0 - HOUR),
        study("short", work_units=1.0, due_ms=T0 - 2 * HOUR),
    ], T0)  # fmt: skip
    c = alloc.claim("r", T0, LEASE)
    # reading due: now for the negative one (no allowance), now + 5 min for the short one
    assert c is not None and c.study_id == "negative"
    assert c.reason["score"]["reading_due"] == T0
    assert _first(alloc, "r") == "short"
