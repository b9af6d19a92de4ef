"""Push of hot studies to the least loaded, patient grouping, holds and their expiry,
and holds returned when a session ends."""

from __future__ import annotations

from allocator.engine import Allocator
from allocator.ranking import RankingWeights

from .factories import CHEST_XR, HOUR, MIN, T0, radiographer, radiologist, study

LEASE = 10 * MIN
W = RankingWeights()


def _stroke(sid: str, **kw: object) -> object:
    return study(sid, modality="CT", body_part="HEAD", urgency="stroke", due_ms=T0 + 30 * MIN, **kw)


def test_push_to_least_hot_then_least_work(alloc: Allocator) -> None:
    for rid in ("r1", "r2", "r3"):
        alloc.upsert_reporter(radiologist(rid))
        alloc.start_session(rid, "core", T0)
    alloc.upsert_reporter(radiologist("off"))  # eligible but not on duty
    alloc.upsert_reporter(radiographer("g", [CHEST_XR]))  # on duty, not eligible for CT
    alloc.start_session("g", "core", T0)
    alloc.enqueue([study("big", modality="MR", work_units=5.0, due_ms=T0 + HOUR)], T0)
    assert alloc.claim("r1", T0, LEASE) is not None  # r1 now holds 5 work units
    pushes = alloc.enqueue([_stroke("st1")], T0)  # type: ignore[list-item]
    assert [(p.study_id, p.reporter_id) for p in pushes] == [("st1", "r2")]
    assert pushes[0].reason["rule"] == "push" and pushes[0].reason["eligible_on_duty"] == 3
    pushes = alloc.enqueue([_stroke("st2")], T0)  # type: ignore[list-item]
    assert pushes[0].reporter_id == "r3"  # r2 has a hot case in hand now
    pushes = alloc.enqueue([_stroke("st3")], T0)  # type: ignore[list-item]
    assert pushes[0].reporter_id == "r1"  # everyone else has a hot case
    assert alloc.enqueue([_stroke("st3")], T0) == []  # re-ingest does not re-push
    c = alloc.claim("r2", T0, LEASE)
    assert c is not None and c.study_id == "st1" and c.via == "push" and c.reason["rule"] == "push"


def test_push_with_nobody_on_duty_waits_in_queue(alloc: Allocator) -> None:
    alloc.upsert_reporter(radiologist("r"))
    assert alloc.enqueue([_stroke("st")], T0) == []  # type: ignore[list-item]
    alloc.start_session("r", "core", T0)
    c = alloc.claim("r", T0, LEASE)
    assert c is not None and c.via == "queue"


def test_push_hold_expires_back_to_queue(alloc: Allocator) -> None:
    for rid in ("r1", "r2"):
        alloc.upsert_reporter(radiologist(rid))
        alloc.start_session(rid, "core", T0)
    [p] = alloc.enqueue([_stroke("st")], T0)  # type: ignore[list-item]
    assert alloc.claim("r2" if p.reporter_id == "r1" else "r1", T0, LEASE) is None
    assert alloc.expire_leases(T0 + W.push_hold_ms) == []  # holds are not leases
    assert alloc.in_hand(p.reporter_id)["held"] == 0
    assert alloc.waiting_count() == 1


def test_patient_grouping_holds_siblings(alloc: Allocator) -> None:
    alloc.upsert_reporter(radiologist("r1"))
    alloc.upsert_reporter(radiologist("r2"))
    alloc.upsert_reporter(radiologist("chest-only", scope=[CHEST_XR]))
    for rid in ("r1", "r2", "chest-only"):
        alloc.start_session(rid, "core", T0)
    alloc.enqueue([
        study("ct-chest", modality="CT", patient_key="P", due_ms=T0 + HOUR),
        study("ct-abdo", modality="CT", body_part="ABDO", patient_key="P", due_ms=T0 + 20 * HOUR),
        study("other", modality="CT", due_ms=T0 + 2 * HOUR),
    ], T0)  # fmt: skip
    c = alloc.claim("r1", T0, LEASE)
    assert c is not None and c.study_id == "ct-chest" and c.reason["patient_held"] == ["ct-abdo"]
    assert alloc.in_hand("r1") == {"leased": 1, "held": 1, "work_units": 2.0, "hot": 0}
    c2 = alloc.claim("r2", T0, LEASE)
    assert c2 is not None and c2.study_id == "other"
    assert alloc.claim("r2", T0, LEASE) is None  # ct-abdo is held for r1
    c3 = alloc.claim("r1", T0, LEASE)
    assert c3 is not None and c3.study_id == "ct-abdo" and c3.via == "patient"
    assert c3.reason["rule"] == "patient-group"


def test_patient_grouping_respects_scope(alloc: Allocator) -> None:
    alloc.upsert_reporter(radiographer("g", [CHEST_XR]))
    alloc.start_session("g", "core", T0)
    alloc.enqueue([study("xr", patient_key="P"), study("ct", modality="CT", patient_key="P")], T0)
    c = alloc.claim("g", T0, LEASE)
    assert c is not None and c.study_id == "xr" and "patient_held" not in c.reason
    assert alloc.waiting_count() == 1


def test_patient_hold_expires(alloc: Allocator) -> None:
    for rid in ("r1", "r2"):
        alloc.upsert_reporter(radiologist(rid))
        alloc.start_session(rid, "core", T0)
    alloc.enqueue([study("a", patient_key="P", due_ms=T0 + HOUR), study("b", patient_key="P")], T0)
    assert alloc.claim("r1", T0, 2 * W.patient_hold_ms) is not None
    assert alloc.claim("r2", T0, LEASE) is None
    alloc.expire_leases(T0 + W.patient_hold_ms)
    c = alloc.claim("r2", T0 + W.patient_hold_ms, LEASE)
    assert c is not None and c.study_id == "b"


def test_end_session_returns_held(alloc: Allocator) -> None:
    for rid in ("r1", "r2"):
        alloc.upsert_reporter(radiologist(rid))
        alloc.start_session(rid, "core", T0)
    alloc.enqueue([study("a", patient_key="P", due_ms=T0 + HOUR), study("b", patient_key="P")], T0)
    [p] = alloc.enqueue([_stroke("st")], T0)  # type: ignore[list-item]
    assert p.reporter_id == "r1"
    c = alloc.claim("r1", T0, LEASE)
    assert c is not None and c.study_id == "st"  # the pushed study first
    c = alloc.claim("r1", T0, LEASE)
    assert c is not None and c.study_id == "a"
    assert sorted(alloc.end_session("r1", T0)) == ["b"]
    assert alloc.in_hand("r1")["held"] == 0
    c = alloc.claim("r2", T0, LEASE)
    assert c is not None and c.study_id == "b"
