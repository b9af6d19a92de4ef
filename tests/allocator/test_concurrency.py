"""Many claimers at once (threads, separate connections, separate Allocator instances as
separate API replicas would have): no study is handed out twice and none is lost; and
structural changes racing with ingest from another replica end consistent."""

from __future__ import annotations

import threading
from collections import Counter

import redis

from allocator.connection import connect
from allocator.engine import Allocator

from .factories import CHEST_XR, MIN, T0, entry, radiographer, radiologist, study


def test_parallel_claims_never_double_assign(redis_client: redis.Redis, redis_url: str) -> None:
    setup = Allocator(redis_client, "wm")
    rids = [f"r{i}" for i in range(8)]
    for rid in rids:
        setup.upsert_reporter(radiologist(rid, sites=("A", "B")))
        setup.start_session(rid, "core", T0)
    studies = [
        study(f"s{i:03d}", site="AB"[i % 2], due_ms=T0 + (i % 37) * MIN, patient_key=f"P{i % 50}")
        for i in range(400)
    ]
    setup.enqueue(studies, T0)
    got: list[str] = []
    lock = threading.Lock()

    def worker(rid: str) -> None:
        alloc = Allocator(connect(redis_url), "wm")  # its own connection, like a replica
        mine = []
        while (c := alloc.claim(rid, T0, 10 * MIN)) is not None:
            mine.append(c.study_id)
        with lock:
            got.extend(mine)

    threads = [threading.Thread(target=worker, args=(rid,)) for rid in rids]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(got) == 400 and Counter(got).most_common(1)[0][1] == 1
    assert setup.waiting_count() == 0
    assert sum(setup.in_hand(r)["leased"] for r in rids) == 400


def test_profile_changes_race_with_ingest(redis_client: redis.Redis, redis_url: str) -> None:
    """One replica keeps adding scope entries (re-bucketing) while another ingests: at the end
    every study is claimable by exactly the reporters its eligibility says."""
    admin = Allocator(redis_client, "wm")
    admin.upsert_reporter(radiographer("g", [CHEST_XR]))
    admin.start_session("g", "core", T0)
    feed = Allocator(connect(redis_url), "wm")
    parts = ["HAND", "KNEE", "FOOT", "ANKLE", "WRIST", "ELBOW"]

    def ingest() -> None:
        for i in range(60):
            feed.enqueue([study(f"x{i}", body_part=parts[i % 6], patient_age=20 + i % 60)], T0)

    t = threading.Thread(target=ingest)
    t.start()
    for n, part in enumerate(parts):
        admin.upsert_reporter(radiographer(f"g{n}", [entry(modalities=["CR"], body_parts=[part])]))
    t.join()
    for n, part in enumerate(parts):
        admin.start_session(f"g{n}", "core", T0)
        claimed = []
        while (c := admin.claim(f"g{n}", T0, MIN)) is not None:
            claimed.append(c.study_id)
        assert sorted(claimed) == sorted(f"x{i}" for i in range(60) if parts[i % 6] == part)
