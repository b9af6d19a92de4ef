"""Profile changes take effect on the next pull (also when a new scope entry re-buckets the
queue), reporter removal, and rebuild from the system of record."""

from __future__ import annotations

import redis

from allocator.engine import Allocator
from allocator.types import Claim

from .factories import CHEST_XR, HOUR, MIN, T0, entry, radiographer, radiologist, study

LEASE = 10 * MIN


def test_scope_change_effective_next_pull(alloc: Allocator) -> None:
    alloc.upsert_reporter(radiographer("g", [CHEST_XR]))
    alloc.start_session("g", "core", T0)
    alloc.enqueue([study("xr"), study("ct", modality="CT", due_ms=T0 + HOUR)], T0)
    c = alloc.claim("g", T0, LEASE)
    assert c is not None and c.study_id == "xr"
    alloc.release("g", "xr", T0)
    alloc.upsert_reporter(radiographer("g", [CHEST_XR, entry(modalities=["CT"])]))  # new entry
    c = alloc.claim("g", T0, LEASE)
    assert c is not None and c.study_id == "ct"
    alloc.release("g", "ct", T0)
    alloc.upsert_reporter(radiographer("g", [entry(modalities=["MR"])]))  # narrowed
    assert alloc.claim("g", T0, LEASE) is None


def test_new_entry_splits_bucket_for_other_reporters(alloc: Allocator) -> None:
    """An age-banded entry splits a bucket both reporters used to share."""
    alloc.upsert_reporter(radiographer("adult", [CHEST_XR]))
    alloc.start_session("adult", "core", T0)
    alloc.enqueue([study("child", patient_age=8, due_ms=T0 + HOUR), study("adult")], T0)
    alloc.upsert_reporter(radiographer("paeds", [entry(modalities=["CR"], max_age=15)]))
    alloc.start_session("paeds", "core", T0)
    c = alloc.claim("paeds", T0, LEASE)
    assert c is not None and c.study_id == "child"
    assert alloc.claim("paeds", T0, LEASE) is None
    c = alloc.claim("adult", T0, LEASE)
    assert c is not None and c.study_id == "adult"


def test_other_replica_sees_profile_change(redis_client: redis.Redis) -> None:
    a, b = Allocator(redis_client, "wm"), Allocator(redis_client, "wm")
    a.upsert_reporter(radiographer("g", [CHEST_XR]))
    a.start_session("g", "core", T0)
    a.enqueue([study("ct", modality="CT")], T0)
    assert b.claim("g", T0, LEASE) is None  # b caches g's plan
    a.upsert_reporter(radiographer("g", [entry(modalities=["CT"])]))
    c = b.claim("g", T0, LEASE)
    assert c is not None and c.study_id == "ct"


def test_held_study_dropped_when_out_of_scope(alloc: Allocator) -> None:
    alloc.upsert_reporter(radiologist("r"))
    alloc.start_session("r", "core", T0)
    alloc.enqueue(
        [study("a", patient_key="P", due_ms=T0 + HOUR), study("b", modality="CT", patient_key="P")],
        T0,
    )
    assert alloc.claim("r", T0, LEASE) is not None
    assert alloc.in_hand("r")["held"] == 1
    alloc.upsert_reporter(radiologist("r", scope=[CHEST_XR]))
    assert alloc.in_hand("r")["held"] == 0 and alloc.waiting_count() == 1
    assert alloc.claim("r", T0, LEASE) is None


def test_remove_reporter(alloc: Allocator) -> None:
    alloc.upsert_reporter(radiologist("r"))
    alloc.start_session("r", "core", T0)
    alloc.enqueue([study("a")], T0)
    alloc.remove_reporter("r")
    assert alloc.on_duty() == {}


def _drain(alloc: Allocator, order: list[str], now: int) -> list[tuple[str, str, str]]:
    out = []
    progress = True
    while progress:
        progress = False
        for rid in order:
            c: Claim | None = alloc.claim(rid, now, LEASE)
            if c is not None:
                out.append((rid, c.study_id, c.via))
                progress = True
    return out


