"""The fluid breach model on hand-worked examples (no database, no Redis)."""

from __future__ import annotations

from dataclasses import fields, replace

import pytest

from allocator.eligibility import (
    BucketMeta,
    bucket_for,
    entry_id,
    may_report_bucket,
    pool_signature,
)
from allocator.types import QueuedStudy
from tests.allocator.factories import CHEST_XR, entry, radiographer, radiologist, study
from worklist.predictions.compute import BUCKET_INPUTS
from worklist.predictions.model import Predicted, Reporter, Waiting, predict

H = 3600.0


def by_key(results: list[Predicted]) -> dict[object, Predicted]:
    return {p.key: p for p in results}


def test_one_reporter_serves_in_due_order() -> None:
    me = Reporter("r1", 12.0, ((0.0, 4 * H),))  # 12 WU an hour for four hours
    got = by_key(
        predict(
            [
                Waiting("a", 1 * H, 6.0, frozenset({"r1"})),
                Waiting("b", 0.75 * H, 6.0, frozenset({"r1"})),
                Waiting("c", 0.9 * H, 6.0, frozenset({"r1"})),
            ],
            [me],
            24 * H,
        )
    )
    # due order b, c, a: b starts at once, c after 6 WU (half an hour), a after 12 WU (1 h).
    assert got["b"].start_s == 0 and got["b"].finish_s == pytest.approx(0.5 * H)
    assert got["c"].start_s == pytest.approx(0.5 * H) and got["c"].work_ahead == 6.0
    assert got["c"].breach  # finishes at 1 h, due at 0.9 h
    assert got["a"].start_s == pytest.approx(1 * H) and got["a"].breach
    assert not got["b"].breach


def test_disjoint_pools_do_not_delay_each_other() -> None:
    rs = [Reporter("x", 10.0, ((0.0, 8 * H),)), Reporter("y", 10.0, ((0.0, 8 * H),))]
    got = by_key(
        predict(
            [
                Waiting("x1", 1 * H, 50.0, frozenset({"x"})),
                Waiting("y1", 2 * H, 5.0, frozenset({"y"})),
            ],
            rs,
            24 * H,
        )
    )
    assert got["y1"].start_s == 0 and got["y1"].work_ahead == 0
    assert got["x1"].finish_s == pytest.approx(5 * H) and got["x1"].breach


def test_overlapping_pools_share_work_by_capacity() -> None:
    # r1 may take classes A and B, r2 only B: A's work falls wholly on r1, who is in B's pool.
    rs = [Reporter("r1", 12.0, ((0.0, 8 * H),)), Reporter("r2", 12.0, ((0.0, 8 * H),))]
    got = by_key(
        predict(
            [
                Waiting("a", 1 * H, 12.0, frozenset({"r1"})),
                Waiting("b", 2 * H, 4.0, frozenset({"r1", "r2"})),
                Waiting("a2", 3 * H, 4.0, frozenset({"r1"})),
            ],
            rs,
            24 * H,
        )
    )
    # b has 12 WU ahead, served by a pool of 24 WU/h: starts after half an hour.
    assert got["b"].work_ahead == pytest.approx(12.0)
    assert got["b"].start_s == pytest.approx(0.5 * H)
    # a2: a's 12 WU plus half of b's 4 WU (r1 is half of b's pool capacity) = 14 WU at 12 WU/h.
    assert got["a2"].work_ahead == pytest.approx(14.0)
    assert got["a2"].start_s == pytest.approx(14 / 12 * H)


def test_rostered_session_later_and_no_capacity() -> None:
    later = Reporter("r1", 6.0, ((2 * H, 6 * H),))
    got = by_key(
        predict(
            [
                Waiting("first", 3 * H, 3.0, frozenset({"r1"})),
                Waiting("nobody", 10 * H, 1.0, frozenset({"ghost"})),
                Waiting("nobody-far", 100 * H, 1.0, frozenset()),
                Waiting("late", -60.0, 1.0, frozenset({"r1"})),
            ],
            [later],
            48 * H,
        )
    )
    assert got["late"].breach  # already overdue
    # "late" (due first) is ahead: 1 WU at 6 WU/h from 2 h.
    assert got["first"].start_s == pytest.approx(2 * H + H / 6)
    assert got["first"].finish_s == pytest.approx(2 * H + H / 6 + 0.5 * H)
    assert not got["first"].breach
    assert got["nobody"].start_s is None and got["nobody"].breach  # due inside the horizon
    assert got["nobody-far"].start_s is None and not got["nobody-far"].breach  # beyond it
    assert got["nobody"].eligible == 0


