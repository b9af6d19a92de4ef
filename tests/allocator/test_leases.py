"""Leases, release, completion, expiry, removal, end of session and lease lookups."""

from __future__ import annotations

import pytest
import redis

from allocator.engine import Allocator, NotOnDuty

from .factories import HOUR, MIN, T0, radiologist, study

LEASE = 10 * MIN


@pytest.fixture
def two(alloc: Allocator) -> Allocator:
    for rid in ("r1", "r2"):
        alloc.upsert_reporter(radiologist(rid))
        alloc.start_session(rid, "core", T0)
    alloc.enqueue([study("s1", due_ms=T0 + HOUR), study("s2", due_ms=T0 + 2 * HOUR)], T0)
    return alloc


def test_not_on_duty(two: Allocator) -> None:
    two.upsert_reporter(radiologist("r3"))
    with pytest.raises(NotOnDuty):
        two.claim("r3", T0, LEASE)


def test_no_double_assignment_and_lease_holder(two: Allocator) -> None:
    a = two.claim("r1", T0, LEASE)
    b = two.claim("r2", T0, LEASE)
    assert a is not None and b is not None and a.study_id != b.study_id
    assert two.claim("r1", T0, LEASE) is None
    assert two.lease_holder(a.study_id) == ("r1", T0 + LEASE)
    assert two.in_hand("r1") == {"leased": 1, "held": 0, "work_units": 1.0, "hot": 0}
    assert two.waiting_count() == 0


def test_complete(two: Allocator) -> None:
    c = two.claim("r1", T0, LEASE)
    assert c is not None
    assert not two.complete("r2", c.study_id, T0)
    assert two.complete("r1", c.study_id, T0 + MIN)
    assert not two.complete("r1", c.study_id, T0 + MIN)
    assert two.lease_holder(c.study_id) is None
    assert two.in_hand("r1")["leased"] == 0 and two.waiting_count() == 1


def test_release_goes_back_to_queue(two: Allocator) -> None:
    c = two.claim("r1", T0, LEASE)
    assert c is not None and c.study_id == "s1"
    assert not two.release("r2", "s1", T0)
    assert two.release("r1", "s1", T0 + MIN)
    assert not two.release("r1", "s1", T0 + MIN)
    c2 = two.claim("r2", T0 + MIN, LEASE)
    assert c2 is not None and c2.study_id == "s1"


def test_lease_expiry_returns_study(two: Allocator) -> None:
    c = two.claim("r1", T0, LEASE)
    assert c is not None
    assert two.expire_leases(T0 + LEASE - 1) == []
    assert not two.complete("r1", c.study_id, T0 + LEASE)  # expired, even before the sweep
    assert not two.release("r1", c.study_id, T0 + LEASE)
    assert two.expire_leases(T0 + LEASE) == [(c.study_id, "r1")]
    assert two.lease_holder(c.study_id) is None
    assert two.in_hand("r1")["leased"] == 0
    c2 = two.claim("r2", T0 + LEASE, LEASE)
    assert c2 is not None and c2.study_id == c.study_id


def test_remove_from_every_structure(two: Allocator) -> None:
    two.upsert_reporter(radiologist("r1"))
    two.enqueue(
        [study("p1", patient_key="P", due_ms=T0 + 30 * MIN), study("p2", patient_key="P")], T0
    )
    c = two.claim("r1", T0, LEASE)
    assert c is not None and c.study_id == "p1" and c.reason["patient_held"] == ["p2"]
    two.remove(["p1", "p2", "s1", "nope"])
    assert two.lease_holder("p1") is None
    assert two.in_hand("r1") == {"leased": 0, "held": 0, "work_units": 0, "hot": 0}
    assert two.waiting_count() == 1
    c = two.claim("r1", T0, LEASE)
    assert c is not None and c.study_id == "s2"


def test_reenqueue_moves_and_is_idempotent(two: Allocator) -> None:
    two.enqueue([study("s2", due_ms=T0 + 10 * MIN)], T0)
    two.enqueue([study("s2", due_ms=T0 + 10 * MIN)], T0)
    assert two.waiting_count() == 2
    c = two.claim("r1", T0, LEASE)
    assert c is not None and c.study_id == "s2"
    two.enqueue([study("s2", due_ms=T0 + 20 * MIN, work_units=3.0)], T0)  # still leased
    assert two.lease_holder("s2") == ("r1", T0 + LEASE)
    assert two.in_hand("r1")["work_units"] == 3.0


def test_end_session_keeps_leases(two: Allocator) -> None:
    c = two.claim("r1", T0, LEASE)
    assert c is not None
    assert two.end_session("r1", T0) == []
    assert "r1" not in two.on_duty() and two.on_duty() == {"r2": "core"}
    assert two.lease_holder(c.study_id) == ("r1", T0 + LEASE)
    assert two.complete("r1", c.study_id, T0 + MIN)


def test_is_empty_and_reset(alloc: Allocator) -> None:
    assert alloc.is_empty()
    alloc.upsert_reporter(radiologist("r"))
    alloc.enqueue([study("s")], T0)
    assert not alloc.is_empty()
    alloc.reset()
    assert alloc.is_empty() and alloc.waiting_count() == 0


def test_scripts_reload_after_redis_forgets_them(two: Allocator, redis_client: redis.Redis) -> None:
    """A restarted Redis has no scripts cached: the next EVALSHA answers NOSCRIPT and the
    allocator loads the script and carries on, with nothing lost."""
    redis_client.script_flush()
    claimed = two.claim("r1", T0, LEASE)
    assert claimed is not None and claimed.study_id == "s1"
    assert two.complete("r1", "s1", T0 + MIN)


def test_a_process_caching_the_structure_from_before_redis_lost_it_is_not_fooled(
    redis_client: redis.Redis,
) -> None:
    """Redis loses everything and another process rebuilds it with a different structure in
    as many commits: the first process's cached snapshot must be seen as stale, so a study it
    enqueues into a bucket the new structure lacks is still claimable."""
    old = Allocator(redis_client, "wm")
    old.upsert_reporter(radiologist("r1", sites=("A", "B")))
    old.start_session("r1", "core", T0)
    old.enqueue([study("s1", site="A")], T0)  # old caches a structure with bucket A
    redis_client.flushdb()  # Redis restarted empty
    new = Allocator(redis_client, "wm")
    new.upsert_reporter(radiologist("r1", sites=("A", "B")))
    new.start_session("r1", "core", T0)
    new.enqueue([study("s2", site="B")], T0)  # same number of commits, bucket B only
    old.enqueue([study("s3", site="A")], T0)
    claimed = {c.study_id for c in (new.claim("r1", T0, LEASE), new.claim("r1", T0, LEASE)) if c}
    assert claimed == {"s2", "s3"}
