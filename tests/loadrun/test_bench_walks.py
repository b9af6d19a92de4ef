"""The allocator benchmark's split of claim latency by how far each claim's script walked."""

from __future__ import annotations

from load_tests.bench_allocator_core import LONG_WALK, walk_summary


def test_slow_claims_are_split_by_the_heads_they_walked() -> None:
    # 200 claims: 150 short walks at 0.5 ms, 50 long ones (radiologists) at 3 ms; one empty.
    lat = [0.0005] * 150 + [0.003] * 50 + [0.0004]
    walks: list[int | None] = [8] * 150 + [200] * 50 + [None]
    who = [f"rg{i:03d}" for i in range(150)] + [f"rad{i:03d}" for i in range(50)] + ["reg001"]
    got = walk_summary(lat, walks, who)
    assert got["heads_scanned_p50"] == 8
    assert got["heads_scanned_p99"] == 200
    assert got["heads_scanned_median_of_slowest_1pct"] == 200  # the slow ones walked far
    assert got[f"share_walking_over_{LONG_WALK}"] == 0.25
    assert got[f"p99_ms_walking_over_{LONG_WALK}"] == 3.0
    assert got[f"p99_ms_walking_up_to_{LONG_WALK}"] == 0.5
    assert got[f"walks_over_{LONG_WALK}_by_reporter_kind"] == {"rad": 50, "rg": 0}
    assert walk_summary([0.001], [None], ["rad001"]) == {}