def test_capacity_runs_out_within_the_horizon() -> None:
    short = Reporter("r1", 12.0, ((0.0, 1 * H),))
    got = by_key(
        predict([Waiting(i, (i + 1) * H, 6.0, frozenset({"r1"})) for i in range(3)], [short], 4 * H)
    )
    assert got[0].start_s == 0 and got[1].start_s == pytest.approx(0.5 * H)
    assert got[2].start_s is None and got[2].breach  # 12 WU ahead, only 12 WU of capacity


def test_work_ending_with_a_session_starts_at_the_next_one() -> None:
    split = Reporter("r1", 12.0, ((0.0, 1 * H), (3 * H, 4 * H)))
    got = by_key(
        predict([Waiting(i, 10 * H, 6.0, frozenset({"r1"})) for i in range(3)], [split], 24 * H)
    )
    assert got[2].start_s == pytest.approx(3 * H)  # not at 1 h, in the gap
    assert got[2].finish_s == pytest.approx(3.5 * H)


def test_the_pool_cache_key_holds_every_input_of_the_bucket() -> None:
    """``compute_network`` shares a pool between rows equal in ``BUCKET_INPUTS``; a study
    differing in anything else must land in the same bucket, and each input must matter."""
    narrow = entry(modalities=["CR"], patient_sources=["gp"], exam_codes=["XCHES"])
    entries = {entry_id(e): e for e in (CHEST_XR, entry(modalities=["CT"], min_age=18), narrow)}
    base = study("1.1", subspecialty="chest", requires_subspecialist=True, exam_code="XCHES")
    reference = bucket_for(base, 0, entries)
    for name in {f.name for f in fields(QueuedStudy)} - set(BUCKET_INPUTS) - {"widening_stage"}:
        changed = {"study_id": "9.9", "urgency": "stroke", "work_units": 7.0,
                   "acquired_ms": 1, "due_ms": 2, "patient_key": "p9"}[name]  # fmt: skip
        other = bucket_for(replace(base, **{name: changed}), 0, entries)
        # work units move a study to another reading band, never to another pool
        assert replace(other, reading_half_units=0) == replace(reference, reading_half_units=0)
    moved = {"site": "B", "modality": "CT", "body_part": "HEAD", "patient_source": "ed",
             "exam_code": None, "patient_age": 10, "subspecialty": "neuro",
             "requires_subspecialist": False}  # fmt: skip
    differs = {
        n
        for n in BUCKET_INPUTS
        if bucket_for(replace(base, **{n: moved[n]}), 0, entries) != reference
    }
    assert differs == set(BUCKET_INPUTS)


def test_buckets_equal_in_pool_signature_are_open_to_the_same_reporters() -> None:
    """The prediction pass checks the reporters once per ``pool_signature``: changing a
    bucket field outside it never changes who may report, and each field inside it can."""
    entries = {entry_id(e): e for e in (CHEST_XR, entry(modalities=["CT"]))}
    team = [
        radiologist("r1", sites=("A",), subspecialties=["chest"]),
        radiologist("r2", sites=("A", "B")),
        radiographer("g1", [CHEST_XR], sites=("A", "B")),
        radiographer("g2", [entry(modalities=["CT"])], sites=("B",)),
        radiographer("g3", [CHEST_XR], sites=("A",), subspecialties=["chest"]),
    ]
    base = bucket_for(study("1.1", subspecialty="chest", requires_subspecialist=True), 0, entries)

    def pool(meta: BucketMeta) -> set[str]:
        return {p.reporter_id for p in team if may_report_bucket(p, meta)}

    variants = {
        "site": replace(base, site="B"),
        "entries": replace(base, entries=frozenset({entry_id(entry(modalities=["CT"]))})),
        "subspecialty": replace(base, subspecialty="neuro"),
        "hard_required": replace(base, hard_required=False),
        "stage0": replace(base, stage0=False),
        "reading_half_units": replace(base, reading_half_units=9),
    }
    assert set(variants) == {f.name for f in fields(BucketMeta)}
    for name, other in variants.items():
        same_signature = pool_signature(other) == pool_signature(base)
        assert same_signature == (name in {"stage0", "reading_half_units"}), name
        if same_signature:
            assert pool(other) == pool(base), name
        else:
            assert pool(other) != pool(base), name
