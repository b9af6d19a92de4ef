"""Hard eligibility through the real Lua claim: every scope dimension, credentials, the
required subspecialty and its widening."""

from __future__ import annotations

import pytest

from allocator.engine import Allocator
from allocator.types import ScopeEntry

from .factories import CHEST_XR, HOUR, MIN, T0, entry, radiographer, radiologist, study

LEASE = 10 * MIN


def _only(alloc: Allocator, rid: str) -> list[str]:
    """Everything ``rid`` can pull, in order."""
    got = []
    while (c := alloc.claim(rid, T0, LEASE)) is not None:
        got.append(c.study_id)
    return got


@pytest.mark.parametrize(
    ("scope", "allowed", "refused"),
    [
        (entry(modalities=["CR"]), {}, {"modality": "CT"}),
        (entry(body_parts=["CHEST"]), {}, {"body_part": "HAND"}),
        (entry(body_parts=["CHEST"]), {}, {"body_part": None}),
        (entry(min_age=16), {"patient_age": 16}, {"patient_age": 15}),
        (entry(max_age=15), {"patient_age": 15}, {"patient_age": 16}),
        (entry(min_age=16), {}, {"patient_age": None}),
        (entry(patient_sources=["gp", "outpatient"]), {}, {"patient_source": "inpatient"}),
        (entry(exam_codes=["XCHES"]), {"exam_code": "XCHES"}, {"exam_code": "XHAND"}),
        (entry(exam_codes=["XCHES"]), {"exam_code": "XCHES"}, {"exam_code": None}),
    ],
)
def test_each_scope_dimension(
    alloc: Allocator, scope: ScopeEntry, allowed: dict[str, object], refused: dict[str, object]
) -> None:
    alloc.upsert_reporter(radiographer("g", [scope]))
    alloc.start_session("g", "core", T0)
    alloc.enqueue([study("ok", **allowed), study("no", due_ms=T0 + HOUR, **refused)], T0)
    assert _only(alloc, "g") == ["ok"]
    assert alloc.waiting_count() == 1


def test_any_entry_allowing_suffices(alloc: Allocator) -> None:
    hands = entry(modalities=["CR"], body_parts=["HAND"])
    alloc.upsert_reporter(radiographer("g", [CHEST_XR, hands]))
    alloc.start_session("g", "core", T0)
    alloc.enqueue(
        [study("chest"), study("hand", body_part="HAND"), study("knee", body_part="KNEE")], T0
    )
    assert sorted(_only(alloc, "g")) == ["chest", "hand"]


def test_radiographer_without_scope_reports_nothing_radiologist_everything(
    alloc: Allocator,
) -> None:
    alloc.upsert_reporter(radiographer("g", []))
    alloc.upsert_reporter(radiologist("r"))
    for rid in ("g", "r"):
        alloc.start_session(rid, "core", T0)
    alloc.enqueue([study("x"), study("y", modality="MR", body_part="KNEE")], T0)
    assert _only(alloc, "g") == []
    assert sorted(_only(alloc, "r")) == ["x", "y"]


def test_site_credential(alloc: Allocator) -> None:
    alloc.upsert_reporter(radiologist("r", sites=("A", "B")))
    alloc.start_session("r", "core", T0)
    alloc.enqueue([study("a"), study("b", site="B"), study("c", site="C", due_ms=T0)], T0)
    assert sorted(_only(alloc, "r")) == ["a", "b"]


def test_required_subspecialty_until_widened(alloc: Allocator) -> None:
    alloc.upsert_reporter(radiologist("neuro", subspecialties=["neuro"]))
    alloc.upsert_reporter(radiologist("gen"))
    for rid in ("neuro", "gen"):
        alloc.start_session(rid, "core", T0)
    s = study("mrhead", modality="MR", body_part="HEAD", subspecialty="neuro",
              requires_subspecialist=True, acquired_ms=T0, due_ms=T0 + 10 * HOUR)  # fmt: skip
    alloc.enqueue([s], T0)
    assert alloc.claim("gen", T0, LEASE) is None
    assert alloc.widen(T0 + 4 * HOUR) == []
    events = alloc.widen(T0 + 5 * HOUR)  # half the TAT left
    assert [(e.study_id, e.stage, e.rule) for e in events] == [
        ("mrhead", 1, "widen-to-radiologists")
    ]
    c = alloc.claim("gen", T0 + 5 * HOUR, LEASE)
    assert c is not None and c.study_id == "mrhead" and c.reason["stage"] == 1
    assert alloc.release("gen", "mrhead", T0 + 5 * HOUR)
    events = alloc.widen(T0 + 9 * HOUR)
    assert [(e.stage, e.rule) for e in events] == [(2, "recommend-outsourcing")]
    assert alloc.widen(T0 + 20 * HOUR) == []


def test_widen_passes_both_stages_at_once(alloc: Allocator) -> None:
    alloc.enqueue([study("s", acquired_ms=T0, due_ms=T0 + HOUR)], T0)
    events = alloc.widen(T0 + 55 * MIN)
    assert [e.stage for e in events] == [1, 2]


def test_preferred_subspecialty_is_not_a_requirement(alloc: Allocator) -> None:
    alloc.upsert_reporter(radiologist("gen"))
    alloc.start_session("gen", "core", T0)
    alloc.enqueue([study("s", modality="CT", subspecialty="chest")], T0)
    assert _only(alloc, "gen") == ["s"]