def test_rebuild_equals_pre_reset_state(alloc: Allocator) -> None:
    profiles = [
        radiologist("r1", sites=("A", "B"), home_site="A", subspecialties=["neuro"]),
        radiologist("r2", sites=("B",), home_site="B", subspecialties=["msk"]),
        radiographer(
            "g1", [CHEST_XR, entry(modalities=["DX"], body_parts=["HAND"])], sites=("A", "B")
        ),
        radiographer("g2", [entry(modalities=["CR"], max_age=15)], sites=("A",)),
    ]
    sessions = {"r1": "core", "r2": "insourced", "g1": "core"}
    studies = [
        study(f"s{i}", site="AB"[i % 2], modality=["CR", "DX", "CT", "MR"][i % 4],
              body_part=["CHEST", "HAND", "HEAD", "KNEE"][i % 3], patient_age=[5, 40, 80][i % 3],
              subspecialty=[None, "neuro", "msk"][i % 3], requires_subspecialist=i % 5 == 0,
              due_ms=T0 + (i * 37 % 50) * 10 * MIN, acquired_ms=T0 - i * MIN)
        for i in range(60)
    ]  # fmt: skip
    for p in profiles:
        alloc.upsert_reporter(p)
    for rid, kind in sessions.items():
        alloc.start_session(rid, kind, T0)  # type: ignore[arg-type]
    alloc.enqueue(studies, T0)
    leased = [alloc.claim("r1", T0, HOUR), alloc.claim("g1", T0, HOUR)]
    by_id = {s.study_id: s for s in studies}
    lease_rows = [(by_id[c.study_id], c.reporter_id, c.lease_expires_ms) for c in leased if c]
    waiting = [s for s in studies if s.study_id not in {c.study_id for c in leased if c}]
    before_ids = set(alloc._r.hkeys(alloc._k.studies))
    order = ["r1", "g1", "r2"]
    expected = _drain(alloc, order, T0 + MIN)

    alloc.rebuild(profiles, sessions, waiting, lease_rows, T0)  # type: ignore[arg-type]
    assert set(alloc._r.hkeys(alloc._k.studies)) == before_ids
    for c in leased:
        assert c is not None and alloc.lease_holder(c.study_id) == (
            c.reporter_id,
            c.lease_expires_ms,
        )
    assert _drain(alloc, order, T0 + MIN) == expected


def test_additive_rebuild_keeps_what_traffic_wrote_after_the_read(alloc: Allocator) -> None:
    """A worker starting beside live traffic read SQL before the traffic's writes reached
    Redis: its rebuild adds what Redis lacks and never undoes those newer writes."""
    # What the starting worker read from SQL (older than what follows).
    old_profiles = [radiographer("g", [CHEST_XR]), radiologist("r")]
    old_sessions = {"r": "core"}
    old_waiting = [study("a"), study("b"), study("c", modality="CT")]
    # Live traffic meanwhile: g's scope changed to CT, g started, claimed c; b became urgent.
    alloc.upsert_reporter(radiographer("g", [entry(modalities=["CT"])]))
    alloc.start_session("g", "core", T0)
    alloc.enqueue([study("c", modality="CT"), study("b", urgency="urgent", due_ms=T0 + MIN)], T0)
    claimed = alloc.claim("g", T0, LEASE)
    assert claimed is not None and claimed.study_id == "c"

    alloc.rebuild(old_profiles, old_sessions, old_waiting, [], T0, replace=False)  # type: ignore[arg-type]

    assert alloc.lease_holder("c") == ("g", claimed.lease_expires_ms)  # not re-queued
    assert set(alloc.on_duty()) == {"g", "r"}  # r's session added, g's kept
    assert alloc.claim("g", T0, LEASE) is None  # g kept the newer CT-only scope
    first = alloc.claim("r", T0, LEASE)
    assert first is not None and first.study_id == "b"  # b kept its newer urgency
    second = alloc.claim("r", T0, LEASE)
    assert second is not None and second.study_id == "a"  # a added


def test_replacing_rebuild_resets_to_the_read(alloc: Allocator) -> None:
    """The operator's rebuild (replace) is the contrast: the SQL read wins over Redis."""
    alloc.upsert_reporter(radiographer("g", [entry(modalities=["CT"])]))
    alloc.start_session("g", "core", T0)
    alloc.rebuild([radiographer("g", [CHEST_XR])], {}, [study("a")], [], T0)
    assert alloc.on_duty() == {}
    alloc.start_session("g", "core", T0)
    got = alloc.claim("g", T0, LEASE)
    assert got is not None and got.study_id == "a"
