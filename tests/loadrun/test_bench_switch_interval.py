"""``python -m load_tests.bench_switch_interval`` through its command line, tiny: each interval
must be applied in turn, time pulls against the real Redis, and leave the busy thread working."""

from __future__ import annotations

import json
import subprocess
import sys


def test_the_benchmark_times_each_interval(redis_url: str) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "load_tests.bench_switch_interval",
            *("--seconds", "0.3", "--rounds", "2", "--intervals", "5,0.5"),
            *("--redis-url", redis_url),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    figures = json.loads(done.stdout)
    assert set(figures["intervals"]) == {"5.0", "0.5"}
    for found in figures["intervals"].values():
        assert found["pulls"] > 20
        assert 0 < found["p50_ms"] <= found["p99_ms"] <= found["max_ms"]
        assert found["thread_work_per_s"] > 0
    assert figures["intervals"]["5.0"]["p99_ratio_to_first"] == 1.0
    # each round says which interval it ran at, in the alternating order
    rounds = [
        json.loads(line)["progress"] for line in done.stderr.splitlines() if "progress" in line
    ]
    assert [r["interval_ms"] for r in rounds] == [5.0, 0.5, 0.5, 5.0]
    # as the interpreter had it during each round
    assert [r["applied_ms"] for r in rounds] == [5.0, 0.5, 0.5, 5.0]


def test_bad_intervals_are_refused() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "load_tests.bench_switch_interval", "--intervals", "5,0"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2 and "positive" in done.stderr
